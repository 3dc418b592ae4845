import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JOBS_PER_HANDLE, sendgrid } from '../src/index.ts';
import { API, contextFor, fixture, jsonOf, LIST_A, remove, upsert } from './support.ts';

/** Deletes and list removals: `search/emails` (≤ 100 per call), `DELETE /contacts?ids=`, list removals. */

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked call was made').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

/** A search that finds every address whose local part does not start with `gone`. */
const mockSearch = (times: number, searched: string[][] = []) =>
  nock(API)
    .post('/v3/marketing/contacts/search/emails')
    .times(times)
    .reply(async (request: Request) => {
      const { emails } = await jsonOf<{ emails: string[] }>(request);
      searched.push(emails);
      const result: Record<string, unknown> = {};
      for (const email of emails) {
        result[email] = email.startsWith('gone')
          ? { error: 'contact not found' }
          : { contact: { id: `id-${email.split('@')[0]}`, email } };
      }
      return Object.values(result).some((entry) => 'contact' in (entry as object))
        ? [200, { result }]
        : [404, {}];
    });

const mockDeletes = (times: number, ids: string[][] = [], uuids = false) =>
  nock(API)
    .delete('/v3/marketing/contacts')
    .query(true)
    .times(times)
    .reply((request: Request) => {
      ids.push((new URL(request.url).searchParams.get('ids') ?? '').split(','));
      const jobId = uuids
        ? `9b1a2c3d-4e5f-4789-abcd-${String(ids.length).padStart(12, '0')}`
        : `del-${ids.length}`;
      return [202, { job_id: jobId }];
    });

