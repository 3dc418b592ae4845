import { type JobHandle, type JobMember, PermanentError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bulkClient } from '../src/client.ts';
import { type EloquaHandle, eloqua } from '../src/index.ts';
import { prepareJob } from '../src/mapping.ts';
import {
  acquireDefinition,
  definitionBody,
  definitionName,
  syncEnded,
  syncLost,
} from '../src/operations/definitions.ts';
import { BULK, BULK_PATH, context, fixture, mockId, POD, upsert } from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  vi.restoreAllMocks();
});
afterAll(() => nock.enableNetConnect());

const setup = (options: Record<string, unknown> = {}) => {
  const ctx = context(options);
  const bulk = bulkClient(ctx, BULK);
  const group = prepareJob([upsert(1, {}, { lists: { add: ['12345'], remove: [] } })], ctx.options).groups[0];
  if (group === undefined) throw new Error('expected a group');
  const name = definitionName(definitionBody(group, ctx));
  return { ctx, bulk, group, name };
};

/** `POST /contacts/imports` answering with `uri`; records the names asked for. */
const mockCreate = (uri: string, names: string[] = []) => {
  const scope = nock(POD)
    .post(`${BULK_PATH}/contacts/imports`)
    .reply(async (request: Request) => {
      names.push((JSON.parse(await request.text()) as { name: string }).name);
      return [201, { ...fixture<object>('imports/definition-created.json'), uri }];
    });
  return { scope, names };
};

const mockClear = (uri: string, status = 204) => nock(POD).delete(`${BULK_PATH}${uri}/data`).reply(status);

