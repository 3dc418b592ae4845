import {
  JOB_NOT_FOUND,
  type JobHandle,
  type JobMember,
  PermanentError,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eloqua } from '../src/index.ts';
import type { SyncReject } from '../src/types.ts';
import { BULK, BULK_PATH, context, envelope, fixture, mockId, POD, upsert } from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const CALLBACK = 'https://runner.example.test/callbacks/eloqua/1';

const handle = (
  syncs: readonly Record<string, unknown>[] = [
    { sync: '/syncs/9001', def: '/contacts/imports/384', rows: 3 },
  ],
) => ({ v: 1, base: BULK, key: 'C_EmailAddress', syncs }) as unknown as JobHandle;

const members = (count: number, identity = (n: number) => `user${n}@example.com`): JobMember[] =>
  Array.from({ length: count }, (_, index) => ({
    profileId: `p${index + 1}`,
    identity: identity(index + 1),
  }));

const mockStatus = (status: string, sync = '/syncs/9001') =>
  nock(POD)
    .get(`${BULK_PATH}${sync}`)
    .reply(200, { ...fixture<object>('syncs/sync-success.json'), uri: sync, status });

const reject = (
  recordIndex: number,
  email: string | undefined,
  extra: Partial<SyncReject> = {},
): SyncReject => ({
  fieldValues: email === undefined ? { C_FirstName: 'X' } : { C_EmailAddress: email, C_FirstName: 'X' },
  message: 'Invalid email address.',
  statusCode: 'ELQ-00002',
  recordIndex,
  invalidFields: ['C_EmailAddress'],
  ...extra,
});

/** Serves `items` as rejects pages of 1000, checking the plugin asks with limit/offset. */
const mockRejects = (items: readonly SyncReject[], sync = '/syncs/9001') => {
  const offsets: number[] = [];
  nock(POD)
    .get(`${BULK_PATH}${sync}/rejects`)
    .query(true)
    .times(Math.max(1, Math.ceil(items.length / 1000)))
    .reply((request: unknown) => {
      // nock 15 passes a fetch Request to reply callbacks (a path string in older versions).
      const url = typeof request === 'string' ? request : (request as Request).url;
      const query = new URL(url, POD).searchParams;
      const limit = Number(query.get('limit'));
      const offset = Number(query.get('offset'));
      offsets.push(offset);
      const page = items.slice(offset, offset + limit);
      return [
        200,
        {
          items: page,
          totalResults: items.length,
          limit,
          offset,
          count: page.length,
          hasMore: offset + page.length < items.length,
        },
      ];
    });
  return offsets;
};

