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
import { createLeaseKeeper, LeaseBusyError, type LeaseKeeper } from './leases.ts';
import { type DrivenRun, driveRun, newRunId, type RunPlan, type SavedLane } from './run.ts';
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
  /**
   * Takes over runs whose process died (still `running`, lease lapsed or process gone) and finishes
   * each as itself: its jobs checked and settled, its summary written under its id. A run that died
   * while reading needs its source again (`source`); one that had read it to the end does not.
   * Returns the ids of the runs taken over: `runId` alone, or every orphaned run.
   */
  readonly resumeRuns: (options?: {
    readonly runId?: string;
    readonly source?: () => AsyncIterable<SourceItem | readonly SourceItem[]>;
    readonly signal?: AbortSignal;
  }) => Promise<string[]>;
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
    drive(
      {
        runId,
        startedAt,
        source: request.source,
        destinations: chosen,
        dryRun,
        full: request.full ?? false,
        force: request.force ?? false,
        leases,
      },
      request.signal,
    );
    return { runId };
  };

  const drive = (plan: Omit<RunPlan, 'signal'>, outer: AbortSignal | undefined): void => {
    const cancel = new AbortController();
    const signal = outer === undefined ? cancel.signal : AbortSignal.any([outer, cancel.signal]);
    const services = {
      store,
      scheduler,
      settings,
      clock,
      logger,
      random: options.random ?? Math.random,
      callbacks: options.callbacks,
      events,
    };
    const run = driveRun(services, { ...plan, signal });
    const { runId, leases } = plan;
    driven.set(runId, { ...run, cancel, leases });
    void run.done
      .catch(() => undefined)
      .finally(async () => {
        await leases.close();
        driven.delete(runId);
      });
  };

  const resumeRuns: Engine['resumeRuns'] = async (request = {}) => {
    const candidates =
      request.runId === undefined
        ? await store.listRuns(1000, { status: 'running' })
        : [await store.getRun(request.runId)].filter((run) => run !== undefined);
    if (request.runId !== undefined && candidates.length === 0) throw new RunNotFoundError(request.runId);
    const taken: string[] = [];
    for (const record of candidates) {
      if (driven.has(record.id)) continue;
      if (record.status !== 'running') {
        if (request.runId !== undefined)
          throw new Error(
            `[ferry] run ${record.id} is ${record.status}, not running: there is nothing to resume`,
          );
        continue;
      }
      const leases = createLeaseKeeper({ store, ttlMs: settings.lockTtlMs, clock, logger, label: record.id });
      if ((await leases.claim(runLeaseKey(record.id))) === undefined) {
        const holder = await leases.holder(runLeaseKey(record.id));
        await leases.close();
        if (request.runId !== undefined && holder !== undefined)
          throw new LeaseBusyError(`run ${record.id}`, holder);
        continue;
      }
      const recorded = (record.options ?? {}) as {
        destinations?: string[];
        dryRun?: boolean;
        full?: boolean;
        force?: boolean;
      };
      const keys = recorded.destinations ?? destinations.map((d) => d.key);
      const chosen = destinations.filter((d) => keys.includes(d.key));
      const missing = keys.filter((key) => !destinations.some((d) => d.key === key));
      const saved = new Map<string, SavedLane>();
      for (const lane of await store.listLanes(record.id))
        saved.set(lane.destination, lane.counters as SavedLane);
      const readDone = keys.every((key) => saved.get(key)?.read !== undefined);
      if (missing.length > 0 || (!readDone && request.source === undefined)) {
        await leases.close();
        throw new Error(
          missing.length > 0
            ? `[ferry] run ${record.id} syncs ${missing.join(', ')}, which this config does not define`
            : `[ferry] run ${record.id} stopped while reading its source: resume it with that source`,
        );
      }
      logger.warn(`[ferry] taking over run ${record.id}, which its process left unfinished`);
      drive(
        {
          runId: record.id,
          startedAt: record.startedAt,
          source: readDone ? undefined : request.source?.(),
          resumed: saved,
          destinations: chosen,
          dryRun: recorded.dryRun ?? false,
          full: recorded.full ?? false,
          force: recorded.force ?? false,
          leases,
        },
        request.signal,
      );
      taken.push(record.id);
    }
    return taken;
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
    resumeRuns,
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
