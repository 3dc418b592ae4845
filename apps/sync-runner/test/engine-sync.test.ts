import { silentLogger } from '@ferry/core';
import { afterEach, describe, expect, it } from 'vitest';
import { runSync } from '../src/engine/run-sync.ts';
import type { StateStore } from '../src/store/state-store.ts';
import {
  expectedNames,
  heldNames,
  type MemoryFixture,
  memoryFixture,
  people,
  recordsOf,
  statusCounts,
} from './helpers/engine-fixture.ts';

describe('runSync with the memory destination', () => {
  let fixture: MemoryFixture;
  let store: StateStore;

  const setup = async (options: Record<string, unknown> = {}) => {
    fixture = memoryFixture(options);
    store = await fixture.open();
  };

  afterEach(async () => {
    await store?.close();
    fixture?.dispose();
  });

  it('exports every profile on the first sync, in jobs within the limits', async () => {
    await setup();
    const list = people(95);
    const summary = await runSync(fixture.request(store, recordsOf(list)));
    expect(summary).toMatchObject({ status: 'completed', exitCode: 0, dryRun: false });
    expect(summary.source).toEqual({ rows: 95, records: 95, badRows: 0, duplicates: 0 });
    const [mem] = summary.destinations;
    expect(mem).toMatchObject({
      destination: 'mem',
      plugin: 'memory',
      considered: 95,
      queued: 95,
      exported: 95,
    });
    expect(mem).toMatchObject({
      jobsPlanned: 5,
      jobsSubmitted: 5,
      jobsSettled: 5,
      jobsInFlight: 0,
      pending: 0,
      rejected: 0,
    });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
    expect(await statusCounts(store)).toEqual({ exported: 95 });
    expect(await store.unfinishedJobs('mem')).toEqual([]);
    const [run] = await store.listRuns(1);
    expect(run).toMatchObject({ id: summary.runId, status: 'completed', summary: { exitCode: 0 } });
  });

  it('streams jobs larger than a store page through the store, in order, losing nothing', async () => {
    // 2,600 profiles in jobs of 1,200: each job is written in pages of 1,000 while it fills and read
    // back page by page for submission, so a job is never held in memory.
    await setup({ limits: { maxProfilesPerJob: 1200, maxJobsInFlight: 1 } });
    const list = people(2600);
    const summary = await runSync(fixture.request(store, recordsOf(list)));
    expect(summary.destinations[0]).toMatchObject({ exported: 2600, jobsPlanned: 3, jobsSettled: 3 });
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
    expect(await statusCounts(store)).toEqual({ exported: 2600 });
    expect(await store.unfinishedJobs('mem')).toEqual([]);
  });

  it('makes zero export calls when nothing changed, and sends only what changed', async () => {
    await setup();
    const list = people(60);
    await runSync(fixture.request(store, recordsOf(list)));
    const exportsAfterFirst = fixture.exportCalls();

    const again = await runSync(fixture.request(store, recordsOf(list)));
    expect(again.exitCode).toBe(0);
    expect(again.destinations[0]).toMatchObject({
      unchanged: 60,
      queued: 0,
      jobsSubmitted: 0,
      statusChecks: 0,
    });
    expect(fixture.exportCalls()).toBe(exportsAfterFirst);

    const changed = list.map((person, index) =>
      index % 20 === 3 ? { ...person, firstName: `${person.firstName}-v2` } : person,
    );
    const third = await runSync(fixture.request(store, recordsOf(changed)));
    expect(third.destinations[0]).toMatchObject({ unchanged: 57, queued: 3, exported: 3, jobsSubmitted: 1 });
    expect(fixture.exportCalls()).toBe(exportsAfterFirst + 1);
    expect(heldNames(fixture.held())).toEqual(expectedNames(changed));

    const full = await runSync(fixture.request(store, recordsOf(changed), { full: true }));
    expect(full.destinations[0]).toMatchObject({ queued: 60, exported: 60 });
  });

  it('records rejects with the vendor code, message and field, and exits 2', async () => {
    await setup({ validation: { maxFieldLength: 30 } });
    const list = people(10);
    const items = recordsOf([
      ...list.slice(0, 7),
      { ...list[7]!, email: 'not-an-email' },
      { ...list[8]!, firstName: 'x'.repeat(40) },
      { ...list[9]!, email: '' },
    ]);
    const summary = await runSync(fixture.request(store, items));
    expect(summary.exitCode).toBe(2);
    expect(summary.destinations[0]).toMatchObject({ exported: 7, rejected: 3 });
    const problems = await store.listProblems({ limit: 10 });
    expect(
      problems.map(({ profileId, status, code, field }) => ({ profileId, status, code, field })),
    ).toEqual([
      { profileId: 'p00007', status: 'rejected', code: 'MEM-EMAIL', field: 'email' },
      { profileId: 'p00008', status: 'rejected', code: 'oversized', field: 'firstName' },
      { profileId: 'p00009', status: 'rejected', code: 'invalid_value', field: 'email' },
    ]);
    expect(problems[0]?.message).toContain('invalid e-mail address');
    expect(problems[2]?.message).toBe('row 11: email is empty');

    // Unchanged rejects are not sent again, but still make the run exit 2.
    const exports = fixture.exportCalls();
    const again = await runSync(fixture.request(store, items));
    expect(fixture.exportCalls()).toBe(exports);
    expect(again.destinations[0]).toMatchObject({ queued: 0, stillRejected: 2, rejected: 1 });
    expect(again.exitCode).toBe(2);

    // `ferry retry` clears them: the next sync sends them again.
    expect(await store.requeueProblems(undefined, Date.now())).toEqual({ rejected: 3, waiting: 0 });
    const retried = await runSync(fixture.request(store, items));
    expect(retried.destinations[0]).toMatchObject({ queued: 2, rejected: 3 });
  });

  it('reports bad rows and duplicate ids by row, and exports the rest', async () => {
    await setup();
    const list = people(5);
    const items = [
      ...recordsOf(list),
      { kind: 'bad' as const, row: 7, line: 7, reason: 'expected 4 columns, found 3' },
      {
        kind: 'record' as const,
        row: 8,
        line: 8,
        id: 'p00001',
        record: { id: 'p00001', email: 'dup@example.com', first_name: 'Dup', city: null },
      },
    ];
    const summary = await runSync(fixture.request(store, items));
    expect(summary.source).toEqual({ rows: 7, records: 5, badRows: 2, duplicates: 1 });
    expect(summary.exitCode).toBe(2);
    expect(summary.destinations[0]?.exported).toBe(5);
    expect(await store.listBadRows(summary.runId, 0, 10)).toEqual([
      { row: 7, reason: 'expected 4 columns, found 3' },
      {
        row: 8,
        profileId: 'p00001',
        reason: 'duplicate id "p00001": an earlier row has the same id; only the first one is synced',
      },
    ]);
    expect(heldNames(fixture.held())).toEqual(expectedNames(list));
  });

  it('detects duplicates across chunks with the store, not in memory', async () => {
    await setup();
    const list = people(120);
    const summary = await runSync(
      fixture.request(store, recordsOf([...list, list[3]!, list[100]!]), { settings: { chunkSize: 10 } }),
    );
    expect(summary.source.duplicates).toBe(2);
    expect(summary.destinations[0]?.exported).toBe(120);
  });

  it('counts what a dry run would send, and sends and records nothing', async () => {
    await setup();
    const list = people(45);
    const summary = await runSync(fixture.request(store, recordsOf(list), { dryRun: true }));
    expect(summary).toMatchObject({ dryRun: true, exitCode: 0 });
    expect(summary.destinations[0]).toMatchObject({
      queued: 45,
      jobsPlanned: 3,
      jobsSubmitted: 0,
      exported: 0,
    });
    expect(fixture.exportCalls()).toBe(0);
    expect(await statusCounts(store)).toEqual({});
  });

  it('waits for a destination another run is syncing, says so, then syncs it', async () => {
    await setup({ processing: { perJobMs: 200 } });
    const first = runSync(fixture.request(store, recordsOf(people(5))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) };
    const second = await runSync(fixture.request(store, recordsOf(people(8)), { logger }));
    expect((await first).exitCode).toBe(0);
    expect(
      warnings.some((line) =>
        /\[mem\] waiting: ferry process \d+ on .* is syncing this destination/.test(line),
      ),
    ).toBe(true);
    // It ran after the first one: the five it sent are unchanged, the three new ones go.
    expect(second.destinations[0]).toMatchObject({ unchanged: 5, queued: 3, exported: 3 });
    expect(fixture.exportCalls()).toBe(2);
  });

  it('gives up on a busy destination after destinationWaitMs, naming who holds it', async () => {
    await setup({ processing: { perJobMs: 300 } });
    const first = runSync(fixture.request(store, recordsOf(people(5))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(
      runSync(fixture.request(store, recordsOf(people(5)), { settings: { destinationWaitMs: 100 } })),
    ).rejects.toThrow(/destination mem is busy: ferry process \d+ on .* \(run_/);
    expect((await first).exitCode).toBe(0);
  });

  it('stops when the source fails, keeps what was read, and exits 1', async () => {
    await setup();
    const list = people(30);
    async function* broken() {
      yield* recordsOf(list);
      throw new Error('[ferry] [source] people.csv: cannot read CSV after row 31: unclosed quote');
    }
    const summary = await runSync(
      fixture.request(store, [], { source: broken(), settings: { chunkSize: 10 } }),
    );
    expect(summary).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(summary.error).toContain('unclosed quote');
    expect(summary.destinations[0]?.exported).toBe(30);
  });

  it('reports a destination whose options are invalid without sending anything', async () => {
    await setup();
    const summary = await runSync(
      fixture.request(store, recordsOf(people(3)), { destination: { options: { apiKey: 'short' } } }),
    );
    expect(summary.exitCode).toBe(1);
    expect(summary.destinations[0]?.error).toContain('apiKey');
    expect(summary.destinations[0]?.error).not.toContain('short');
  });
});