describe('deletes', () => {
  it('looks up ids 100 e-mails at a time and deletes deleteIdsPerRequest ids per call, each a job of the handle', async () => {
    const ctx = contextFor({ deleteIdsPerRequest: 100 });
    const searched: string[][] = [];
    const deleted: string[][] = [];
    mockSearch(3, searched);
    mockDeletes(3, deleted);
    const batch = Array.from({ length: 250 }, (_, n) => remove(n, n === 7 ? 'GONE7@example.com' : undefined));
    const result = await sendgrid.exportProfiles(ctx, batch);
    expect(searched.map((emails) => emails.length)).toEqual([100, 100, 50]);
    expect(searched[0]?.[7]).toBe('gone7@example.com');
    expect(deleted.map((ids) => ids.length)).toEqual([100, 100, 49]);
    expect(deleted[0]?.[0]).toBe('id-user0');
    expect(result).toEqual({
      job: { v: 1, path: 'none', upserts: [], deletes: ['del-1', 'del-2', 'del-3'] },
      rejected: [],
    });
  });

  it('deletes only contacts whose primary address matches (search also matches alternate_emails)', async () => {
    const ctx = contextFor();
    nock(API)
      .post('/v3/marketing/contacts/search/emails')
      .reply(200, fixture('contacts/search-emails-partial.json'));
    const deleted: string[][] = [];
    mockDeletes(1, deleted);
    await sendgrid.exportProfiles(ctx, [
      remove(1, 'jane_doe@example.com'),
      remove(2, 'janedoe@example1.com'),
      remove(3, 'joann_doe@example.com'),
    ]);
    expect(deleted).toEqual([['asdf-Jkl-zxCvBNm']]);
  });

  it('nothing found (404): no delete call, and a handle without jobs', async () => {
    const ctx = contextFor();
    nock(API).post('/v3/marketing/contacts/search/emails').reply(404, fixture('contacts/not-found.json'));
    const result = await sendgrid.exportProfiles(ctx, [remove(1, 'gone@example.com')]);
    expect(result).toEqual({ job: { v: 1, path: 'none', upserts: [], deletes: [] }, rejected: [] });
  });

  it('a 400 from search (an address SendGrid calls invalid) is split until the address is alone', async () => {
    const ctx = contextFor();
    const searched: string[][] = [];
    nock(API)
      .post('/v3/marketing/contacts/search/emails')
      .times(5)
      .reply(async (request: Request) => {
        const { emails } = await jsonOf<{ emails: string[] }>(request);
        searched.push(emails);
        if (emails.includes('odd@example.com'))
          return [400, { errors: [{ field: 'emails', message: 'invalid' }] }];
        return [
          200,
          { result: Object.fromEntries(emails.map((email) => [email, { contact: { id: email, email } }])) },
        ];
      });
    const deleted: string[][] = [];
    mockDeletes(1, deleted);
    await sendgrid.exportProfiles(ctx, [remove(1), remove(2), remove(3, 'odd@example.com'), remove(4)]);
    expect(searched).toEqual([
      ['user1@example.com', 'user2@example.com', 'odd@example.com', 'user4@example.com'],
      ['user1@example.com', 'user2@example.com'],
      ['odd@example.com', 'user4@example.com'],
      ['odd@example.com'],
      ['user4@example.com'],
    ]);
    expect(deleted).toEqual([['user1@example.com', 'user2@example.com', 'user4@example.com']]);
  });

  it('mixes upserts and deletes in one job; the last change per e-mail wins', async () => {
    const ctx = contextFor({ submission: 'json' });
    const bodies: { contacts: { email: string }[] }[] = [];
    nock(API)
      .put('/v3/marketing/contacts')
      .reply(async (request: Request) => {
        bodies.push(await jsonOf(request));
        return [202, { job_id: 'up-1' }];
      });
    const searched: string[][] = [];
    mockSearch(1, searched);
    mockDeletes(1);
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1),
      remove(2),
      upsert(2, { first_name: 'Back' }), // upserted after its delete: the upsert wins
      upsert(3),
      remove(3), // deleted after its upsert: the delete wins
    ]);
    expect(bodies[0]?.contacts.map((contact) => contact.email)).toEqual([
      'user1@example.com',
      'user2@example.com',
    ]);
    expect(searched).toEqual([['user3@example.com']]);
    expect(result.job).toEqual({ v: 1, path: 'json', upserts: ['up-1'], deletes: ['del-1'] });
  });

  it('invalid or over-long addresses need no lookup; over-long valid ones cannot be looked up', async () => {
    const ctx = contextFor();
    const long = `${'x'.repeat(95)}@example.com`;
    const result = await sendgrid.exportProfiles(ctx, [remove(1, 'not-an-email'), remove(2, long)]);
    expect(result.rejected).toEqual([
      expect.objectContaining({ profileId: 'd2', code: 'unsupported', field: 'email' }),
    ]);
    expect(result.job).toEqual({ v: 1, path: 'none', upserts: [], deletes: [] });
  });

  it('defers what does not fit the handle as retryable outcomes', async () => {
    const ctx = contextFor({ deleteIdsPerRequest: 1 });
    const count = MAX_JOBS_PER_HANDLE + 2;
    mockSearch(1);
    mockDeletes(MAX_JOBS_PER_HANDLE, [], true);
    const result = await sendgrid.exportProfiles(
      ctx,
      Array.from({ length: count }, (_, n) => remove(n)),
    );
    expect(result.rejected).toEqual([
      expect.objectContaining({ profileId: `d${count - 2}`, status: 'retryable', code: 'deferred' }),
      expect.objectContaining({ profileId: `d${count - 1}`, status: 'retryable', code: 'deferred' }),
    ]);
    // SendGrid job ids are UUIDs: a full handle stays under the contract's 4 KB.
    expect(Buffer.byteLength(JSON.stringify(result.job))).toBeLessThan(3500);
  });
});

describe('list removals', () => {
  it('removes the contacts from each list after the upsert, with the ids found by e-mail', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).put('/v3/marketing/contacts').reply(202, { job_id: 'up-1' });
    mockSearch(1);
    const removed: string[] = [];
    nock(API)
      .delete(`/v3/marketing/lists/${LIST_A}/contacts`)
      .query(true)
      .reply((request: Request) => {
        removed.push(new URL(request.url).searchParams.get('contact_ids') ?? '');
        return [202, { job_id: 'untracked' }];
      });
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1, {}, { lists: { add: [], remove: [LIST_A] } }),
      upsert(2, {}, { lists: { add: [], remove: [LIST_A] } }),
      upsert(3, {}, { identity: 'gone3@example.com', lists: { add: [], remove: [LIST_A] } }),
    ]);
    expect(removed).toEqual(['id-user1,id-user2']);
    // SendGrid documents no status for list removals: the handle holds the upsert only.
    expect(result.job).toEqual({ v: 1, path: 'json', upserts: ['up-1'], deletes: [] });
  });
});