describe('import definitions', () => {
  it('are named after a hash of their content', () => {
    const { ctx, group, name } = setup();
    expect(name).toMatch(/^ferry-contacts-[0-9a-f]{16}$/);
    expect(definitionName(definitionBody(group, ctx))).toBe(name);
    expect(definitionName(definitionBody({ ...group, actions: [] }, ctx))).not.toBe(name);
  });

  it('are created for the first job without a lookup, under a name nobody looks for, with the documented body', async () => {
    const { ctx, bulk, group, name } = setup();
    let body: unknown;
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(async (request: Request) => {
        body = JSON.parse(await request.text());
        return [201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/385' }];
      });
    const acquired = await acquireDefinition(ctx, bulk, group);
    expect(acquired).toMatchObject({ uri: '/contacts/imports/385', owned: false });
    const sent = body as { name: string };
    expect(sent.name).toMatch(new RegExp(`^${name}-[0-9a-f]{8}$`));
    expect(body).toEqual({
      name: sent.name,
      fields: {
        C_EmailAddress: '{{Contact.Field(C_EmailAddress)}}',
        C_FirstName: '{{Contact.Field(C_FirstName)}}',
      },
      identifierFieldName: 'C_EmailAddress',
      isSyncTriggeredOnImport: false,
      isUpdatingMultipleMatchedRecords: false,
      dataRetentionDuration: 'PT12H',
      autoDeleteDuration: 'P7D',
      updateRule: 'always',
      syncActions: [{ action: 'add', destination: '{{ContactList[12345]}}' }],
    });
  });

  it('are reused once this process saw their sync end: one clear, no lookup, no sync query', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    const cleared = mockClear('/contacts/imports/384');
    const second = await acquireDefinition(ctx, bulk, group);
    expect(second).toMatchObject({ uri: '/contacts/imports/384', owned: false });
    cleared.done();
  });

  it('are not reused while their sync has not been seen to end: a second one is created', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    mockCreate('/contacts/imports/385');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/385');
  });

  it('are never given to two concurrent jobs: one takes the idle one, the other gets a new one', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    mockClear('/contacts/imports/384');
    mockCreate('/contacts/imports/386');
    const [a, b] = await Promise.all([
      acquireDefinition(ctx, bulk, group),
      acquireDefinition(ctx, bulk, group),
    ]);
    expect([a.uri, b.uri].sort()).toEqual(['/contacts/imports/384', '/contacts/imports/386']);
  });

  it('are not freed by a late status check of an older sync on them', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    mockClear('/contacts/imports/384');
    const second = await acquireDefinition(ctx, bulk, group);
    second.started('/syncs/9002');
    // The first job checked once more: its sync ended long ago, but the definition is the second job's.
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    mockCreate('/contacts/imports/385');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/385');
  });

  it('are forgotten when the clear answers 404 (deleted meanwhile), and a new one is made', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    mockClear('/contacts/imports/384', 404);
    mockCreate('/contacts/imports/387');
    const second = await acquireDefinition(ctx, bulk, group);
    expect(second.uri).toBe('/contacts/imports/387');
    second.started('/syncs/9002');
    syncEnded(ctx, BULK, second.uri, '/syncs/9002');
    // 384 is not tried again.
    mockClear('/contacts/imports/387');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/387');
  });

  it('are forgotten when their sync is unknown to Eloqua or the job discards them', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncLost(ctx, BULK, first.uri, '/syncs/9001');
    // Even a later "ended" does not bring it back.
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    mockCreate('/contacts/imports/385');
    const second = await acquireDefinition(ctx, bulk, group);
    expect(second.uri).toBe('/contacts/imports/385');
    second.discard();
    mockCreate('/contacts/imports/386');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/386');
  });

  it('leave alone one past half its autoDeleteDuration, which Eloqua may delete under a job', async () => {
    const { ctx, bulk, group } = setup({ autoDeleteDuration: 'PT2H' });
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now + 61 * 60_000);
    mockCreate('/contacts/imports/390');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/390');
  });

  it('are kept per destination instance, base URL and content', async () => {
    const { ctx, bulk, group } = setup();
    mockCreate('/contacts/imports/384');
    const first = await acquireDefinition(ctx, bulk, group);
    first.started('/syncs/9001');
    syncEnded(ctx, BULK, first.uri, '/syncs/9001');
    const other = context();
    mockCreate('/contacts/imports/391');
    expect((await acquireDefinition(other, bulkClient(other, BULK), group)).uri).toBe(
      '/contacts/imports/391',
    );
    const movedPod = 'https://secure.p04.eloqua.test/api/bulk/2.0';
    nock('https://secure.p04.eloqua.test')
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/392' });
    expect((await acquireDefinition(ctx, bulkClient(ctx, movedPod), group)).uri).toBe(
      '/contacts/imports/392',
    );
    mockCreate('/contacts/imports/393');
    expect((await acquireDefinition(ctx, bulk, { ...group, actions: [] })).uri).toBe('/contacts/imports/393');
  });

  it('turn a 400 failures body into a PermanentError naming the field', async () => {
    const { ctx, bulk, group } = setup();
    nock(POD).post(`${BULK_PATH}/contacts/imports`).reply(400, fixture('imports/validation-failure.json'));
    const error = (await acquireDefinition(ctx, bulk, group).catch(
      (thrown: unknown) => thrown,
    )) as PermanentError;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      '[ferry] [eloqua] create import definition refused by Eloqua (HTTP 400): fields.C_Nope: Must be a valid field statement referencing an existing contact field. (value "{{Contact.Field(C_Nope)}}")',
    );
    expect(error.code).toBe('invalid:fields.C_Nope');
  });

  it('are made per job and never pooled when reuseDefinitions is false', async () => {
    const { ctx, bulk, group, name } = setup({ reuseDefinitions: false });
    const { names } = mockCreate('/contacts/imports/384');
    const acquired = await acquireDefinition(ctx, bulk, group);
    expect(acquired).toMatchObject({ uri: '/contacts/imports/384', owned: true });
    expect(names[0]).toMatch(new RegExp(`^${name}-[0-9a-f]{8}$`));
    acquired.started('/syncs/9001');
    syncEnded(ctx, BULK, acquired.uri, '/syncs/9001');
    mockCreate('/contacts/imports/385');
    expect((await acquireDefinition(ctx, bulk, group)).uri).toBe('/contacts/imports/385');
  });
});

