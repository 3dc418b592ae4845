import { PermanentError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bulkClient } from '../src/client.ts';
import { prepareJob } from '../src/mapping.ts';
import { acquireDefinition, definitionBody, definitionName } from '../src/operations/definitions.ts';
import { BULK, BULK_PATH, context, envelope, fixture, POD, upsert } from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const setup = (options: Record<string, unknown> = {}) => {
  const ctx = context(options);
  const bulk = bulkClient(ctx, BULK);
  const group = prepareJob([upsert(1, {}, { lists: { add: ['12345'], remove: [] } })], ctx.options).groups[0];
  if (group === undefined) throw new Error('expected a group');
  const name = definitionName(definitionBody(group, ctx));
  return { ctx, bulk, group, name };
};

/** A definition as listed, last changed `ageMs` ago. */
const definitionItem = (uri: string, name: string, ageMs = 60_000) => ({
  ...fixture<object>('imports/definition-created.json'),
  name,
  uri,
  updatedAt: new Date(Date.now() - ageMs).toISOString(),
});
const syncItem = (definition: string, status: string) => ({
  ...fixture<object>('syncs/sync-success.json'),
  syncedInstanceUri: definition,
  status,
});

const mockFind = (name: string, items: readonly object[]) =>
  nock(POD)
    .get(`${BULK_PATH}/contacts/imports`)
    .query({ q: `name='${name}'`, limit: '100' })
    .reply(200, envelope(items));

const mockSyncsOf = (definition: string, items: readonly object[]) =>
  nock(POD)
    .get(`${BULK_PATH}/syncs`)
    .query({ q: `syncedInstanceUri='${definition}'`, orderBy: 'createdAt DESC', limit: '10' })
    .reply(200, envelope(items));

describe('import definitions', () => {
  it('are named after a hash of their content', () => {
    const { ctx, group, name } = setup();
    expect(name).toMatch(/^ferry-contacts-[0-9a-f]{16}$/);
    expect(definitionName(definitionBody(group, ctx))).toBe(name);
    expect(definitionName(definitionBody({ ...group, actions: [] }, ctx))).not.toBe(name);
  });

  it('reuse an idle definition with the same content, dropping its stale staged data first', async () => {
    const { ctx, bulk, group, name } = setup();
    const scope = mockFind(name, [definitionItem('/contacts/imports/384', name)]);
    mockSyncsOf('/contacts/imports/384', [syncItem('/contacts/imports/384', 'success')]);
    scope.delete(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    const acquired = await acquireDefinition(ctx, bulk, group);
    expect(acquired).toMatchObject({ uri: '/contacts/imports/384', owned: false });
    acquired.release();
    scope.done();
  });

  it('leave alone one past half its autoDeleteDuration, which Eloqua may delete under a job', async () => {
    const { ctx, bulk, group, name } = setup();
    mockFind(name, [definitionItem('/contacts/imports/384', name, 4 * 24 * 3_600_000)]);
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/390' });
    const acquired = await acquireDefinition(ctx, bulk, group);
    acquired.release();
    expect(acquired.uri).toBe('/contacts/imports/390');
  });

  it('treat a refused sync query (400) as busy, and make a new definition', async () => {
    const { ctx, bulk, group, name } = setup();
    mockFind(name, [definitionItem('/contacts/imports/384', name)]);
    nock(POD)
      .get(`${BULK_PATH}/syncs`)
      .query(true)
      .reply(400, { failures: [{ field: 'q', constraint: 'Unsupported term.' }] });
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/391' });
    const acquired = await acquireDefinition(ctx, bulk, group);
    acquired.release();
    expect(acquired.uri).toBe('/contacts/imports/391');
  });

  it('skip a definition with a pending or active sync and create one with the documented body', async () => {
    const { ctx, bulk, group, name } = setup();
    mockFind(name, [
      definitionItem('/contacts/imports/384', name),
      definitionItem('/contacts/imports/9', 'other'),
    ]);
    mockSyncsOf('/contacts/imports/384', [syncItem('/contacts/imports/384', 'active')]);
    let body: unknown;
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(async (request: Request) => {
        body = JSON.parse(await request.text());
        return [201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/385' }];
      });
    const acquired = await acquireDefinition(ctx, bulk, group);
    acquired.release();
    expect(acquired.uri).toBe('/contacts/imports/385');
    expect(body).toEqual({
      name,
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

  it('are never given to two concurrent jobs of one process', async () => {
    const { ctx, bulk, group, name } = setup();
    nock(POD)
      .get(`${BULK_PATH}/contacts/imports`)
      .query(true)
      .times(2)
      .reply(200, envelope([definitionItem('/contacts/imports/384', name)]));
    nock(POD).get(`${BULK_PATH}/syncs`).query(true).times(2).reply(200, envelope([]));
    nock(POD).delete(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/386' });
    const [a, b] = await Promise.all([
      acquireDefinition(ctx, bulk, group),
      acquireDefinition(ctx, bulk, group),
    ]);
    expect([a.uri, b.uri].sort()).toEqual(['/contacts/imports/384', '/contacts/imports/386']);
    a.release();
    b.release();
  });

  it('turn a 400 failures body into a PermanentError naming the field', async () => {
    const { ctx, bulk, group, name } = setup();
    mockFind(name, []);
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

  it('are made per job, under a name nobody reuses, when reuseDefinitions is false', async () => {
    const { ctx, bulk, group, name } = setup({ reuseDefinitions: false });
    let sentName = '';
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(async (request: Request) => {
        sentName = (JSON.parse(await request.text()) as { name: string }).name;
        return [201, fixture('imports/definition-created.json')];
      });
    const acquired = await acquireDefinition(ctx, bulk, group);
    expect(acquired).toMatchObject({ uri: '/contacts/imports/384', owned: true });
    expect(sentName).toMatch(new RegExp(`^${name}-[0-9a-f]{8}$`));
  });
});
