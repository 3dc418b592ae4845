import { randomBytes } from 'node:crypto';
import type { Clock, Logger } from '@ferry/core';
import type { SourceItem } from '../source/types.ts';
import type { StateStore } from '../store/state-store.ts';
import type { WiredDestination } from '../wiring/destination-context.ts';
import type { CallbackRegistry } from './callback-server.ts';
import type { RunEvents } from './events.ts';
import { createDestinationLane, type DestinationLane } from './lane/lane.ts';
import type { LeaseKeeper } from './leases.ts';
import { type ReadResult, readSourceInto } from './read-source.ts';
import type { Scheduler } from './scheduler/scheduler.ts';
import type { EngineSettings } from './settings.ts';
import {
  type DestinationCounters,
  type DestinationSummary,
  exitCodeOf,
  newSourceCounters,
  type RunSummary,
  type SourceCounters,
  type SyncProgress,
} from './summary.ts';

/*
 * The plan step of one run, and what follows it in this process: every destination lane claims its
 * destination and resumes the jobs earlier runs left, the source is read once into the lanes, then
 * the lanes finish (mirror deletes, retries, their jobs' submit and check steps) and the run's
 * summary is written. Throws only when the run cannot be recorded at all (the store failed).
 */

async function* emptySource(): AsyncGenerator<SourceItem> {}

/**
 * The counters a run taken over carries on from. Read again from the start, the planning counts
 * start over (the re-read counts what this run had planned as queued); what the jobs did stays.
 * A takeover can only miss what happened after the last save (each job's end, each phase).
 */
const carriedOver = (
  saved: SavedLane | undefined,
  read: ReadResult | undefined,
): Partial<DestinationCounters> => {
  if (saved === undefined) return {};
  if (read !== undefined) return saved.counters;
  return { ...saved.counters, considered: 0, unchanged: 0, stillRejected: 0, queued: 0, deletesQueued: 0 };
};

export const newRunId = (at: number): string =>
  `run_${new Date(at).toISOString().replace(/[-:.]/g, '')}_${randomBytes(3).toString('hex')}`;

export interface RunServices {
  readonly store: StateStore;
  readonly scheduler: Scheduler;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly callbacks: CallbackRegistry | undefined;
  readonly events: RunEvents;
}

/**
 * What a lane's row in `run_lanes` holds (JSON): enough for another process to take the run over —
 * the counters so far and, once the source was read, what the read found.
 */
export interface SavedLane {
  readonly counters: DestinationCounters;
  readonly source: SourceCounters;
  readonly read?: ReadResult;
  readonly summary?: DestinationSummary;
}

export interface RunPlan {
  readonly runId: string;
  readonly startedAt: number;
  /**
   * The source to read; `undefined` when the run is taken over after its source was read to the
   * end (every lane `finishing`): the lanes go straight to finishing, from `resumed`.
   */
  readonly source: AsyncIterable<SourceItem | readonly SourceItem[]> | undefined;
  /** Taking over a run another process left: its saved lanes, by destination. */
  readonly resumed?: ReadonlyMap<string, SavedLane>;
  readonly destinations: readonly WiredDestination[];
  readonly dryRun: boolean;
  readonly full: boolean;
  readonly force: boolean;
  readonly signal: AbortSignal;
  /** The run's own leases (its destinations and jobs), renewed while it lives. */
  readonly leases: LeaseKeeper;
}

export interface DrivenRun {
  readonly lanes: readonly DestinationLane[];
  readonly done: Promise<RunSummary>;
}

