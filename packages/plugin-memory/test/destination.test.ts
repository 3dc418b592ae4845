import {
  AuthError,
  createContext,
  JOB_NOT_FOUND,
  PermanentError,
  type ProfileChange,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import { membersOf, settleJob } from '@ferry/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { memory, readMemoryProfiles, readMemoryStore, resetMemoryStore } from '../src/index.ts';

const SECRET = 'Zq9-very-secret-key';
let counter = 0;
const namespace = () => `destination-test-${++counter}`;
const used: string[] = [];
afterEach(() => {
  for (const ns of used.splice(0)) resetMemoryStore(ns);
});

const contextFor = (ns: string, extra: Record<string, unknown> = {}) => {
  used.push(ns);
  return createContext(memory, {
    options: { namespace: ns, apiKey: SECRET, processing: { perJobMs: 5 }, ...extra },
  });
};

const change = (n: number, email = `user${n}@example.com`): ProfileChange => ({
  kind: 'upsert',
  profileId: `p${n}`,
  identity: email,
  fields: { email, name: `User ${n}` },
});

describe('exportProfiles and checkStatus', () => {
  it('is pending until the processing time passed, with a hint and progress, and reading does not advance it', async () => {
    const ctx = contextFor(namespace(), { processing: { perJobMs: 300 } });
    const batch = [change(1), change(2)];
    const { job } = await memory.exportProfiles(ctx, batch);
    if (job === null) throw new Error('expected a job');
    const first = await memory.checkStatus(ctx, job, membersOf(batch, []));
    const second = await memory.checkStatus(ctx, job, membersOf(batch, []));
    expect(first).toMatchObject({ state: 'pending', progress: { total: 2 } });
    expect(second.state).toBe('pending');
    if (first.state === 'pending') expect(first.checkAfterMs).toBeLessThanOrEqual(300);
    expect(
      readMemoryProfiles(ctx.options.namespace, ['user1@example.com'])['user1@example.com'],
    ).toBeUndefined();
  });

  it('maps the vendor rows back through members, and holds the rest', async () => {
    const ctx = contextFor(namespace());
    const batch = [change(1), change(2, 'broken'), change(3)];
    const settled = await settleJob(memory, ctx, batch);
    expect(settled.outcomes).toEqual([
      {
        profileId: 'p2',
        status: 'rejected',
        code: 'MEM-EMAIL',
        message: 'invalid e-mail address: broken',
        field: 'email',
      },
    ]);
    const held = readMemoryProfiles(ctx.options.namespace, [
      'USER1@example.com',
      'user3@example.com',
      'broken',
    ]);
    expect(held['USER1@example.com']?.fields).toEqual({ email: 'user1@example.com', name: 'User 1' });
    expect(held['user3@example.com']).toBeDefined();
    expect(held.broken).toBeUndefined();
  });

  it('clears a field sent as null', async () => {
    const ctx = contextFor(namespace());
    await settleJob(memory, ctx, [change(1)]);
    await settleJob(memory, ctx, [{ ...change(1), fields: { name: null } } as ProfileChange]);
    expect(
      readMemoryProfiles(ctx.options.namespace, ['user1@example.com'])['user1@example.com']?.fields,
    ).toEqual({
      email: 'user1@example.com',
    });
  });

  it('reports a members mismatch as a retryable failure instead of guessing', async () => {
    const ctx = contextFor(namespace());
    const batch = [change(1), change(2)];
    const { job } = await memory.exportProfiles(ctx, batch);
    if (job === null) throw new Error('expected a job');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const status = await memory.checkStatus(ctx, job, membersOf(batch, []).slice(1));
    expect(status).toMatchObject({ state: 'failed', retryable: true, code: 'members_mismatch' });
  });

  it('refuses a batch over its declared limits (the runner packs by measure, so this is a bug)', async () => {
    const ctx = contextFor(namespace(), { limits: { maxProfilesPerJob: 1 } });
    await expect(memory.exportProfiles(ctx, [change(1), change(2)])).rejects.toBeInstanceOf(PermanentError);
  });

  it('refuses a handle it did not make', async () => {
    const ctx = contextFor(namespace());
    await expect(memory.checkStatus(ctx, { jobId: 42 }, [])).rejects.toBeInstanceOf(PermanentError);
  });

  it('cleanup drops the import at the vendor but not the contacts', async () => {
    const ctx = contextFor(namespace());
    const settled = await settleJob(memory, ctx, [change(1)]);
    const job = settled.jobs[0];
    if (job === undefined) throw new Error('expected a job');
    await memory.cleanup?.(ctx, job);
    await memory.cleanup?.(ctx, job); // a second cleanup is harmless
    expect(readMemoryStore(ctx.options.namespace).imports).toEqual([]);
    expect(await memory.checkStatus(ctx, job, settled.members)).toMatchObject({ code: JOB_NOT_FOUND });
    expect(readMemoryStore(ctx.options.namespace).contacts).toHaveLength(1);
  });
});

describe('faults configured by options', () => {
  it('forgetJobs: the first job is unknown, the resubmission completes', async () => {
    const ctx = contextFor(namespace(), { faults: { forgetJobs: 1 } });
    const events: string[] = [];
    const settled = await settleJob(memory, ctx, [change(1)], {
      onEvent: (event) => events.push(event.type),
    });
    expect(settled.status).toEqual({ state: 'completed', outcomes: [] });
    expect(settled.stats.submissions).toBe(2);
    expect(events).toContain('resubmit');
  });

  it('failJobs: the first job fails retryably, the resubmission completes', async () => {
    const ctx = contextFor(namespace(), { faults: { failJobs: 1 } });
    const settled = await settleJob(memory, ctx, [change(1)]);
    expect(settled.stats.failedJobs).toBe(1);
    expect(settled.status?.state).toBe('completed');
  });

  it('rateLimitCalls: calls throw RateLimitedError with the Retry-After, then succeed', async () => {
    const ctx = contextFor(namespace(), { faults: { rateLimitCalls: 2, retryAfterMs: 7 } });
    const error = await memory.exportProfiles(ctx, [change(1)]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(7);
    const settled = await settleJob(memory, ctx, [change(1)]);
    expect(settled.stats.rateLimitedWaits).toBe(1);
    expect(settled.status?.state).toBe('completed');
  });

  it('failStatusChecks: the first checks of every job throw TransientError; a fresh instance sees the same vendor', async () => {
    const ns = namespace();
    const ctx = contextFor(ns, { faults: { failStatusChecks: 1 } });
    const { job } = await memory.exportProfiles(ctx, [change(1)]);
    if (job === null) throw new Error('expected a job');
    await expect(memory.checkStatus(ctx, job, membersOf([change(1)], []))).rejects.toBeInstanceOf(
      TransientError,
    );
    const fresh = contextFor(ns, { faults: { failStatusChecks: 1 } });
    await expect(memory.checkStatus(fresh, job, membersOf([change(1)], []))).resolves.toBeDefined();
  });
});

describe('verify and auth', () => {
  it('passes with an accepted key and valid names', async () => {
    const ctx = contextFor(namespace());
    await expect(
      memory.verify(ctx, { fields: ['email', 'first_name'], lists: ['news-2024'] }),
    ).resolves.toEqual({
      ok: true,
      problems: [],
    });
  });

  it('reports a refused key, bad field names and bad list ids, without printing the key', async () => {
    const ns = namespace();
    resetMemoryStore(ns, { apiKey: 'the-right-key' });
    const ctx = contextFor(ns);
    const result = await memory.verify(ctx, { fields: ['email', '1st name'], lists: ['ok', 'not ok!'] });
    expect(result.ok).toBe(false);
    expect(result.problems.map((problem) => [problem.kind, problem.subject])).toEqual([
      ['auth', 'apiKey'],
      ['field', '1st name'],
      ['list', 'not ok!'],
    ]);
    expect(JSON.stringify(result)).not.toContain(SECRET);
  });

  it('throws AuthError from the job methods when the key is refused', async () => {
    const ns = namespace();
    resetMemoryStore(ns, { apiKey: 'the-right-key' });
    const error = await memory.exportProfiles(contextFor(ns), [change(1)]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(AuthError);
    expect(String((error as Error).message)).not.toContain(SECRET);
  });
});
