import { randomBytes } from 'node:crypto';
import type { Clock, Logger } from '@ferry/core';
import type { SourceItem } from '../source/types.ts';
import type { StateStore } from '../store/state-store.ts';
import type { WiredDestination } from '../wiring/destination-context.ts';
import type { CallbackRegistry } from './callback-server.ts';
import type { RunEvents } from './events.ts';
import { createDestinationLane, type DestinationLane } from './lane/lane.ts';
import type { LeaseKeeper } from './leases.ts';
import { readSourceInto } from './read-source.ts';
import type { Scheduler } from './scheduler/scheduler.ts';
import type { EngineSettings } from './settings.ts';
import { exitCodeOf, newSourceCounters, type RunSummary, type SyncProgress } from './summary.ts';

/*
 * The plan step of one run, and what follows it in this process: every destination lane claims its
 * destination and resumes the jobs earlier runs left, the source is read once into the lanes, then
 * the lanes finish (mirror deletes, retries, their jobs' submit and check steps) and the run's
 * summary is written. Throws only when the run cannot be recorded at all (the store failed).
 */

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

export interface RunPlan {
  readonly runId: string;
  readonly startedAt: number;
  readonly source: AsyncIterable<SourceItem | readonly SourceItem[]>;
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
  const source = newSourceCounters();
  const lanes: DestinationLane[] = [];
  let phase: SyncProgress['phase'] = 'reading';
  const progress = (): void => {
    events.emit({
      type: 'progress',
      runId,
      progress: { runId, source, destinations: lanes.map((lane) => lane.counters), phase },
    });
  };
  const saveLanes = (state: 'planning' | 'finishing' | 'done', summaries?: readonly unknown[]) =>
    dryRun
      ? Promise.resolve()
      : Promise.all(
          lanes.map((lane, index) =>
            store.saveLane({
              runId,
              destination: lane.key,
              state,
              counters: summaries?.[index] ?? lane.counters,
              updatedAt: clock.now(),
            }),
          ),
        );

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
        },
        { maxWaitMs: settings.destinationWaitMs },
      ),
    );
  }

  const run = async (): Promise<RunSummary> => {
    await saveLanes('planning');
    // Jobs earlier runs left unfinished go first: they hold the destinations' job slots.
    await Promise.all(lanes.map((lane) => lane.resume()));
    const read = await readSourceInto(
      { store, source: plan.source, dryRun },
      { runId, lanes, source, chunkSize: settings.chunkSize, signal, onProgress: progress },
    );
    if (read.error !== undefined)
      logger.error(`[ferry] the source could not be read to the end: ${read.error}`);

    phase = 'finishing';
    events.emit({ type: 'phase', runId, phase });
    progress();
    await saveLanes('finishing');
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
