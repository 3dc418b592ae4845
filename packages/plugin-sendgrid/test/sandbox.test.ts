import { createContext, type ProfileChange, RateLimitedError } from '@ferry/core';
import { membersOf, settleJob } from '@ferry/core/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import {
  LIST_CUSTOMERS,
  LIST_NEWSLETTER,
  SANDBOX_KEY,
  type Sandbox,
  startSendgridSandbox,
} from './sandbox-support.ts';
import { upsert } from './support.ts';

/** Integration against the local SendGrid emulator (real HTTP): both paths, deletes, lists, rate limits. */

const sandbox = await startSendgridSandbox();
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const contextFor = (options: Record<string, unknown> = {}, httpOverrides: Record<string, unknown> = {}) =>
  createContext(sendgrid, {
    options: { apiKey: SANDBOX_KEY, baseUrl: sandbox.url, ...options },
    httpOverrides: { baseBackoffMs: 5, maxBackoffMs: 50, ...httpOverrides },
  });

/** A mixed batch: typed custom fields, a list, one rejected at submission, one at completion. */
const mixedBatch = (): ProfileChange[] => [
  upsert(
    1,
    {
      first_name: 'Zoë',
      city: 'Zürich',
      notes: 'naïve, "quoted"\nline 2',
      score: '42',
      birthday: new Date('1990-05-17T00:00:00Z'),
    },
    { lists: { add: [LIST_CUSTOMERS], remove: [] } },
  ),
  upsert(2, { first_name: '美咲', last_name: '渡辺', notes: '👩🏽‍💻 🏳️‍🌈' }),
  upsert(3, { first_name: 'x'.repeat(51) }), // rejected at submission
  upsert(4, { first_name: 'Dots' }, { identity: 'two..dots@example.com' }), // SendGrid (the sandbox) rejects it
  upsert(5, { first_name: 'Late', score: 7.5 }),
];

const expectMixedOutcome = async (sandboxView: Sandbox, settled: Awaited<ReturnType<typeof settleJob>>) => {
  expect(settled.rejected).toEqual([
    expect.objectContaining({ profileId: 'p3', code: 'oversized', field: 'first_name' }),
  ]);
  expect(settled.outcomes).toEqual([
    { profileId: 'p4', status: 'rejected', code: 'invalid_email', field: 'email', message: 'invalid email' },
  ]);
  const zoe = await sandboxView.contact('user1@example.com');
  expect(zoe).toMatchObject({
    first_name: 'Zoë',
    city: 'Zürich',
    custom_fields: { notes: 'naïve, "quoted"\nline 2', score: 42, birthday: '1990-05-17T00:00:00Z' },
  });
  expect([...(zoe?.list_ids ?? [])].sort()).toEqual([LIST_NEWSLETTER, LIST_CUSTOMERS].sort());
  expect((await sandboxView.contact('user2@example.com'))?.custom_fields).toEqual({ notes: '👩🏽‍💻 🏳️‍🌈' });
  expect(await sandboxView.contact('user3@example.com')).toBeUndefined();
  expect(await sandboxView.contact('two..dots@example.com')).toBeUndefined();
  expect((await sandboxView.contact('user5@example.com'))?.custom_fields).toEqual({ score: 7.5 });
};

describe('both paths end in the same state', () => {
  it('JSON: PUT /v3/marketing/contacts', async () => {
    const ctx = contextFor({ submission: 'json', listIds: [LIST_NEWSLETTER] });
    const settled = await settleJob(sendgrid, ctx, mixedBatch());
    expect(settled.jobs[0]).toMatchObject({ path: 'json' });
    await expectMixedOutcome(sandbox, settled);
    // One request per group of added lists (the profile adding LIST_CUSTOMERS, and the rest).
    expect((await sandbox.stats()).requests).toMatchObject({ 'sendgrid.upsert': 2 });
  });

  it('CSV: import + gzip upload', async () => {
    const ctx = contextFor({ submission: 'csv', listIds: [LIST_NEWSLETTER] });
    const settled = await settleJob(sendgrid, ctx, mixedBatch());
    expect(settled.jobs[0]).toMatchObject({ path: 'csv' });
    await expectMixedOutcome(sandbox, settled);
    expect((await sandbox.stats()).requests).toMatchObject({
      'sendgrid.importCreate': 2,
      'sendgrid.upload': 2,
    });
  });

  it('auto: JSON while a group fits one request, CSV import beyond', async () => {
    const ctx = contextFor({ json: { maxProfilesPerJob: 10 } });
    const small = await settleJob(sendgrid, ctx, [upsert(1), upsert(2)]);
    const large = await settleJob(
      sendgrid,
      ctx,
      Array.from({ length: 25 }, (_, n) => upsert(n + 10, { first_name: `N${n}` })),
    );
    expect(small.jobs[0]).toMatchObject({ path: 'json' });
    expect(large.jobs[0]).toMatchObject({ path: 'csv' });
    expect((await sandbox.get<{ count: number }>('/__sandbox/contacts/count')).count).toBe(27);
  });

  it('status is pending while SendGrid processes, and checking does not advance it', async () => {
    const slow = await startSendgridSandbox({}, { startDelayMs: 400, recordsPerSecond: 1000 });
    try {
      const ctx = createContext(sendgrid, {
        options: { apiKey: SANDBOX_KEY, baseUrl: slow.url, submission: 'json' },
      });
      const batch = [upsert(1), upsert(2)];
      const { job } = await sendgrid.exportProfiles(ctx, batch);
      if (job === null) throw new Error('expected a job');
      const first = await sendgrid.checkStatus(ctx, job, membersOf(batch, []));
      expect(first).toMatchObject({ state: 'pending', progress: { processed: 0, total: 2 } });
      expect(await slow.contact('user1@example.com')).toBeUndefined();
      const settled = await settleJob(sendgrid, ctx, [upsert(3)]);
      expect(settled.status?.state).toBe('completed');
    } finally {
      await slow.close();
    }
  });
});

