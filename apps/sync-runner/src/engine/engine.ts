import { type Clock, type Logger, silentLogger, systemClock } from '@ferry/core';
import type { SourceItem } from '../source/types.ts';
import type {
  BadRow,
  ProfileIssue,
  RunRecord,
  RunStatus,
  StateStore,
  StoredJob,
} from '../store/state-store.ts';
import { type WiredDestination, wireDestination } from '../wiring/destination-context.ts';
import type { CallbackRegistry } from './callback-server.ts';
import { createRunEvents, type RunEvent, type RunListener } from './events.ts';
import { createLeaseKeeper, type LeaseKeeper } from './leases.ts';
import { type DrivenRun, driveRun, newRunId } from './run.ts';
import { createInProcessScheduler } from './scheduler/in-process.ts';
import type { Scheduler, Step } from './scheduler/scheduler.ts';
import { defaultEngineSettings, type EngineSettings } from './settings.ts';
import type { RunSummary } from './summary.ts';
import type { SyncDestination } from './types.ts';

/*
 * The engine as a library: open it over a store, a scheduler and the configured destinations;
 * `startRun` records a run and returns its id at once, the run's steps go on in the background,
 * and `waitForRun`, `events`, `cancelRun` and the read models follow it. The CLI, the HTTP
 * service and workers are adapters over this one object.
 */

export interface EngineOptions {
  readonly store: StateStore;
  readonly destinations: readonly SyncDestination[];
  /** Default: the in-process scheduler (timers). */
  readonly scheduler?: Scheduler;
  readonly settings?: Partial<EngineSettings>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly random?: () => number;
  /** Vendor callbacks wake status checks through it (see startCallbackListener). */
  readonly callbacks?: CallbackRegistry;
}

export interface RunRequest {
  /** The source, read once, streaming: items one by one, or in arrays as `readSource` gives them. */
  readonly source: AsyncIterable<SourceItem | readonly SourceItem[]>;
  /** Destination keys to sync; default every destination the engine was opened with. */
  readonly destinations?: readonly string[];
  /** Read, map and diff, count what would be sent, send nothing and record nothing. */
  readonly dryRun?: boolean;
  /** Send every profile, confirmed or not. */
  readonly full?: boolean;
  /** Mirror mode: delete even beyond `maxDeleteFraction`. */
  readonly force?: boolean;
  /** Aborting stops gracefully (like `cancelRun`): writes in progress finish, jobs are left to be checked. */
  readonly signal?: AbortSignal;
  /** Recorded with the run, for `ferry status`. Never put secrets here. */
  readonly runOptions?: Readonly<Record<string, unknown>>;
}

export interface Engine {
  /** The destinations, wired once for this process (options parsed, one context each). */
  readonly destinations: readonly WiredDestination[];
  /** Records the run durably and returns its id; the run goes on in the background. */
  readonly startRun: (request: RunRequest) => Promise<{ readonly runId: string }>;
  /** The summary once the run ended (polling the store for a run another process drives). */
  readonly waitForRun: (runId: string) => Promise<RunSummary>;
  /** Stops a run this process drives, gracefully: it ends `aborted`, its jobs are checked by the next run. */
  readonly cancelRun: (runId: string) => Promise<void>;
  /** `ferry retry`: rejected profiles are sent again by the next run, waiting ones at once. */
  readonly retry: (destination?: string) => Promise<{ rejected: number; waiting: number }>;
  readonly subscribe: (runId: string, listener: RunListener) => () => void;
  readonly events: (runId: string) => AsyncIterable<RunEvent>;
  readonly runs: {
    readonly get: (runId: string) => Promise<RunRecord | undefined>;
    readonly list: (limit: number, filter?: { status?: RunStatus; before?: string }) => Promise<RunRecord[]>;
    readonly jobs: (runId: string) => Promise<StoredJob[]>;
    readonly badRows: (runId: string, afterRow?: number, limit?: number) => Promise<BadRow[]>;
    readonly problems: (filter: {
      destination?: string;
      after?: { destination: string; profileId: string };
      limit: number;
    }) => Promise<ProfileIssue[]>;
  };
  /** Waits for the runs this process drives to end, then stops the scheduler. The store stays open. */
  readonly close: () => Promise<void>;
}

export class RunNotFoundError extends Error {
  constructor(runId: string) {
    super(`[ferry] no run ${JSON.stringify(runId)} in this state store`);
    this.name = 'RunNotFoundError';
  }
}

const runLeaseKey = (runId: string): string => `run:${runId}`;

