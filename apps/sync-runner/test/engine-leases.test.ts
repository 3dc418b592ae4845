import { type Destination, silentLogger } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine/engine.ts';
import { runSync } from '../src/engine/run-sync.ts';
import type { StateStore } from '../src/store/state-store.ts';
import {
  expectedNames,
  heldNames,
  type MemoryFixture,
  memoryFixture,
  people,
  recordsOf,
  sourceOf,
  statusCounts,
} from './helpers/engine-fixture.ts';

/*
 * Leases in the engine: a step whose lease was taken over commits nothing and leaves the job to its
 * new holder; a run the engine drives is recorded before startRun returns.
 */

describe('engine leases and the library face', () => {
  let fixture: MemoryFixture;
  let store: StateStore;
  afterEach(async () => {
    await store?.close().catch(() => undefined);
    fixture?.dispose();
  });

  it('a submit whose job lease was taken over cannot record its handle; the job is finished later', async () => {
    fixture = memoryFixture({ limits: { maxProfilesPerJob: 100, maxJobsInFlight: 1 } });
    store = await fixture.open();
    const base = fixture.destination().plugin;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let exports = 0;
    const plugin: Destination = {
      ...base,
      exportProfiles: async (ctx, batch) => {
        exports += 1;
        // The first submission stalls (a GC pause, a hung network) while another process takes over.
        if (exports === 1) await gate;
        return base.exportProfiles(ctx, batch);
      },
    };
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    const list = people(12);
    const sync = runSync(fixture.request(store, recordsOf(list), { destination: { plugin }, logger }));

    let jobId: string | undefined;
    while (jobId === undefined) {
      jobId = (await store.unfinishedJobs('mem'))[0]?.id;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    let held = await store.readLease(`job:${jobId}`);
    while (held === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      held = await store.readLease(`job:${jobId}`);
    }
    // Another process presumes the holder dead and takes the job over.
    const thief = await store.claimLease({
      key: `job:${jobId}`,
      owner: 'elsewhere:1:run_other',
      at: Date.now(),
      ttlMs: 60_000,
      replacing: held.token,
    });
    expect(thief?.token).toBe(held.token + 1);
    release();

    const summary = await sync;
    // The vendor got the job, but the handle was never recorded: the profiles are still pending.
    expect(summary.exitCode).toBe(3);
    expect(summary.destinations[0]).toMatchObject({ exported: 0, pending: 12 });
    expect(warnings.some((line) => line.includes(`lease on job:${jobId} was lost`))).toBe(true);
    expect(await store.getJob(jobId)).toMatchObject({ state: 'submitting', handle: null });

    // The new holder goes away; the next run finishes the job (at least once: it is resubmitted).
    await store.releaseLease(thief!);
    const next = await runSync(fixture.request(store, recordsOf(list), { destination: { plugin } }));
    expect(next.exitCode).toBe(0);
    expect(await statusCounts(store)).toEqual({ exported: 12 });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('keeps checking the other jobs in flight when one is left for the next run', async () => {
    fixture = memoryFixture({
      limits: { maxProfilesPerJob: 10, maxJobsInFlight: 2 },
      processing: { perJobMs: 200 },
    });
    store = await fixture.open();
    const base = fixture.destination().plugin;
    let first: unknown;
    const plugin: Destination = {
      ...base,
      exportProfiles: async (ctx, batch) => {
        const result = await base.exportProfiles(ctx, batch);
        first ??= result.job;
        return result;
      },
      // The first job's checks keep failing with an error that is neither transient nor a rate
      // limit: after maxCheckErrors it is left for the next run, and nothing more is planned.
      checkStatus: async (ctx, job, members) => {
        if (job === first || JSON.stringify(job) === JSON.stringify(first))
          throw new Error('status page broken');
        return base.checkStatus(ctx, job, members);
      },
    };
    const summary = await runSync(
      fixture.request(store, recordsOf(people(20)), {
        destination: { plugin },
        settings: { maxCheckErrors: 3, maxCheckIntervalMs: 10 },
      }),
    );
    // The second job, still at the vendor when the first was left, was checked to the end.
    expect(summary.exitCode).toBe(3);
    expect(summary.destinations[0]).toMatchObject({ exported: 10, pending: 10, jobsSettled: 1 });
  });

  it('startRun returns once the run is recorded; waitForRun, events and read models follow it', async () => {
    fixture = memoryFixture({ processing: { perJobMs: 60 } });
    store = await fixture.open();
    const engine = openEngine({ store, destinations: [fixture.destination()] });
    try {
      const { runId } = await engine.startRun({ source: sourceOf(recordsOf(people(30))) });
      // Durable before anything was sent.
      expect(await engine.runs.get(runId)).toMatchObject({ id: runId, status: 'running' });
      const seen: string[] = [];
      for await (const event of engine.events(runId)) {
        if (seen.at(-1) !== event.type) seen.push(event.type);
      }
      expect(seen[0]).toBe('progress');
      expect(seen).toContain('phase');
      expect(seen.at(-1)).toBe('finished');
      const summary = await engine.waitForRun(runId);
      expect(summary).toMatchObject({ runId, status: 'completed', exitCode: 0 });
      expect(summary.destinations[0]).toMatchObject({ exported: 30, jobsSettled: 2 });
      expect(await engine.runs.get(runId)).toMatchObject({ status: 'completed', summary: { runId } });
      expect((await engine.runs.jobs(runId)).map((job) => job.state)).toEqual(['settled', 'settled']);
      expect(await engine.runs.list(5, { status: 'completed' })).toHaveLength(1);
      // A finished run's events end at once with its summary.
      const again: string[] = [];
      for await (const event of engine.events(runId)) again.push(event.type);
      expect(again).toEqual(['finished']);
    } finally {
      await engine.close();
    }
  });

  it('cancels a run it drives: the run ends aborted, its jobs are left for the next run', async () => {
    fixture = memoryFixture({ processing: { perJobMs: 300 } });
    store = await fixture.open();
    const engine = openEngine({ store, destinations: [fixture.destination()] });
    try {
      const list = people(20);
      const { runId } = await engine.startRun({ source: sourceOf(recordsOf(list)) });
      const stop = engine.subscribe(runId, (event) => {
        if (event.type === 'progress' && event.progress.destinations[0]!.jobsSubmitted >= 1)
          void engine.cancelRun(runId);
      });
      const summary = await engine.waitForRun(runId);
      stop();
      expect(summary).toMatchObject({ status: 'aborted', exitCode: 3 });
      expect((await engine.runs.get(runId))?.status).toBe('aborted');
      await expect(engine.waitForRun('run_nope')).rejects.toThrow(/no run "run_nope"/);
    } finally {
      await engine.close();
    }
    const next = await runSync(fixture.request(store, recordsOf(people(20))));
    expect(next.exitCode).toBe(0);
    expect(await statusCounts(store)).toEqual({ exported: 20 });
  });
});
