import { randomBytes } from 'node:crypto';
import { silentLogger, systemClock } from '@ferry/core';
import type { SourceItem, SourceRecordItem } from '../source/types.ts';
import type { BadRow } from '../store/state-store.ts';
import { createDestinationLane, type DestinationLane } from './destination-lane.ts';
import { acquireRunLock } from './run-lock.ts';
import { defaultEngineSettings, type EngineSettings } from './settings.ts';
import {
  exitCodeOf,
  newSourceCounters,
  type RunSummary,
  type SourceCounters,
  type SyncProgress,
} from './summary.ts';
import type { SyncRequest } from './types.ts';

/*
 * A run: read the source once, in chunks; for each chunk, one store round trip finds duplicate ids,
 * then every destination lane diffs and queues its changes. The lanes submit, check and settle on
 * their own; the reader only waits when a lane has no free job slot. When the source ends, the lanes
 * finish (mirror deletes, retries, waiting for their jobs) and the run is summarised.
 */

export const newRunId = (at: number): string =>
  `run_${new Date(at).toISOString().replace(/[-:.]/g, '')}_${randomBytes(3).toString('hex')}`;

/** A problem reading the source, kept apart from store or engine failures, which are thrown. */
class SourceFailure {
  readonly message: string;
  constructor(cause: unknown) {
    this.message = cause instanceof Error ? cause.message : String(cause);
  }
}

/**
 * Regroups the source into chunks of `size` items (the last one may be smaller); a source error ends
 * the chunks with what was read before it, then a SourceFailure. The source gives items one by one or
 * in arrays, as `readSource` does (one per chunk read).
 */