export const driveRun = (services: RunServices, plan: RunPlan): DrivenRun => {
  const { store, clock, logger, settings, events } = services;
  const { runId, startedAt, dryRun } = plan;
  // Aborted by the caller (Ctrl-C, cancelRun), or by the run itself when the store fails under it.
  const halt = new AbortController();
  const signal = AbortSignal.any([plan.signal, halt.signal]);
  // A run taken over mid-read reads its source again from the start: it counts the rows afresh.
  const resumedSource = plan.source === undefined ? plan.resumed?.values().next().value?.source : undefined;
  const source: SourceCounters = { ...newSourceCounters(), ...resumedSource };
  const lanes: DestinationLane[] = [];
  let read: ReadResult | undefined =
    plan.source === undefined ? plan.resumed?.values().next().value?.read : undefined;
  let phase: SyncProgress['phase'] = 'reading';
  const progress = (): void => {
    events.emit({
      type: 'progress',
      runId,
      progress: { runId, source, destinations: lanes.map((lane) => lane.counters), phase },
    });
  };
  const saveLane = (
    lane: DestinationLane,
    state: 'planning' | 'finishing' | 'done',
    summary?: DestinationSummary,
  ) => {
    const saved: SavedLane = {
      counters: lane.counters,
      source,
      ...(read === undefined ? {} : { read }),
      ...(summary === undefined ? {} : { summary }),
    };
    return store.saveLane({ runId, destination: lane.key, state, counters: saved, updatedAt: clock.now() });
  };
  let laneState: 'planning' | 'finishing' = 'planning';
  const saveLanes = async (
    state: 'planning' | 'finishing' | 'done',
    summaries?: readonly DestinationSummary[],
  ) => {
    if (state !== 'done') laneState = state;
    if (!dryRun) await Promise.all(lanes.map((lane, index) => saveLane(lane, state, summaries?.[index])));
  };
  /** At each job's start and end: what another process would carry on from, should this one die. */
  const onJobChanged = (destination: string): void => {
    const lane = lanes.find((candidate) => candidate.key === destination);
    if (lane !== undefined && !dryRun) void saveLane(lane, laneState).catch(() => undefined);
  };

  let jobSeq = 0;
  for (const destination of plan.destinations) {
    lanes.push(
      createDestinationLane(
        destination,
        {
          store,
          runId,
          runStartedAt: startedAt,
          settings,
          clock,
          logger,
          random: services.random,
          signal,
          dryRun,
          rereading: plan.resumed !== undefined && read === undefined,
          full: plan.full,
          force: plan.force,
          callbacks: services.callbacks,
          scheduler: services.scheduler,
          leases: plan.leases,
          newJobId: () => {
            jobSeq += 1;
            return `${runId.replace(/^run_/, 'job_')}_${jobSeq}`;
          },
          onProgress: progress,
          onJobChanged,
        },
        {
          maxWaitMs: settings.destinationWaitMs,
          ...(plan.resumed === undefined
            ? {}
            : { initial: carriedOver(plan.resumed.get(destination.key), read) }),
        },
      ),
    );
  }

  const run = async (): Promise<RunSummary> => {
    // A run taken over numbers its new jobs after those its dead process planned.
    if (plan.resumed !== undefined)
      for (const job of await store.listJobs(runId))
        jobSeq = Math.max(jobSeq, Number(/_(\d+)$/.exec(job.id)?.[1] ?? 0));
    await saveLanes(read === undefined ? 'planning' : 'finishing');
    // Jobs earlier runs left unfinished go first: they hold the destinations' job slots.
    await Promise.all(lanes.map((lane) => lane.resume()));
    if (read === undefined) {
      // Read again from the start when a run is taken over mid-read: its read-ids go first, or
      // every id read before would look like a duplicate.
      if (plan.resumed !== undefined && !dryRun) await store.forgetSeen(runId);
      const result = await readSourceInto(
        { store, source: plan.source ?? emptySource(), dryRun },
        { runId, lanes, source, chunkSize: settings.chunkSize, signal, onProgress: progress },
      );
      // The last changes read may still wait in the lanes' channels, in memory only: the source
      // counts as read (saved, so a takeover does not read it again) once they are in the store.
      await Promise.all(lanes.map((lane) => lane.endInput()));
      read = result;
    }
    if (read.error !== undefined)
      logger.error(`[ferry] the source could not be read to the end: ${read.error}`);
    phase = 'finishing';
    events.emit({ type: 'phase', runId, phase });
    progress();
    await saveLanes('finishing');
    const destinations = await Promise.all(
      lanes.map((lane) =>
        lane.finish({ sourceComplete: read?.complete ?? false, rowsWithoutId: read?.rowsWithoutId ?? 0 }),
      ),
    );
    const status: RunSummary['status'] =
      read.error !== undefined ? 'failed' : signal.aborted ? 'aborted' : 'completed';
    const readError = read.error;
    const finishedAt = clock.now();
    const error = readError ?? (signal.aborted ? 'stopped before the end (interrupted)' : undefined);
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
    // Mirror planning was the last to need them.
    if (!dryRun) await store.forgetSeen(runId);
    await saveLanes('done', destinations);
    await store.finishRun(runId, { status, finishedAt, summary, ...(error === undefined ? {} : { error }) });
    return summary;
  };

  const done = (async () => {
    try {
      const summary = await run();
      events.emit({ type: 'finished', runId, summary });
      return summary;
    } catch (error) {
      // The run cannot be recorded (the store failed under it): stop every step before giving up,
      // so none keeps polling in the background. What was persisted is resumed by the next run.
      halt.abort(error);
      await Promise.allSettled(lanes.map((lane) => lane.drain()));
      const message = error instanceof Error ? error.message : String(error);
      // Best effort: when the store itself failed this fails too, and the next run interrupts it.
      await store
        .finishRun(runId, { status: 'failed', finishedAt: clock.now(), summary: null, error: message })
        .catch(() => undefined);
      events.emit({ type: 'failed', runId, error: message });
      throw error;
    }
  })();
  return { lanes, done };
};
