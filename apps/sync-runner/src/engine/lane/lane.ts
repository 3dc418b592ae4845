import type { ProfileChange } from '@ferry/core';
import type { SourceRecordItem } from '../../source/types.ts';
import type { WiredDestination } from '../../wiring/destination-context.ts';
import { createChannel } from '../channel.ts';
import { describeOwner, LeaseBusyError } from '../leases.ts';
import type { Step } from '../scheduler/scheduler.ts';
import type { DestinationCounters, DestinationSummary } from '../summary.ts';
import { createJobDriver } from './jobs.ts';
import { createLaneState, type LaneRun } from './lane-state.ts';
import { planMirrorDeletes } from './mirror.ts';
import { createPlanner } from './plan.ts';
import { planRetries } from './retries.ts';

/*
 * One destination's share of a run in this process. It claims the destination (`lane:<key>`) so no
 * other process plans or retries for it at the same time, resumes the jobs earlier runs left, takes
 * the records the reader offers (plan.ts), and when the source ends plans mirror deletes and
 * retries and waits for its jobs — each of which lives as submit and check steps (jobs.ts).
 */

export type { LaneRun } from './lane-state.ts';

export interface DestinationLane {
  readonly key: string;
  readonly counters: Readonly<DestinationCounters>;
  /** Whether the lane stopped taking work (fatal error, deadline, abort); reading may skip it. */
  readonly accepting: () => boolean;
  /**
   * Claims the destination, waiting while another process holds it (saying so once), and starts
   * the jobs earlier runs left unfinished. Throws LeaseBusyError once `maxWaitMs` has passed.
   */
  readonly resume: () => Promise<void>;
  /** Diffs a chunk of records and queues the changed ones; waits while the destination is saturated. */
  readonly offer: (records: readonly SourceRecordItem[]) => Promise<void>;
  /**
   * No more records: resolves once every change offered is packed into a job in the store. Until
   * then changes wait in memory, so the run must not record its source as read before this.
   */
  readonly endInput: () => Promise<void>;
  /**
   * No more records. `sourceComplete` is true only when every row was read (mirror deletes depend
   * on it). Finishes packing, plans mirror deletes, sends due retries and waits for the jobs.
   */
  readonly finish: (end: { sourceComplete: boolean; rowsWithoutId: number }) => Promise<DestinationSummary>;
  /** After the run's signal aborted on an unexpected error: resolves once none of the lane's work runs. */
  readonly drain: () => Promise<void>;
  /** Runs a submit or check step of one of the lane's jobs. */
  readonly runStep: (step: Step) => Promise<void>;
  /** Whether the lane drives this job in this process. */
  readonly drives: (jobId: string) => boolean;
}

const CHANNEL_CAPACITY = 2000;

export const laneLeaseKey = (destination: string): string => `lane:${destination}`;

export const createDestinationLane = (
  destination: WiredDestination,
  run: LaneRun,
  options: { readonly maxWaitMs: number; readonly initial?: Partial<DestinationCounters> },
): DestinationLane => {
  const lane = createLaneState(destination, run, options.initial);
  const { key, counters } = lane;
  const { store, clock, logger } = run;
  const leaseKey = laneLeaseKey(key);
  const jobs = createJobDriver(lane);
  const planner = createPlanner(lane, jobs, () => run.leases.fence(leaseKey));
  const channel = createChannel<ProfileChange>(CHANNEL_CAPACITY);
  let mirrorSummary: DestinationSummary['mirror'];
  let packing: Promise<void> | undefined;
  // Jobs that earlier runs left unfinished, while this run drives them.
  const resumed = new Set<Promise<void>>();

  lane.onStop(() => {
    channel.abort();
    jobs.stopAll();
  });
  // A job left at its deadline still holds a slot at the vendor: plan nothing more, but keep
  // checking the other jobs in flight.
  lane.onStall(() => channel.abort());

  const claimDestination = async (): Promise<void> => {
    const started = clock.now();
    let said = false;
    for (;;) {
      if (await run.leases.claim(leaseKey)) return;
      const holder = await run.leases.holder(leaseKey);
      if (holder !== undefined && clock.now() - started >= options.maxWaitMs)
        throw new LeaseBusyError(`destination ${key}`, holder);
      if (holder !== undefined && !said) {
        said = true;
        logger.warn(
          `${lane.prefix} waiting: ${describeOwner(holder.owner)} is syncing this destination; ` +
            `this run goes on when it finishes (or its lease, renewed while it lives, lapses at ${new Date(holder.expiresAt).toISOString()})`,
        );
      }
      const left = options.maxWaitMs - (clock.now() - started);
      await clock.sleep(Math.max(10, Math.min(500, left)), lane.signal).catch(() => undefined);
      lane.throwIfStopped();
    }
  };

  const resume: DestinationLane['resume'] = async () => {
    if (lane.error() !== undefined) return;
    if (!run.dryRun) {
      await claimDestination();
      for (const stored of await store.unfinishedJobs(key)) {
        const first = stored.state === 'submitted' ? 'check' : 'submit';
        if (!(await jobs.start(stored.id, first, stored.callbackTokenHash))) continue;
        const job = lane.active.get(stored.id);
        if (job !== undefined) {
          resumed.add(job.ended);
          void job.ended.finally(() => resumed.delete(job.ended));
        }
      }
    }
    packing = planner.pack(channel.items()).catch(lane.fail);
  };

  const waitForResumed = async (): Promise<boolean> => {
    if (resumed.size === 0) return false;
    await Promise.allSettled([...resumed]);
    return true;
  };

  const offer: DestinationLane['offer'] = async (records) => {
    if (lane.stopped() || lane.stalled()) return;
    const changes = await planner.diff(records, waitForResumed);
    await channel.push(changes);
  };

  const endInput: DestinationLane['endInput'] = async () => {
    channel.close();
    await packing;
  };

  const finish: DestinationLane['finish'] = async (end) => {
    await endInput();
    if (!lane.stopped()) {
      try {
        mirrorSummary = await planMirrorDeletes(lane, planner, end);
        await planRetries(lane, planner);
      } catch (cause) {
        lane.fail(cause);
      }
    }
    await jobs.waitForJobs();
    let pending = 0;
    let waitingRetry = 0;
    if (!run.dryRun) {
      for (const row of await store.profileCounts(key)) {
        if (row.key === 'pending') pending = row.count;
        if (row.key === 'retry_wait') waitingRetry = row.count;
      }
    }
    await run.leases.release(leaseKey);
    const error = lane.error();
    return {
      ...counters,
      pending,
      waitingRetry,
      ...(mirrorSummary === undefined ? {} : { mirror: mirrorSummary }),
      ...(error === undefined ? {} : { error }),
    };
  };

  const drain: DestinationLane['drain'] = async () => {
    channel.abort();
    jobs.stopAll();
    await packing;
    await jobs.waitForJobs();
  };

  return {
    key,
    counters,
    accepting: () => !lane.stopped() && !lane.stalled(),
    resume,
    offer,
    endInput,
    finish,
    drain,
    runStep: jobs.runStep,
    drives: (jobId) => lane.active.has(jobId),
  };
};