describe('creating the sync', () => {
  it('posts the definition uri and the runner callbackUrl, and returns a small handle', async () => {
    mockId();
    nock(POD).post(`${BULK_PATH}/contacts/imports`).reply(201, fixture('imports/definition-created.json'));
    nock(POD).post(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    const created = nock(POD)
      .post(`${BULK_PATH}/syncs`, { syncedInstanceUri: '/contacts/imports/384', callbackUrl: CALLBACK })
      .reply(201, fixture('syncs/sync-created.json'));
    const ctx = context({}, { callbackUrl: CALLBACK });
    const { job, rejected } = await eloqua.exportProfiles(ctx, [upsert(1), upsert(2)]);
    created.done();
    expect(rejected).toEqual([]);
    expect(job).toEqual({
      v: 1,
      base: BULK,
      key: 'C_EmailAddress',
      syncs: [{ sync: '/syncs/9001', def: '/contacts/imports/384', rows: 2 }],
    });
  });

  it('surfaces a 400 on sync creation (definition validated since 20D) as a PermanentError', async () => {
    mockId();
    nock(POD).post(`${BULK_PATH}/contacts/imports`).reply(201, fixture('imports/definition-created.json'));
    nock(POD).post(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    nock(POD)
      .post(`${BULK_PATH}/syncs`)
      .reply(400, {
        failures: [{ field: 'syncedInstanceUri', constraint: 'Must reference a valid definition.' }],
      });
    const cleared = nock(POD).delete(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    const error = (await eloqua
      .exportProfiles(context(), [upsert(1)])
      .catch((thrown: unknown) => thrown)) as Error;
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain(
      'create sync refused by Eloqua (HTTP 400): syncedInstanceUri: Must reference',
    );
    cleared.done();
  });
});

describe('checkStatus', () => {
  it('is pending while the sync is pending or active, with a hint and progress', async () => {
    mockStatus('pending');
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toEqual({
      state: 'pending',
      checkAfterMs: 1000,
      progress: { processed: 0, total: 3 },
    });
    mockStatus('active');
    const big = handle([{ sync: '/syncs/9001', def: '/contacts/imports/384', rows: 100_000 }]);
    expect(await eloqua.checkStatus(context(), big, members(3))).toMatchObject({
      state: 'pending',
      checkAfterMs: 11_000,
    });
  });

  it('completes with no outcomes on success, without reading rejects', async () => {
    mockStatus('success');
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toEqual({
      state: 'completed',
      outcomes: [],
    });
  });

  it('maps warning rejects back to members, paging 1000 at a time, by identifier and recordIndex', async () => {
    const count = 1203;
    const all = members(count);
    mockStatus('warning');
    const items = Array.from({ length: 1001 }, (_, index) =>
      reject(index + 1, `user${index + 1}@example.com`),
    );
    // A field-level problem: the record was imported without the field.
    items.push(
      reject(1203, 'USER1203@example.com', {
        statusCode: 'ELQ-00040',
        message: 'Invalid field values were not imported.',
        invalidFields: ['C_Number1'],
      }),
    );
    const offsets = mockRejects(items);
    const status = await eloqua.checkStatus(
      context(),
      handle([{ sync: '/syncs/9001', def: '/contacts/imports/384', rows: count }]),
      all,
    );
    expect(offsets).toEqual([0, 1000]);
    if (status.state !== 'completed') throw new Error(JSON.stringify(status));
    expect(status.outcomes).toHaveLength(1002);
    expect(status.outcomes[0]).toEqual({
      profileId: 'p1',
      status: 'rejected',
      code: 'ELQ-00002',
      message: 'Invalid email address. (C_EmailAddress)',
      field: 'C_EmailAddress',
    });
    expect(status.outcomes.at(-1)).toEqual({
      profileId: 'p1203',
      status: 'rejected',
      code: 'ELQ-00040',
      message:
        'Invalid field values were not imported. (C_Number1) - the other fields of the record were imported',
      field: 'C_Number1',
    });
  });

  it('gives every member sharing a rejected identity the outcome, and ignores duplicates and foreign rows', async () => {
    // p1 and p3 share an identity: one row (the 2nd, where p3 was), so rows are [user2, user1(p3)].
    const list: JobMember[] = [
      { profileId: 'p1', identity: 'same@example.com' },
      { profileId: 'p2', identity: 'user2@example.com' },
      { profileId: 'p3', identity: 'Same@example.com' },
    ];
    mockStatus('warning');
    mockRejects([
      reject(2, 'Same@example.com'),
      // A row uploaded twice (a retried upload): Eloqua kept the first copy.
      reject(3, 'user2@example.com', { statusCode: 'ELQ-00011', message: 'Duplicate email address.' }),
      reject(9, 'stranger@example.com'),
    ]);
    const status = await eloqua.checkStatus(
      context(),
      handle([{ sync: '/syncs/9001', def: '/contacts/imports/384', rows: 2 }]),
      list,
    );
    expect(status).toEqual({
      state: 'completed',
      outcomes: [
        expect.objectContaining({ profileId: 'p1', code: 'ELQ-00002' }),
        expect.objectContaining({ profileId: 'p3', code: 'ELQ-00002' }),
      ],
    });
  });

  it('falls back to recordIndex when a reject carries no identifier value', async () => {
    mockStatus('warning');
    mockRejects([reject(2, undefined, { statusCode: 'ELQ-00061', message: 'Required field is missing.' })]);
    const status = await eloqua.checkStatus(context(), handle(), members(3));
    expect(status).toEqual({
      state: 'completed',
      outcomes: [expect.objectContaining({ profileId: 'p2', code: 'ELQ-00061' })],
    });
  });

  it('fails retryably rather than guess when a reject cannot be mapped', async () => {
    const two = handle([
      { sync: '/syncs/9001', def: '/contacts/imports/384', rows: 2 },
      { sync: '/syncs/9002', def: '/contacts/imports/385', rows: 1 },
    ]);
    mockStatus('warning');
    mockStatus('success', '/syncs/9002');
    mockRejects([reject(1, undefined)]);
    expect(await eloqua.checkStatus(context(), two, members(3))).toMatchObject({
      state: 'failed',
      retryable: true,
      code: 'members_mismatch',
    });
  });

  it('fails the job with the vendor reason from /logs when the sync ends in error', async () => {
    mockStatus('error');
    mockRejects([]);
    nock(POD).get(`${BULK_PATH}/syncs/9001/logs`).query(true).reply(200, fixture('syncs/logs-error.json'));
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toEqual({
      state: 'failed',
      retryable: true,
      code: 'ELQ-00107',
      message:
        'Eloqua sync /syncs/9001 ended in error: ELQ-00107 There was an error processing the staging file.',
    });
  });

  it('does not retry a sync error Eloqua says comes from the data', async () => {
    mockStatus('error');
    mockRejects([]);
    nock(POD)
      .get(`${BULK_PATH}/syncs/9001/logs`)
      .query(true)
      .reply(
        200,
        envelope([
          { severity: 'error', statusCode: 'ELQ-00135', message: 'Multiple matched record limit exceeded.' },
        ]),
      );
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toMatchObject({
      state: 'failed',
      retryable: false,
      code: 'ELQ-00135',
    });
  });

  it('reports per-row outcomes when an error sync rejected every row', async () => {
    mockStatus('error');
    mockRejects([1, 2, 3].map((n) => reject(n, `user${n}@example.com`)));
    const status = await eloqua.checkStatus(context(), handle(), members(3));
    expect(status.state).toBe('completed');
    if (status.state === 'completed')
      expect(status.outcomes.map((o) => o.profileId)).toEqual(['p1', 'p2', 'p3']);
  });

  it('reports JOB_NOT_FOUND, retryable, when Eloqua no longer knows the sync', async () => {
    nock(POD).get(`${BULK_PATH}/syncs/9001`).reply(404, 'The requested resource was not found.');
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toMatchObject({
      state: 'failed',
      retryable: true,
      code: JOB_NOT_FOUND,
    });
    mockStatus('warning');
    nock(POD).get(`${BULK_PATH}/syncs/9001/rejects`).query(true).reply(404);
    expect(await eloqua.checkStatus(context(), handle(), members(3))).toMatchObject({ code: JOB_NOT_FOUND });
  });

  it('throws (never reports failed) when the check itself fails: 5xx, 429, dropped connection', async () => {
    nock(POD).get(`${BULK_PATH}/syncs/9001`).times(3).reply(503);
    await expect(eloqua.checkStatus(context(), handle(), members(3))).rejects.toBeInstanceOf(TransientError);
    // A Retry-After longer than the client waits itself is thrown at once, for the runner to wait out.
    nock(POD).get(`${BULK_PATH}/syncs/9001`).reply(429, '', { 'Retry-After': '120' });
    const limited = await eloqua
      .checkStatus(context(), handle(), members(3))
      .catch((thrown: unknown) => thrown);
    expect(limited).toBeInstanceOf(RateLimitedError);
    expect((limited as RateLimitedError).retryAfterMs).toBe(120_000);
    const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    nock(POD).get(`${BULK_PATH}/syncs/9001`).times(3).replyWithError(reset());
    await expect(eloqua.checkStatus(context(), handle(), members(3))).rejects.toBeInstanceOf(TransientError);
  });

  it('refuses a handle it did not make, or one pointing outside a Bulk API', async () => {
    await expect(eloqua.checkStatus(context(), { jobId: 1 }, [])).rejects.toBeInstanceOf(PermanentError);
    const elsewhere = { ...handle(), base: 'https://attacker.example.test/collect' } as JobHandle;
    await expect(eloqua.checkStatus(context(), elsewhere, [])).rejects.toBeInstanceOf(PermanentError);
  });
});

describe('cleanup', () => {
  it('deletes only definitions made for the job; shared ones are left to autoDeleteDuration', async () => {
    const scope = nock(POD).delete(`${BULK_PATH}/contacts/imports/385`).reply(204);
    await eloqua.cleanup?.(
      context(),
      handle([
        { sync: '/syncs/9001', def: '/contacts/imports/384', rows: 1 },
        { sync: '/syncs/9002', def: '/contacts/imports/385', rows: 1, owned: true },
      ]),
    );
    scope.done();
    // Already gone: fine.
    nock(POD).delete(`${BULK_PATH}/contacts/imports/385`).reply(404);
    await eloqua.cleanup?.(
      context(),
      handle([{ sync: '/syncs/9002', def: '/contacts/imports/385', rows: 1, owned: true }]),
    );
  });
});