describe('deletes', () => {
  it('removes the contacts by e-mail (any case), leaves the others, and ignores unknown ones', async () => {
    const ctx = contextFor({ submission: 'json' });
    await settleJob(sendgrid, ctx, [upsert(1), upsert(2), upsert(3)]);
    const settled = await settleJob(sendgrid, ctx, [
      { kind: 'delete', profileId: 'd1', identity: 'USER1@example.com' },
      { kind: 'delete', profileId: 'd2', identity: 'user2@example.com' },
      { kind: 'delete', profileId: 'd9', identity: 'nobody@example.com' },
    ]);
    expect(settled.status).toEqual({ state: 'completed', outcomes: [] });
    expect(settled.jobs[0]).toMatchObject({ path: 'none', deletes: [expect.any(String)] });
    expect(await sandbox.contact('user1@example.com')).toBeUndefined();
    expect(await sandbox.contact('user2@example.com')).toBeUndefined();
    expect(await sandbox.contact('user3@example.com')).toBeDefined();
    expect((await sandbox.stats()).requests).toMatchObject({
      'sendgrid.searchEmails': 1,
      'sendgrid.delete': 1,
    });
  });

  it('deletes in calls of deleteIdsPerRequest, one SendGrid job each', async () => {
    const ctx = contextFor({ submission: 'json', deleteIdsPerRequest: 40 });
    const people = Array.from({ length: 150 }, (_, n) => upsert(n));
    await settleJob(sendgrid, ctx, people);
    const settled = await settleJob(
      sendgrid,
      ctx,
      people.map((person) => ({
        kind: 'delete' as const,
        profileId: `d-${person.profileId}`,
        identity: person.identity,
      })),
    );
    expect(settled.status?.state).toBe('completed');
    expect((settled.jobs[0] as { deletes: string[] }).deletes).toHaveLength(4);
    expect((await sandbox.stats()).requests).toMatchObject({
      'sendgrid.searchEmails': 2,
      'sendgrid.delete': 4,
    });
    expect((await sandbox.get<{ count: number }>('/__sandbox/contacts/count')).count).toBe(0);
  });
});

describe('lists', () => {
  it('adds contacts to the lists they ask for, and to options.listIds', async () => {
    const ctx = contextFor({ listIds: [LIST_NEWSLETTER] });
    await settleJob(sendgrid, ctx, [
      upsert(1, {}, { lists: { add: [LIST_CUSTOMERS], remove: [] } }),
      upsert(2),
    ]);
    expect((await sandbox.contact('user1@example.com'))?.list_ids.sort()).toEqual(
      [LIST_NEWSLETTER, LIST_CUSTOMERS].sort(),
    );
    expect((await sandbox.contact('user2@example.com'))?.list_ids).toEqual([LIST_NEWSLETTER]);
  });

  it('removes contacts from lists (DELETE /v3/marketing/lists/{id}/contacts)', async () => {
    const ctx = contextFor();
    await settleJob(sendgrid, ctx, [
      upsert(1, {}, { lists: { add: [LIST_CUSTOMERS, LIST_NEWSLETTER], remove: [] } }),
    ]);
    await settleJob(sendgrid, ctx, [upsert(1, {}, { lists: { add: [], remove: [LIST_CUSTOMERS] } })]);
    expect((await sandbox.contact('user1@example.com'))?.list_ids).toEqual([LIST_NEWSLETTER]);
    expect((await sandbox.stats()).requests).toMatchObject({ 'sendgrid.listRemove': 1 });
  });

  it('verify finds the fields and lists that exist and names the others', async () => {
    const result = await sendgrid.verify(contextFor({ listIds: [LIST_NEWSLETTER] }), {
      fields: ['first_name', 'notes', 'Score', 'nickname'],
      lists: [LIST_CUSTOMERS, '00000000-0000-4000-8000-000000000000'],
    });
    expect(result.problems).toEqual([
      expect.objectContaining({ kind: 'field', subject: 'nickname' }),
      expect.objectContaining({ kind: 'list', subject: '00000000-0000-4000-8000-000000000000' }),
    ]);
    const wrongKey = await sendgrid.verify(
      createContext(sendgrid, { options: { apiKey: 'SG.wrong', baseUrl: sandbox.url } }),
      { fields: [], lists: [] },
    );
    expect(wrongKey.problems).toEqual([expect.objectContaining({ kind: 'auth', subject: 'apiKey' })]);
  });
});