export const openEngine = (options: EngineOptions): Engine => {
  const settings: EngineSettings = { ...defaultEngineSettings, ...options.settings };
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const { store } = options;
  const scheduler = options.scheduler ?? createInProcessScheduler({ clock });
  const events = createRunEvents();
  // Contexts outlive runs (one per destination per process); closing the engine aborts their calls.
  const lifetime = new AbortController();
  const destinations = options.destinations.map((destination) =>
    wireDestination(destination, { logger, signal: lifetime.signal }),
  );
  const driven = new Map<
    string,
    DrivenRun & { readonly cancel: AbortController; readonly leases: LeaseKeeper }
  >();

  const laneFor = (step: Step) => {
    for (const run of driven.values()) for (const lane of run.lanes) if (lane.drives(step.id)) return lane;
    return undefined;
  };
  scheduler.start({
    handler: async (step) => {
      // Plan steps run in startRun's process (they hold the source); job steps go to their lane.
      if (step.kind !== 'plan') await laneFor(step)?.runStep(step);
    },
    concurrency: (group) =>
      Math.max(
        1,
        ...destinations.filter((d) => d.key === group).map((d) => (d.ok ? d.limits.maxJobsInFlight : 1)),
      ),
    onError: (step, error) =>
      logger.error(`[ferry] step ${step.kind} ${step.id} failed`, { error: String(error) }),
  });

  /** Marks `running` runs whose process is gone as interrupted; their jobs are resumed by the lanes. */
  const interruptOrphans = async (keeper: LeaseKeeper): Promise<void> => {
    const orphans: string[] = [];
    for (const run of await store.listRuns(1000, { status: 'running' })) {
      if (driven.has(run.id)) continue;
      const key = runLeaseKey(run.id);
      // Claiming the run's lease proves its owner is gone (expired, or a dead local process).
      if (await keeper.claim(key)) {
        orphans.push(run.id);
        await keeper.release(key);
      }
    }
    if (orphans.length === 0) return;
    const interrupted = await store.interruptRuns(orphans, clock.now());
    if (interrupted > 0)
      logger.warn(`[ferry] ${interrupted} earlier run(s) ended without finishing; resuming their work`);
  };

  const startRun: Engine['startRun'] = async (request) => {
    const startedAt = clock.now();
    const runId = newRunId(startedAt);
    const dryRun = request.dryRun ?? false;
    const wanted = request.destinations;
    const chosen = wanted === undefined ? destinations : destinations.filter((d) => wanted.includes(d.key));
    const unknown = (wanted ?? []).filter((key) => !destinations.some((d) => d.key === key));
    if (unknown.length > 0)
      throw new Error(`[ferry] unknown destination(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
    const leases = createLeaseKeeper({ store, ttlMs: settings.lockTtlMs, clock, logger, label: runId });
    try {
      await leases.claim(runLeaseKey(runId));
      await interruptOrphans(leases);
      // Only runs still going need their read-ids; an interrupted run's are garbage.
      await store.forgetSeen();
      await store.createRun({
        id: runId,
        startedAt,
        options: {
          ...request.runOptions,
          dryRun,
          full: request.full ?? false,
          destinations: chosen.map((d) => d.key),
        },
      });
    } catch (error) {
      await leases.close();
      throw error;
    }
    const cancel = new AbortController();
    const signal =
      request.signal === undefined ? cancel.signal : AbortSignal.any([request.signal, cancel.signal]);
    const run = driveRun(
      {
        store,
        scheduler,
        settings,
        clock,
        logger,
        random: options.random ?? Math.random,
        callbacks: options.callbacks,
        events,
      },
      {
        runId,
        startedAt,
        source: request.source,
        destinations: chosen,
        dryRun,
        full: request.full ?? false,
        force: request.force ?? false,
        signal,
        leases,
      },
    );
    const entry = { ...run, cancel, leases };
    driven.set(runId, entry);
    void run.done
      .catch(() => undefined)
      .finally(async () => {
        await leases.close();
        driven.delete(runId);
      });
    return { runId };
  };

  const waitForRun: Engine['waitForRun'] = async (runId) => {
    const run = driven.get(runId);
    if (run !== undefined) {
      const summary = await run.done;
      // The run's leases are released once it returns, so a next run in this process starts clean.
      await run.leases.close();
      return summary;
    }
    const ended = events.ended(runId);
    if (ended?.type === 'finished') return ended.summary;
    for (;;) {
      const record = await store.getRun(runId);
      if (record === undefined) throw new RunNotFoundError(runId);
      if (record.status !== 'running') {
        if (record.summary !== null) return record.summary as RunSummary;
        throw new Error(
          `[ferry] run ${runId} ended ${record.status} without a summary: ${record.error ?? ''}`,
        );
      }
      await clock.sleep(1000);
    }
  };

  return {
    destinations,
    startRun,
    waitForRun,
    cancelRun: async (runId) => {
      const run = driven.get(runId);
      if (run !== undefined) {
        run.cancel.abort(new Error('[ferry] run canceled'));
        return;
      }
      const record = await store.getRun(runId);
      if (record === undefined) throw new RunNotFoundError(runId);
      if (record.status === 'running')
        throw new Error(`[ferry] run ${runId} is driven by another process; stop it there`);
    },
    retry: (destination) => store.requeueProblems(destination, clock.now()),
    subscribe: events.subscribe,
    events: events.stream,
    runs: {
      get: (runId) => store.getRun(runId),
      list: (limit, filter) => store.listRuns(limit, filter),
      jobs: (runId) => store.listJobs(runId),
      badRows: (runId, afterRow = 0, limit = 1000) => store.listBadRows(runId, afterRow, limit),
      problems: (filter) => store.listProblems(filter),
    },
    close: async () => {
      await Promise.allSettled([...driven.values()].map((run) => run.done));
      await scheduler.close();
      lifetime.abort();
    },
  };
};
