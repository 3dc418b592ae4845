import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthError,
  type CreateContextInput,
  createContext,
  createMemoryLogger,
  type JobHandle,
  type ProfileChange,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import { membersOf, settleJob, waitForJob } from '@ferry/core/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorizationHeader } from '../src/auth.ts';
import { type EloquaHandle, eloqua } from '../src/index.ts';
import { type EloquaSandbox, SANDBOX_AUTH, startEloquaSandbox } from './sandbox-support.ts';

/*
 * Integration tests over real HTTP against the Eloqua sandbox: a short processing delay so syncs are
 * really pending first, fault rules per test, and end state read back through /__sandbox.
 */

let sandbox: EloquaSandbox;
beforeAll(async () => {
  sandbox = await startEloquaSandbox({}, { startDelayMs: 30, recordsPerSecond: 500_000 });
});
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const SETTLE = { maxCheckIntervalMs: 20, pollTimeoutMs: 10_000 } as const;

const contextFor = (options: Record<string, unknown> = {}, input: Omit<CreateContextInput, 'options'> = {}) =>
  createContext(eloqua, {
    options: { auth: SANDBOX_AUTH, loginUrl: sandbox.url, ...options },
    httpOverrides: { baseBackoffMs: 1, maxBackoffMs: 5 },
    ...input,
  });

const person = (
  n: number,
  fields: Record<string, unknown> = {},
  extra: Partial<ProfileChange> = {},
): ProfileChange =>
  ({
    kind: 'upsert',
    profileId: `p${n}`,
    identity: `person${n}@example.com`,
    fields: {
      C_EmailAddress: `person${n}@example.com`,
      C_FirstName: `Person ${n}`,
      C_LastName: 'Example',
      ...fields,
    },
    ...extra,
  }) as ProfileChange;

/** The Bulk API as a client would call it, to tamper with state behind the plugin's back. */
const bulkCall = (method: string, path: string) =>
  fetch(`${sandbox.url}/api/bulk/2.0${path}`, {
    method,
    headers: { authorization: authorizationHeader(SANDBOX_AUTH) },
  });