describe('rate limits', () => {
  it('waits out injected 429s (Retry-After / X-RateLimit-Reset) inside the HTTP client', async () => {
    sandbox.running.sendgrid?.server.faults.add({
      endpoint: 'sendgrid.upsert',
      kind: 'rate_limit',
      count: 2,
      retryAfterSeconds: 0.2,
    });
    const settled = await settleJob(sendgrid, contextFor({ submission: 'json' }), [upsert(1)]);
    expect(settled.status?.state).toBe('completed');
    expect(settled.stats.rateLimitedWaits).toBe(0);
    expect((await sandbox.stats()).faultsFired).toEqual({ 'sendgrid.upsert rate_limit': 2 });
  });

  it('waits until X-RateLimit-Reset when the 429 has no Retry-After (the sandbox sends none by default)', async () => {
    sandbox.running.sendgrid?.server.faults.add({
      endpoint: 'sendgrid.upsert',
      kind: 'rate_limit',
      count: 1,
      retryAfterSeconds: 1,
    });
    const settled = await settleJob(sendgrid, contextFor({ submission: 'json' }), [upsert(1)]);
    expect(settled.status?.state).toBe('completed');
    const { requests } = await sandbox.get<{ requests: { at: string; status: number; endpoint: string }[] }>(
      '/__sandbox/requests',
    );
    const upserts = requests.filter((entry) => entry.endpoint === 'sendgrid.upsert');
    expect(upserts.map((entry) => entry.status)).toEqual([429, 202]);
    const [limited, accepted] = upserts.map((entry) => Date.parse(entry.at)) as [number, number];
    // The reset is the whole epoch second at or after 1 s from the 429; backoff alone (≤ 50 ms
    // here) would have come back long before it.
    const reset = Math.ceil((limited + 1000) / 1000) * 1000;
    expect(accepted).toBeGreaterThanOrEqual(reset - 20);
  });

  it('throws RateLimitedError with the wait when its own retries are spent (the runner waits, no attempt counted)', async () => {
    // Through the HTTP route this time (what `ferry sandbox` users have).
    await sandbox.put('/__sandbox/faults', {
      faults: [{ endpoint: 'sendgrid.upsert', kind: 'rate_limit', count: 1, retryAfterSeconds: 2 }],
    });
    const error = await sendgrid
      .exportProfiles(contextFor({ submission: 'json' }, { rateLimitRetries: 0 }), [upsert(1)])
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(1000);
  });

  it('paces itself on X-RateLimit-Remaining: 0 instead of running into 429s', async () => {
    const tight = await startSendgridSandbox({
      rateLimit: {
        limit: 1000,
        windowSeconds: 60,
        perEndpoint: { 'sendgrid.importStatus': { limit: 2, windowSeconds: 1 } },
      },
    });
    try {
      const ctx = createContext(sendgrid, {
        options: { apiKey: SANDBOX_KEY, baseUrl: tight.url, submission: 'json' },
      });
      const batch = [upsert(1)];
      const { job } = await sendgrid.exportProfiles(ctx, batch);
      if (job === null) throw new Error('expected a job');
      const started = Date.now();
      for (let n = 0; n < 4; n += 1) await sendgrid.checkStatus(ctx, job, membersOf(batch, []));
      const { requests } = await tight.get<{ requests: { endpoint: string; status: number }[] }>(
        '/__sandbox/requests',
      );
      const checks = requests.filter((request) => request.endpoint === 'sendgrid.importStatus');
      expect(checks.map((request) => request.status)).toEqual([200, 200, 200, 200]);
      // The third check waited for the window to reset (1 s after the first) instead of getting a 429.
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    } finally {
      await tight.close();
    }
  });
});