/** Whole jobs over nock: every call the plugin makes must be mocked, so the sequences are exact. */
describe('definition reuse across jobs', () => {
  const members = (count: number, from = 1): JobMember[] =>
    Array.from({ length: count }, (_, index) => ({
      profileId: `p${from + index}`,
      identity: `user${from + index}@example.com`,
    }));
  const batch = (count: number, from = 1) =>
    Array.from({ length: count }, (_, index) => upsert(from + index));
  const mockUpload = (uri: string, status = 204) => nock(POD).post(`${BULK_PATH}${uri}/data`).reply(status);
  const mockSync = (definition: string, sync: string) =>
    nock(POD)
      .post(`${BULK_PATH}/syncs`, { syncedInstanceUri: definition })
      .reply(201, {
        ...fixture<object>('syncs/sync-created.json'),
        syncedInstanceUri: definition,
        uri: sync,
      });
  const mockStatus = (sync: string, status: string, reply = 200) =>
    nock(POD)
      .get(`${BULK_PATH}${sync}`)
      .reply(
        reply,
        reply === 200 ? { ...fixture<object>('syncs/sync-success.json'), uri: sync, status } : '',
      );
  const defOf = (job: JobHandle | null) => (job as EloquaHandle).syncs[0]?.def;

  it('first job: /id, create, upload, sync; the next one after it settled: clear, upload, sync', async () => {
    const ctx = context();
    mockId();
    mockCreate('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9001');
    const first = await eloqua.exportProfiles(ctx, batch(2));
    expect(nock.pendingMocks()).toEqual([]);

    mockStatus('/syncs/9001', 'active');
    expect((await eloqua.checkStatus(ctx, first.job as JobHandle, members(2))).state).toBe('pending');
    mockStatus('/syncs/9001', 'success');
    expect(await eloqua.checkStatus(ctx, first.job as JobHandle, members(2))).toEqual({
      state: 'completed',
      outcomes: [],
    });

    mockClear('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9002');
    const second = await eloqua.exportProfiles(ctx, batch(2, 3));
    expect(defOf(second.job)).toBe('/contacts/imports/384');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('reuses a definition whose sync ended in error or warning too (it ended; nothing runs on it)', async () => {
    const ctx = context();
    mockId();
    mockCreate('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9001');
    const first = await eloqua.exportProfiles(ctx, batch(1));
    mockStatus('/syncs/9001', 'error');
    nock(POD).get(`${BULK_PATH}/syncs/9001/rejects`).query(true).reply(200, { items: [], hasMore: false });
    nock(POD).get(`${BULK_PATH}/syncs/9001/logs`).query(true).reply(200, fixture('syncs/logs-error.json'));
    expect((await eloqua.checkStatus(ctx, first.job as JobHandle, members(1))).state).toBe('failed');
    mockClear('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9002');
    expect(defOf((await eloqua.exportProfiles(ctx, batch(1))).job)).toBe('/contacts/imports/384');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('gives concurrent jobs separate definitions, then reuses both once their syncs were seen to end', async () => {
    const ctx = context();
    mockId();
    mockCreate('/contacts/imports/384');
    mockCreate('/contacts/imports/385');
    mockUpload('/contacts/imports/384');
    mockUpload('/contacts/imports/385');
    nock(POD)
      .post(`${BULK_PATH}/syncs`)
      .times(2)
      .reply(async (request: Request) => {
        const { syncedInstanceUri } = JSON.parse(await request.text()) as { syncedInstanceUri: string };
        const sync = syncedInstanceUri.endsWith('384') ? '/syncs/9001' : '/syncs/9002';
        return [201, { ...fixture<object>('syncs/sync-created.json'), syncedInstanceUri, uri: sync }];
      });
    const [a, b] = await Promise.all([
      eloqua.exportProfiles(ctx, batch(1, 1)),
      eloqua.exportProfiles(ctx, batch(1, 2)),
    ]);
    expect([defOf(a.job), defOf(b.job)].sort()).toEqual(['/contacts/imports/384', '/contacts/imports/385']);
    // A third job while both are unsettled gets a third definition.
    mockCreate('/contacts/imports/386');
    mockUpload('/contacts/imports/386');
    mockSync('/contacts/imports/386', '/syncs/9003');
    expect(defOf((await eloqua.exportProfiles(ctx, batch(1, 3))).job)).toBe('/contacts/imports/386');
    expect(nock.pendingMocks()).toEqual([]);

    for (const [result, from] of [
      [a, 1],
      [b, 2],
    ] as const) {
      const sync = (result.job as EloquaHandle).syncs[0]?.sync ?? '';
      mockStatus(sync, 'success');
      await eloqua.checkStatus(ctx, result.job as JobHandle, members(1, from));
    }
    mockClear('/contacts/imports/384');
    mockClear('/contacts/imports/385');
    mockUpload('/contacts/imports/384');
    mockUpload('/contacts/imports/385');
    mockSync('/contacts/imports/384', '/syncs/9004');
    mockSync('/contacts/imports/385', '/syncs/9005');
    const again = await Promise.all([
      eloqua.exportProfiles(ctx, batch(1, 4)),
      eloqua.exportProfiles(ctx, batch(1, 5)),
    ]);
    expect(again.map((result) => defOf(result.job)).sort()).toEqual([
      '/contacts/imports/384',
      '/contacts/imports/385',
    ]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('recovers when a reused definition was deleted elsewhere (404): forgets it and creates one', async () => {
    const ctx = context();
    mockId();
    mockCreate('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9001');
    const first = await eloqua.exportProfiles(ctx, batch(1));
    mockStatus('/syncs/9001', 'success');
    await eloqua.checkStatus(ctx, first.job as JobHandle, members(1));

    // Gone by the time of the clear.
    mockClear('/contacts/imports/384', 404);
    mockCreate('/contacts/imports/385');
    mockUpload('/contacts/imports/385');
    mockSync('/contacts/imports/385', '/syncs/9002');
    const second = await eloqua.exportProfiles(ctx, batch(1));
    expect(defOf(second.job)).toBe('/contacts/imports/385');
    expect(nock.pendingMocks()).toEqual([]);

    // Gone between the clear and the upload.
    mockStatus('/syncs/9002', 'success');
    await eloqua.checkStatus(ctx, second.job as JobHandle, members(1));
    mockClear('/contacts/imports/385');
    mockUpload('/contacts/imports/385', 404);
    mockCreate('/contacts/imports/386');
    mockUpload('/contacts/imports/386');
    mockSync('/contacts/imports/386', '/syncs/9003');
    expect(defOf((await eloqua.exportProfiles(ctx, batch(1))).job)).toBe('/contacts/imports/386');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('never reuses a definition after a failed submission or a sync Eloqua forgot', async () => {
    const ctx = context({}, { httpOverrides: { retries: 0, rateLimitRetries: 0 } });
    mockId();
    mockCreate('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    nock(POD).post(`${BULK_PATH}/syncs`).reply(503);
    mockClear('/contacts/imports/384');
    await expect(eloqua.exportProfiles(ctx, batch(1))).rejects.toThrow();
    expect(nock.pendingMocks()).toEqual([]);

    mockCreate('/contacts/imports/385');
    mockUpload('/contacts/imports/385');
    mockSync('/contacts/imports/385', '/syncs/9002');
    const second = await eloqua.exportProfiles(ctx, batch(1));
    expect(defOf(second.job)).toBe('/contacts/imports/385');
    mockStatus('/syncs/9002', '', 404);
    expect(await eloqua.checkStatus(ctx, second.job as JobHandle, members(1))).toMatchObject({
      state: 'failed',
      retryable: true,
    });

    mockCreate('/contacts/imports/386');
    mockUpload('/contacts/imports/386');
    mockSync('/contacts/imports/386', '/syncs/9003');
    expect(defOf((await eloqua.exportProfiles(ctx, batch(1))).job)).toBe('/contacts/imports/386');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('does not reuse a definition checked only from another destination instance (another process)', async () => {
    const ctx = context();
    mockId();
    mockCreate('/contacts/imports/384');
    mockUpload('/contacts/imports/384');
    mockSync('/contacts/imports/384', '/syncs/9001');
    const first = await eloqua.exportProfiles(ctx, batch(1));
    mockStatus('/syncs/9001', 'success');
    await eloqua.checkStatus(context(), first.job as JobHandle, members(1));
    mockCreate('/contacts/imports/385');
    mockUpload('/contacts/imports/385');
    mockSync('/contacts/imports/385', '/syncs/9002');
    expect(defOf((await eloqua.exportProfiles(ctx, batch(1))).job)).toBe('/contacts/imports/385');
    expect(nock.pendingMocks()).toEqual([]);
  });
});