async function* chunksOf(
  source: AsyncIterable<SourceItem | readonly SourceItem[]>,
  size: number,
): AsyncGenerator<SourceItem[] | SourceFailure, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let chunk: SourceItem[] = [];
  try {
    for (;;) {
      let next: IteratorResult<SourceItem | readonly SourceItem[]>;
      try {
        next = await iterator.next();
      } catch (cause) {
        if (chunk.length > 0) yield chunk;
        yield new SourceFailure(cause);
        return;
      }
      if (next.done === true) break;
      // (`Array.isArray` does not narrow readonly arrays.)
      const items = Array.isArray(next.value)
        ? (next.value as readonly SourceItem[])
        : [next.value as SourceItem];
      for (const item of items) {
        chunk.push(item);
        if (chunk.length >= size) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    // Stopped early (Ctrl-C, every destination failed): let the source close its file.
    await iterator.return?.();
  }
}

const duplicateReason = (id: string): string =>
  `duplicate id ${JSON.stringify(id)}: an earlier row has the same id; only the first one is synced`;

interface ReadResult {
  /** Every row was read. */
  readonly complete: boolean;
  /** Why the source could not be read to the end, when it could not. */
  readonly error?: string;
  /** Bad rows without a readable id: any profile could hide behind them (mirror mode refuses). */
  readonly rowsWithoutId: number;
}

/**
 * Reads the source in chunks: one store round trip per chunk records the ids and finds duplicates,
 * bad rows are recorded, and the readable records go to every lane still taking work.
 */
const readSourceInto = async (
  request: SyncRequest,
  context: {
    readonly runId: string;
    readonly lanes: readonly DestinationLane[];
    readonly source: SourceCounters;
    readonly chunkSize: number;
    readonly signal: AbortSignal;
    readonly onProgress: () => void;
  },
): Promise<ReadResult> => {
  const { store } = request;
  const { runId, lanes, source, signal } = context;
  const dryRun = request.dryRun ?? false;
  let rowsWithoutId = 0;
  for await (const chunk of chunksOf(request.source, context.chunkSize)) {
    if (chunk instanceof SourceFailure) {
      return signal.aborted
        ? { complete: false, rowsWithoutId }
        : { complete: false, error: chunk.message, rowsWithoutId };
    }
    if (signal.aborted || !lanes.some((lane) => lane.accepting())) return { complete: false, rowsWithoutId };
    const ids: string[] = [];
    for (const item of chunk) if (item.id !== undefined) ids.push(item.id);
    const earlier = await store.markSeen(runId, ids);
    const inChunk = new Set<string>();
    const records: SourceRecordItem[] = [];
    const bad: BadRow[] = [];
    for (const item of chunk) {
      source.rows += 1;
      if (item.kind === 'bad') {
        if (item.id === undefined) rowsWithoutId += 1;
        else inChunk.add(item.id);
        bad.push(
          item.id === undefined
            ? { row: item.row, reason: item.reason }
            : { row: item.row, profileId: item.id, reason: item.reason },
        );
        continue;
      }
      if (earlier.has(item.id) || inChunk.has(item.id)) {
        source.duplicates += 1;
        bad.push({ row: item.row, profileId: item.id, reason: duplicateReason(item.id) });
        continue;
      }
      inChunk.add(item.id);
      records.push(item);
    }
    source.records += records.length;
    source.badRows += bad.length;
    if (bad.length > 0 && !dryRun) await store.addBadRows(runId, bad);
    await Promise.all(lanes.filter((lane) => lane.accepting()).map((lane) => lane.offer(records)));
    context.onProgress();
    // node:sqlite answers synchronously, so without this a fast source would run the whole read in
    // microtasks and starve timers and sockets: the jobs' HTTP calls and status checks.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { complete: !signal.aborted, rowsWithoutId };
};

/**
 * Runs one sync and returns its summary. Throws only when the run cannot be recorded at all (the
 * store failed, or another sync holds it); every other problem is in the summary and its exit code.
 */
export const runSync = async (request: SyncRequest): Promise<RunSummary> => {
  const settings: EngineSettings = { ...defaultEngineSettings, ...request.settings };
  const clock = request.clock ?? systemClock;
  const logger = request.logger ?? silentLogger;
  // Aborted by the caller (Ctrl-C), or by the run itself when the store fails under it.
  const halt = new AbortController();
  const signal = request.signal === undefined ? halt.signal : AbortSignal.any([request.signal, halt.signal]);
  const dryRun = request.dryRun ?? false;
  const { store } = request;
  const startedAt = clock.now();
  const runId = newRunId(startedAt);
  const source = newSourceCounters();
  const lanes: DestinationLane[] = [];
  let phase: SyncProgress['phase'] = 'reading';
  const progress = (): void => {
    request.onProgress?.({ runId, source, destinations: lanes.map((lane) => lane.counters), phase });
  };

  const run = async (): Promise<RunSummary> => {
    const interrupted = await store.interruptRunningRuns(startedAt);
    if (interrupted > 0) {
      logger.warn(`[ferry] ${interrupted} earlier run(s) ended without finishing; resuming their work`);
    }
    // Only the current run's ids matter; an interrupted run's are garbage.
    await store.forgetSeen();
    await store.createRun({
      id: runId,
      startedAt,
      options: {
        ...request.runOptions,
        dryRun,
        full: request.full ?? false,
        destinations: request.destinations.map((d) => d.key),
      },
    });

    let jobSeq = 0;
    for (const destination of request.destinations) {
      lanes.push(
        createDestinationLane(destination, {
          store,
          runId,
          runStartedAt: startedAt,
          settings,
          clock,
          logger,
          random: request.random ?? Math.random,
          signal,
          dryRun,
          full: request.full ?? false,
          force: request.force ?? false,
          callbacks: request.callbacks,
          newJobId: () => {
            jobSeq += 1;
            return `${runId.replace(/^run_/, 'job_')}_${jobSeq}`;
          },
          onProgress: progress,
        }),
      );
    }
    // Jobs earlier runs left unfinished go first: they hold the destinations' job slots.
    await Promise.all(lanes.map((lane) => lane.resume()));

    const read = await readSourceInto(request, {
      runId,
      lanes,
      source,
      chunkSize: settings.chunkSize,
      signal,
      onProgress: progress,
    });
    if (read.error !== undefined)
      logger.error(`[ferry] the source could not be read to the end: ${read.error}`);

    phase = 'finishing';
    progress();
    const destinations = await Promise.all(
      lanes.map((lane) => lane.finish({ sourceComplete: read.complete, rowsWithoutId: read.rowsWithoutId })),
    );
    const status: RunSummary['status'] =
      read.error !== undefined ? 'failed' : signal.aborted ? 'aborted' : 'completed';
    const finishedAt = clock.now();
    const error = read.error ?? (signal.aborted ? 'stopped before the end (interrupted)' : undefined);
    const base = {
      runId,
      status,
      dryRun,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(finishedAt).toISOString(),
      durationMs: finishedAt - startedAt,
      source: { ...source },
      destinations,
      ...(error === undefined ? {} : { error }),
    };
    const summary: RunSummary = { ...base, exitCode: exitCodeOf(base) };
    await store.finishRun(runId, { status, finishedAt, summary, ...(error === undefined ? {} : { error }) });
    await store.forgetSeen();
    return summary;
  };

  const lock = await acquireRunLock(store, runId, { ttlMs: settings.lockTtlMs, clock });
  try {
    return await run();
  } catch (error) {
    // The run cannot be recorded (the store failed under it): stop every job task before giving
    // up, so none keeps polling in the background. What was persisted is resumed by the next run.
    halt.abort(error);
    await Promise.allSettled(lanes.map((lane) => lane.drain()));
    throw error;
  } finally {
    await lock.release();
  }
};
