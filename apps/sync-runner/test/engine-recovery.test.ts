import type { Destination, JobStatus } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startCallbackListener } from '../src/engine/callback-server.ts';
import { runSync } from '../src/engine/run-sync.ts';
import type { SyncProgress } from '../src/engine/summary.ts';
import type { StateStore } from '../src/store/state-store.ts';
import { crashAfterWrites, InjectedCrash } from './helpers/crash-after-writes.ts';
import {
  expectedNames,
  heldNames,
  type MemoryFixture,
  memoryFixture,
  people,
  recordsOf,
  statusCounts,
} from './helpers/engine-fixture.ts';

describe('runSync: retries, vanished jobs, deadlines, mirror, crashes', () => {
  let fixture: MemoryFixture;
  let store: StateStore;

  const setup = async (options: Record<string, unknown> = {}) => {
    fixture = memoryFixture(options);
    store = await fixture.open();
  };

  afterEach(async () => {
    await store?.close().catch(() => undefined);
    fixture?.dispose();
  });

  it('repacks the profiles of a job that failed as a whole (retryable) into new jobs', async () => {
    await setup({ faults: { failJobs: 1 } });
    const list = people(30);
    const summary = await runSync(fixture.request(store, recordsOf(list)));
    expect(summary.exitCode).toBe(0);
    expect(summary.destinations[0]).toMatchObject({
      exported: 30,
      retried: 20,
      rejected: 0,
      waitingRetry: 0,
    });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
    expect(await statusCounts(store)).toEqual({ exported: 30 });
  });

  it('retries retryable per-profile outcomes with their attempt count, then gives up', async () => {
    await setup();
    const flaky = new Set(['p00001', 'p00004']);
    const base = fixture.destination().plugin;
    // The vendor reports p00004 retryable every time, p00001 only once.
    let firstCompletion = true;
    const plugin: Destination = {
      ...base,
      checkStatus: async (ctx, job, members) => {
        const status = await base.checkStatus(ctx, job, members);
        if (status.state !== 'completed') return status;
        const ids = members.map((m) => m.profileId).filter((id) => flaky.has(id));
        const outcomes = ids
          .filter((id) => id === 'p00004' || firstCompletion)
          .map((profileId) => ({
            profileId,
            status: 'retryable' as const,
            message: 'busy, try later',
            retryAfterMs: 5,
          }));
        if (ids.includes('p00001')) firstCompletion = false;
        return { state: 'completed', outcomes: [...status.outcomes, ...outcomes] } satisfies JobStatus;
      },
    };
    const list = people(6);
    const summary = await runSync(
      fixture.request(store, recordsOf(list), { destination: { plugin }, settings: { maxAttempts: 3 } }),
    );
    expect(summary.destinations[0]).toMatchObject({ exported: 5, retried: 3, rejected: 1 });
    expect(summary.exitCode).toBe(2);
    const [problem] = await store.listProblems({ limit: 5 });
    expect(problem).toMatchObject({
      profileId: 'p00004',
      status: 'rejected',
      code: 'retries_exhausted',
      message: 'gave up after 3 attempts: busy, try later',
      attempts: 2,
    });
  });

  it('rejects the members of a job that keeps failing once the attempts are used up', async () => {
    await setup({ faults: { failJobs: 1000 } });
    const summary = await runSync(
      fixture.request(store, recordsOf(people(4)), { settings: { maxAttempts: 2 } }),
    );
    expect(summary.exitCode).toBe(2);
    expect(summary.destinations[0]).toMatchObject({ exported: 0, retried: 4, rejected: 4 });
    const problems = await store.listProblems({ limit: 5 });
    expect(
      problems.every(
        (p) => p.code === 'MEM-UNAVAILABLE' && p.message?.startsWith('gave up after 2 attempts'),
      ),
    ).toBe(true);
  });

  it('resubmits a job the vendor forgot (JOB_NOT_FOUND) with the same members', async () => {
    await setup({ faults: { forgetJobs: 1 } });
    const list = people(15);
    const summary = await runSync(fixture.request(store, recordsOf(list)));
    expect(summary.exitCode).toBe(0);
    expect(summary.destinations[0]).toMatchObject({
      exported: 15,
      jobsPlanned: 1,
      jobsSubmitted: 2,
      retried: 0,
    });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('retries failed status checks and rate limits without counting them as attempts', async () => {
    await setup({ faults: { failStatusChecks: 3, rateLimitCalls: 4, retryAfterMs: 5 } });
    const list = people(25);
    const summary = await runSync(fixture.request(store, recordsOf(list)));
    expect(summary.exitCode).toBe(0);
    expect(summary.destinations[0]).toMatchObject({ exported: 25, retried: 0, rejected: 0 });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('leaves a slow job at the polling deadline for the next run, which checks it without resubmitting', async () => {
    await setup({ processing: { perJobMs: 600 } });
    const list = people(10);
    const first = await runSync(
      fixture.request(store, recordsOf(list), { settings: { pollDeadlineMs: 100 } }),
    );
    expect(first.exitCode).toBe(3);
    expect(first.destinations[0]).toMatchObject({
      exported: 0,
      pending: 10,
      jobsSubmitted: 1,
      jobsSettled: 0,
    });
    expect(await store.unfinishedJobs('mem')).toMatchObject([{ state: 'submitted' }]);

    const second = await runSync(fixture.request(store, recordsOf(list)));
    expect(second.exitCode).toBe(0);
    expect(second.destinations[0]).toMatchObject({
      unchanged: 10,
      exported: 10,
      jobsSubmitted: 0,
      pending: 0,
    });
    expect(fixture.exportCalls()).toBe(1);
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('deletes profiles that left the source in mirror mode, within the safety threshold', async () => {
    await setup();
    const mirror = { destination: { mode: 'mirror' as const, maxDeleteFraction: 0.5 } };
    const list = people(10);
    await runSync(fixture.request(store, recordsOf(list), mirror));
    expect(fixture.held()).toHaveLength(10);

    const eight = list.slice(0, 8);
    const second = await runSync(fixture.request(store, recordsOf(eight), mirror));
    expect(second.exitCode).toBe(0);
    expect(second.destinations[0]).toMatchObject({
      deletesQueued: 2,
      deleted: 2,
      mirror: { confirmed: 10, absent: 2, maxDeleteFraction: 0.5, refused: false },
    });
    expect(heldNames(fixture.held())).toEqual(expectedNames(eight));
    expect(await statusCounts(store)).toEqual({ exported: 8, deleted: 2 });

    const two = list.slice(0, 2);
    const refused = await runSync(fixture.request(store, recordsOf(two), mirror));
    expect(refused.exitCode).toBe(1);
    expect(refused.destinations[0]?.mirror).toMatchObject({ confirmed: 8, absent: 6, refused: true });
    expect(refused.destinations[0]?.mirror?.reason).toContain('--force');
    expect(fixture.held()).toHaveLength(8);

    const dry = await runSync(
      fixture.request(store, recordsOf(two), { ...mirror, force: true, dryRun: true }),
    );
    expect(dry.destinations[0]).toMatchObject({ deletesQueued: 6, deleted: 0 });
    expect(fixture.held()).toHaveLength(8);

    const forced = await runSync(fixture.request(store, recordsOf(two), { ...mirror, force: true }));
    expect(forced.exitCode).toBe(0);
    expect(forced.destinations[0]).toMatchObject({ deleted: 6 });
    expect(heldNames(fixture.held())).toEqual(expectedNames(two));

    // A profile that comes back is created again.
    const back = await runSync(fixture.request(store, recordsOf(list.slice(0, 3)), mirror));
    expect(back.destinations[0]).toMatchObject({ queued: 1, exported: 1, deleted: 0 });
  });

  it('never deletes in upsert mode, nor when rows without a readable id may hide profiles', async () => {
    await setup();
    const list = people(10);
    await runSync(fixture.request(store, recordsOf(list)));
    const upsert = await runSync(fixture.request(store, recordsOf(list.slice(0, 9))));
    expect(upsert.destinations[0]?.deleted).toBe(0);
    expect(upsert.destinations[0]?.mirror).toBeUndefined();

    const items = [
      ...recordsOf(list.slice(0, 9)),
      { kind: 'bad' as const, row: 40, line: 40, reason: 'the id column is empty' },
    ];
    const mirrored = await runSync(fixture.request(store, items, { destination: { mode: 'mirror' } }));
    expect(mirrored.exitCode).toBe(1);
    expect(mirrored.destinations[0]?.mirror?.reason).toContain('no readable id');
    expect(fixture.held()).toHaveLength(10);
  });

  it('stops gracefully when aborted, and the next run finishes the work', async () => {
    await setup({ processing: { perJobMs: 100 } });
    const list = people(60);
    const controller = new AbortController();
    const onProgress = (progress: SyncProgress) => {
      if ((progress.destinations[0]?.jobsSubmitted ?? 0) >= 1) controller.abort();
    };
    const first = await runSync(
      fixture.request(store, recordsOf(list), { signal: controller.signal, onProgress }),
    );
    expect(first.status).toBe('aborted');
    expect(first.exitCode).toBe(3);
    expect(first.destinations[0]?.exported).toBeLessThan(60);
    expect((await store.listRuns(1))[0]?.status).toBe('aborted');

    const second = await runSync(fixture.request(store, recordsOf(list)));
    expect(second.exitCode).toBe(0);
    expect(await statusCounts(store)).toEqual({ exported: 60 });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('checks a job at once when its callback arrives with the right token', async () => {
    await setup({ processing: { perJobMs: 20 } });
    const listener = await startCallbackListener({
      publicUrl: 'http://127.0.0.1:0/ferry/callbacks',
      host: '127.0.0.1',
    });
    try {
      const urls: string[] = [];
      const base = fixture.destination().plugin;
      const plugin: Destination = {
        ...base,
        capabilities: { ...base.capabilities, callbacks: true },
        exportProfiles: async (ctx, batch) => {
          if (ctx.callbackUrl !== undefined) urls.push(ctx.callbackUrl);
          return base.exportProfiles(ctx, batch);
        },
      };
      const started = Date.now();
      const sync = runSync(
        fixture.request(store, recordsOf(people(5)), {
          destination: { plugin },
          callbacks: listener,
          settings: { firstCheckDelayMs: 60_000 },
        }),
      );
      while (urls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const url = new URL(urls[0]!);
      expect(url.pathname).toMatch(/^\/ferry\/callbacks\/job_[^/]+\/[A-Za-z0-9_-]{32}$/);
      const wrongToken = new URL(url);
      wrongToken.pathname = url.pathname.replace(/[^/]+$/, 'x'.repeat(32));
      expect((await fetch(wrongToken, { method: 'POST' })).status).toBe(403);
      const unknownJob = new URL(url);
      unknownJob.pathname = '/ferry/callbacks/job_nope/abc';
      expect((await fetch(unknownJob, { method: 'POST' })).status).toBe(404);
      expect((await fetch(new URL('/elsewhere', url), { method: 'POST' })).status).toBe(404);

      await new Promise((resolve) => setTimeout(resolve, 40));
      expect((await fetch(url, { method: 'POST', body: '{"status":"whatever"}' })).status).toBe(204);
      const summary = await sync;
      expect(summary.exitCode).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Settled: the job no longer accepts callbacks.
      expect((await fetch(url, { method: 'POST' })).status).toBe(404);
    } finally {
      await listener.close();
    }
  });
});

describe('crash safety', () => {
  const list = people(30);
  // Later values for a few profiles, as if the source changed between the crash and the restart.
  const latest = list.map((person, index) =>
    index % 7 === 0 ? { ...person, firstName: `${person.firstName}-new` } : person,
  );
  const options = { limits: { maxProfilesPerJob: 10, maxJobsInFlight: 2 }, processing: { perJobMs: 5 } };

  const countWrites = async (): Promise<number> => {
    const fixture = memoryFixture(options);
    const store = await fixture.open();
    try {
      const counting = crashAfterWrites(store, Number.POSITIVE_INFINITY);
      const summary = await runSync(fixture.request(counting.store, recordsOf(list)));
      expect(summary.exitCode).toBe(0);
      return counting.writes();
    } finally {
      await store.close();
      fixture.dispose();
    }
  };

  it('loses nothing when the process dies before any store write, and a restart finishes the sync', async () => {
    const total = await countWrites();
    expect(total).toBeGreaterThan(15);
    for (let limit = 0; limit < total; limit += 1) {
      const fixture = memoryFixture(options);
      try {
        const crashing = await fixture.open();
        const crash = crashAfterWrites(crashing, limit);
        const outcome = await runSync(fixture.request(crash.store, recordsOf(list))).then(
          () => 'finished' as const,
          (error: unknown) => error,
        );
        if (outcome === 'finished') {
          // Status checks depend on timing, so a run can make fewer writes than the counting run
          // did: then the crash point lies past its end, which is only fine if it really does.
          expect(crash.crashed(), `crash after ${limit} writes`).toBe(false);
          expect(crash.writes(), `a run that finished made at most ${limit} writes`).toBeLessThanOrEqual(
            limit,
          );
        } else {
          expect(outcome, `crash after ${limit} writes`).toBeInstanceOf(InjectedCrash);
        }
        await crashing.close();

        const store = await fixture.open();
        try {
          const summary = await runSync(fixture.request(store, recordsOf(latest)));
          expect(summary.exitCode, `restart after a crash at write ${limit}`).toBe(0);
          // Every profile has exactly one final state, and the vendor holds the latest values.
          expect(await statusCounts(store)).toEqual({ exported: 30 });
          expect(await store.unfinishedJobs('mem')).toEqual([]);
          expect(heldNames(fixture.held())).toEqual(expectedNames(latest));
          const again = await runSync(fixture.request(store, recordsOf(latest)));
          expect(again.destinations[0]).toMatchObject({ unchanged: 30, queued: 0, jobsSubmitted: 0 });
        } finally {
          await store.close();
        }
      } finally {
        fixture.dispose();
      }
    }
  }, 120_000);
});