describe('against the sandbox', () => {
  it('maps rejects across several uploads of one sync back to the right profiles', async () => {
    const logger = createMemoryLogger();
    const ctx = contextFor({ limits: { maxUploadBytes: 16 * 1024 } }, { logger });
    const batch = Array.from({ length: 600 }, (_, index) => {
      const n = index + 1;
      if (n % 97 === 0) {
        return person(n, { C_City: 'Delft', C_Notes1: 'n'.repeat(60) }, { identity: `broken-${n}` });
      }
      if (n % 150 === 0) return person(n, { C_City: 'c'.repeat(101), C_Notes1: 'n'.repeat(60) });
      return person(n, { C_City: 'Delft', C_Notes1: 'n'.repeat(60) });
    });
    const settled = await settleJob(eloqua, ctx, batch, SETTLE);
    const requests = (await sandbox.stats()).requests;
    expect(requests['eloqua.upload']).toBeGreaterThanOrEqual(3);
    expect(requests['eloqua.syncCreate']).toBe(1);
    expect(settled.status?.state).toBe('completed');
    const byId = Object.fromEntries(settled.outcomes.map((outcome) => [outcome.profileId, outcome]));
    expect(Object.keys(byId).sort()).toEqual(
      ['p150', 'p194', 'p291', 'p300', 'p388', 'p450', 'p485', 'p582', 'p600', 'p97'].sort(),
    );
    expect(byId.p97).toMatchObject({ code: 'ELQ-00002', field: 'C_EmailAddress' });
    expect(byId.p582).toMatchObject({ code: 'ELQ-00002', field: 'C_EmailAddress' });
    expect(byId.p450).toMatchObject({ code: 'ELQ-00040', field: 'C_City' });
    // recordIndex ran on across uploads, so rows and identifiers agreed everywhere.
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
    const held = await sandbox.read(['person1@example.com', 'person450@example.com', 'broken-97']);
    expect(held['person1@example.com']?.fields).toMatchObject({ C_City: 'Delft', C_FirstName: 'Person 1' });
    // ELQ-00040: imported without the bad field.
    expect(held['person450@example.com']?.fields).toMatchObject({ C_FirstName: 'Person 450' });
    expect(held['person450@example.com']?.fields.C_City).toBeUndefined();
    expect(held['broken-97']).toBeUndefined();
  });

  it('encodes values per type: numbers, dates, booleans, and null clears a field', async () => {
    const ctx = contextFor();
    const when = new Date(Date.UTC(2024, 4, 6, 7, 8, 9));
    await settleJob(
      eloqua,
      ctx,
      [
        person(1, {
          C_Number_of_Employees1: 1.5e21,
          C_Last_Purchase_Date1: when,
          C_Is_Customer1: true,
          C_City: 'Gouda',
        }),
      ],
      SETTLE,
    );
    const settled = await settleJob(
      eloqua,
      ctx,
      [person(1, { C_City: null, C_Is_Customer1: false })],
      SETTLE,
    );
    expect(settled.outcomes).toEqual([]);
    const fields = (await sandbox.read(['person1@example.com']))['person1@example.com']?.fields;
    expect(fields).toMatchObject({
      C_Number_of_Employees1: '1500000000000000000000',
      C_Last_Purchase_Date1: '2024-05-06T07:08:09.000Z',
      C_Is_Customer1: 'false',
    });
    expect(fields?.C_City).toBeUndefined();
  });

  it('reports a warning sync (a value the field cannot hold) as a rejection naming the field', async () => {
    const settled = await settleJob(
      eloqua,
      contextFor(),
      [person(1), person(2, { C_Number_of_Employees1: 'lots' })],
      SETTLE,
    );
    expect(settled.outcomes).toEqual([
      expect.objectContaining({
        profileId: 'p2',
        status: 'rejected',
        code: 'ELQ-00040',
        field: 'C_Number_of_Employees1',
      }),
    ]);
  });

  it('reports an error sync that rejected every row as per-row rejections', async () => {
    const settled = await settleJob(
      eloqua,
      contextFor(),
      [person(1, {}, { identity: 'nope-1' }), person(2, {}, { identity: 'nope-2' })],
      SETTLE,
    );
    const syncs = await sandbox.get<{ syncs: { status: string }[] }>('/__sandbox/syncs');
    expect(syncs.syncs.map((sync) => sync.status)).toEqual(['error']);
    expect(settled.status?.state).toBe('completed');
    expect(
      settled.outcomes.map((outcome) => [outcome.profileId, (outcome as { code: string }).code]),
    ).toEqual([
      ['p1', 'ELQ-00002'],
      ['p2', 'ELQ-00002'],
    ]);
  });

  it('fails an error sync with the logged reason, retryably, and a resubmission completes', async () => {
    const ctx = contextFor();
    const batch = [person(1), person(2)];
    const { job } = await eloqua.exportProfiles(ctx, batch);
    if (job === null) throw new Error('expected a job');
    // The definition disappears before the sync ran (as an auto-delete would make it).
    const definition = (job as EloquaHandle).syncs[0]?.def ?? '';
    expect((await bulkCall('DELETE', definition)).status).toBe(204);
    const { status } = await waitForJob(eloqua, ctx, job, membersOf(batch, []), SETTLE);
    expect(status).toMatchObject({ state: 'failed', retryable: true, code: 'ELQ-00122' });
    if (status.state === 'failed')
      expect(status.message).toContain(`The import definition ${definition} no longer exists`);
    const again = await settleJob(eloqua, ctx, batch, SETTLE);
    expect(again.status).toEqual({ state: 'completed', outcomes: [] });
  });

  it('passes the runner callbackUrl and the sandbox calls it when the sync ends', async () => {
    const received: { method: string; body: string }[] = [];
    const listener = createServer((request: IncomingMessage, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({ method: request.method ?? '', body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const callbackUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callbacks/eloqua`;
      const ctx = contextFor({}, { callbackUrl });
      const batch = [person(1)];
      const { job } = await eloqua.exportProfiles(ctx, batch);
      if (job === null) throw new Error('expected a job');
      const deadline = Date.now() + 5000;
      while (received.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(received).toHaveLength(1);
      const sync = (job as EloquaHandle).syncs[0]?.sync;
      expect(received[0]?.method).toBe('POST');
      expect(JSON.parse(received[0]?.body ?? '{}')).toMatchObject({
        uri: sync,
        status: 'success',
        callbackUrl,
      });
      // The callback is only a nudge: the status is read from the API.
      expect(await eloqua.checkStatus(ctx, job, membersOf(batch, []))).toEqual({
        state: 'completed',
        outcomes: [],
      });
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('rides out 429s, 5xx and a dropped connection during uploads without staging a row twice', async () => {
    sandbox.setFaults([
      { endpoint: 'eloqua.upload', kind: 'rate_limit', count: 2, retryAfterSeconds: 0 },
      { endpoint: 'eloqua.upload', kind: 'unavailable', count: 1 },
      { endpoint: 'eloqua.upload', kind: 'reset', count: 1 },
    ]);
    const batch = Array.from({ length: 50 }, (_, index) => person(index + 1));
    const settled = await settleJob(eloqua, contextFor(), batch, SETTLE);
    expect(settled.status).toEqual({ state: 'completed', outcomes: [] });
    const stats = (await sandbox.stats()) as Awaited<ReturnType<EloquaSandbox['stats']>> & {
      faultsFired: Record<string, number>;
    };
    expect(stats.faultsFired).toEqual({
      'eloqua.upload rate_limit': 2,
      'eloqua.upload unavailable': 1,
      'eloqua.upload reset': 1,
    });
    const syncs = await sandbox.get<{ syncs: { recordCount: number }[] }>('/__sandbox/syncs');
    expect(syncs.syncs.map((sync) => sync.recordCount)).toEqual([50]);
    expect((await sandbox.get<{ count: number }>('/__sandbox/contacts/count')).count).toBe(50);
  });

  it('throws from a status check hit by 429 or 5xx (retries off), and a later check completes', async () => {
    const ctx = contextFor({}, { httpOverrides: { retries: 0, rateLimitRetries: 0 } });
    const batch = [person(1), person(2, {}, { identity: 'bad-2' })];
    const { job } = await eloqua.exportProfiles(ctx, batch);
    if (job === null) throw new Error('expected a job');
    const members = membersOf(batch, []);
    await new Promise((resolve) => setTimeout(resolve, 60));
    sandbox.setFaults([
      { endpoint: 'eloqua.syncStatus', kind: 'rate_limit', count: 1, retryAfterSeconds: 2 },
    ]);
    const limited = await eloqua.checkStatus(ctx, job, members).catch((error: unknown) => error);
    expect(limited).toBeInstanceOf(RateLimitedError);
    // Eloqua's 429 carries no header (Oracle documents none, and the sandbox sends none): the
    // wait is the HTTP client's own backoff, not the fault's 2 s.
    expect((limited as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect((limited as RateLimitedError).retryAfterMs).toBeLessThan(2000);
    // That client may hold requests for that wait; a fresh instance carries on.
    const fresh = contextFor({}, { httpOverrides: { retries: 0, rateLimitRetries: 0 } });
    sandbox.setFaults([{ endpoint: 'eloqua.rejects', kind: 'server_error', count: 1 }]);
    await expect(eloqua.checkStatus(fresh, job, members)).rejects.toBeInstanceOf(TransientError);
    expect(await eloqua.checkStatus(fresh, job, members)).toEqual({
      state: 'completed',
      outcomes: [expect.objectContaining({ profileId: 'p2', code: 'ELQ-00002' })],
    });
  });

  it('retries status checks hit by 5xx inside the HTTP client when retries are on', async () => {
    const ctx = contextFor();
    const batch = [person(1)];
    const { job } = await eloqua.exportProfiles(ctx, batch);
    if (job === null) throw new Error('expected a job');
    sandbox.setFaults([
      { endpoint: 'eloqua.syncStatus', kind: 'unavailable', count: 2 },
      { endpoint: 'eloqua.syncStatus', kind: 'rate_limit', count: 1, retryAfterSeconds: 0 },
    ]);
    const { status, stats } = await waitForJob(eloqua, ctx, job, membersOf(batch, []), SETTLE);
    expect(status).toEqual({ state: 'completed', outcomes: [] });
    expect(stats.failedChecks).toBe(0);
  });

  it('adds to and removes from lists through sync actions, one definition per set of list changes', async () => {
    const ctx = contextFor();
    const first = await settleJob(
      eloqua,
      ctx,
      [
        person(1, {}, { lists: { add: ['1001', '1002'], remove: [] } }),
        person(2, {}, { lists: { add: ['1001'], remove: [] } }),
        person(3),
      ],
      SETTLE,
    );
    expect((first.jobs[0] as EloquaHandle).syncs).toHaveLength(3);
    await settleJob(eloqua, ctx, [person(1, {}, { lists: { add: [], remove: ['1001'] } })], SETTLE);
    const held = await sandbox.read(['person1@example.com', 'person2@example.com', 'person3@example.com']);
    expect(held['person1@example.com']?.lists).toEqual(['1002']);
    expect(held['person2@example.com']?.lists).toEqual(['1001']);
    expect(held['person3@example.com']?.lists).toEqual([]);
  });

  it('reuses an idle definition for the next job and leaves a busy one alone', async () => {
    const ctx = contextFor();
    await settleJob(eloqua, ctx, [person(1)], SETTLE);
    await settleJob(eloqua, ctx, [person(2)], SETTLE);
    expect((await sandbox.stats()).requests['eloqua.definitionCreate']).toBe(1);
    // Two jobs at once: the second cannot share the first one's definition.
    const [a, b] = await Promise.all([
      eloqua.exportProfiles(ctx, [person(3)]),
      eloqua.exportProfiles(ctx, [person(4)]),
    ]);
    const defs = [a, b].map((result) => (result.job as EloquaHandle).syncs[0]?.def);
    expect(new Set(defs).size).toBe(2);
    for (const [result, batch] of [
      [a, [person(3)]],
      [b, [person(4)]],
    ] as const) {
      const { status } = await waitForJob(eloqua, ctx, result.job as JobHandle, membersOf(batch, []), SETTLE);
      expect(status).toEqual({ state: 'completed', outcomes: [] });
    }
  });

  it('with reuseDefinitions false, makes a definition per job and cleanup deletes it', async () => {
    const ctx = contextFor({ reuseDefinitions: false });
    const settled = await settleJob(eloqua, ctx, [person(1)], SETTLE);
    const job = settled.jobs[0] as EloquaHandle;
    expect(job.syncs[0]?.owned).toBe(true);
    await eloqua.cleanup?.(ctx, job);
    const { definitions } = await sandbox.get<{ definitions: unknown[] }>('/__sandbox/definitions');
    expect(definitions).toEqual([]);
    expect(await sandbox.read(['person1@example.com'])).toMatchObject({
      'person1@example.com': { fields: {} },
    });
  });

  it('verifies fields and lists against the instance, naming each problem', async () => {
    const result = await eloqua.verify(contextFor(), {
      fields: ['C_EmailAddress', 'C_FirstName', 'C_Unknown', 'C_DateModified'],
      lists: ['1001', '4242'],
    });
    expect(result.problems.map((problem) => [problem.kind, problem.subject])).toEqual([
      ['field', 'C_Unknown'],
      ['field', 'C_DateModified'],
      ['list', '4242'],
    ]);
    // The sandbox answers GET /contacts/lists/{id}, so no probe definition was made.
    const requests = (await sandbox.stats()).requests;
    expect(requests).toMatchObject({ 'eloqua.lists': 1, 'eloqua.list': 2 });
    expect(requests['eloqua.definitionCreate']).toBeUndefined();
    expect((await sandbox.get<{ definitions: unknown[] }>('/__sandbox/definitions')).definitions).toEqual([]);
  });

  it('authenticates with a bearer token, and refuses bad credentials in both /id forms', async () => {
    const bearer = contextFor({ auth: { type: 'bearer', token: 'sandbox-eloqua-token' } });
    expect(await eloqua.verify(bearer, { fields: [], lists: [] })).toEqual({ ok: true, problems: [] });
    const wrong = contextFor({ auth: { ...SANDBOX_AUTH, password: 'not-the-password' } });
    const error = (await eloqua
      .exportProfiles(wrong, [person(1)])
      .catch((thrown: unknown) => thrown)) as Error;
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).not.toContain('not-the-password');
    const strict = await startEloquaSandbox({ idAuthFailure: 'unauthorized' });
    try {
      const ctx = createContext(eloqua, {
        options: { auth: { ...SANDBOX_AUTH, password: 'not-the-password' }, loginUrl: strict.url },
      });
      await expect(eloqua.exportProfiles(ctx, [person(1)])).rejects.toBeInstanceOf(AuthError);
    } finally {
      await strict.close();
    }
  });

  it('makes four calls to submit a first job and one to find it done', async () => {
    const ctx = contextFor();
    const batch = Array.from({ length: 1000 }, (_, index) => person(index + 1));
    const { job } = await eloqua.exportProfiles(ctx, batch);
    // /id, create definition, one upload, create sync: no lookup before creating.
    expect((await sandbox.stats()).requests).toEqual({
      'eloqua.id': 1,
      'eloqua.definitionCreate': 1,
      'eloqua.upload': 1,
      'eloqua.syncCreate': 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await eloqua.checkStatus(ctx, job as JobHandle, membersOf(batch, []))).toEqual({
      state: 'completed',
      outcomes: [],
    });
    expect((await sandbox.stats()).total).toBe(5);
  });

  it('costs clear + uploads + sync + status per later job, and separate definitions for concurrent ones', async () => {
    const ctx = contextFor({ limits: { maxUploadBytes: 16 * 1024 } });
    const batchOf = (from: number) =>
      Array.from({ length: 150 }, (_, index) => person(from + index, { C_Notes1: 'n'.repeat(200) }));
    let checks = 0;
    for (const from of [1, 1001, 2001]) {
      const batch = batchOf(from);
      const { job } = await eloqua.exportProfiles(ctx, batch);
      const { status, stats } = await waitForJob(eloqua, ctx, job as JobHandle, membersOf(batch, []), SETTLE);
      expect(status).toEqual({ state: 'completed', outcomes: [] });
      checks += stats.statusChecks;
    }
    const { requests, total } = await sandbox.stats();
    expect(requests['eloqua.upload']).toBeGreaterThanOrEqual(6);
    expect(requests).toEqual({
      'eloqua.id': 1,
      'eloqua.definitionCreate': 1,
      'eloqua.uploadDelete': 2,
      'eloqua.upload': requests['eloqua.upload'],
      'eloqua.syncCreate': 3,
      'eloqua.syncStatus': checks,
    });
    expect(total).toBe(1 + 1 + 2 + (requests['eloqua.upload'] ?? 0) + 3 + checks);
    // Every job's rows were imported once, from the one definition.
    const held = await sandbox.read([
      'person1@example.com',
      'person1150@example.com',
      'person2150@example.com',
    ]);
    expect(Object.values(held).every((profile) => profile !== undefined)).toBe(true);
    expect((await sandbox.get<{ count: number }>('/__sandbox/contacts/count')).count).toBe(450);

    // Two jobs at once while the definition is idle: one reuses it, the other gets a new one.
    const [a, b] = await Promise.all([
      eloqua.exportProfiles(ctx, batchOf(3001)),
      eloqua.exportProfiles(ctx, batchOf(4001)),
    ]);
    const defs = [a, b].map((result) => (result.job as EloquaHandle).syncs[0]?.def);
    expect(new Set(defs).size).toBe(2);
    const after = (await sandbox.stats()).requests;
    expect(after['eloqua.definitionCreate']).toBe(2);
    expect(after['eloqua.uploadDelete']).toBe(3);
    expect(after['eloqua.definitionList']).toBeUndefined();
    expect(after['eloqua.syncList']).toBeUndefined();
    for (const [result, from] of [
      [a, 3001],
      [b, 4001],
    ] as const) {
      const { status } = await waitForJob(
        eloqua,
        ctx,
        result.job as JobHandle,
        membersOf(batchOf(from), []),
        SETTLE,
      );
      expect(status).toEqual({ state: 'completed', outcomes: [] });
    }
  });

  it('moves to a new definition when the reused one was deleted behind its back', async () => {
    const ctx = contextFor();
    const first = [person(1)];
    const { job } = await eloqua.exportProfiles(ctx, first);
    await waitForJob(eloqua, ctx, job as JobHandle, membersOf(first, []), SETTLE);
    const definition = (job as EloquaHandle).syncs[0]?.def ?? '';
    expect((await bulkCall('DELETE', definition)).status).toBe(204);
    const second = [person(2)];
    const again = await eloqua.exportProfiles(ctx, second);
    expect((again.job as EloquaHandle).syncs[0]?.def).not.toBe(definition);
    const { status } = await waitForJob(eloqua, ctx, again.job as JobHandle, membersOf(second, []), SETTLE);
    expect(status).toEqual({ state: 'completed', outcomes: [] });
    expect((await sandbox.stats()).requests).toMatchObject({
      'eloqua.definitionCreate': 2,
      'eloqua.uploadDelete': 1,
    });
  });
});
