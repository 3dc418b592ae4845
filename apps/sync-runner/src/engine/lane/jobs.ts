import { LeaseLostError } from '../../store/state-store.ts';
import type { Step } from '../scheduler/scheduler.ts';
import { checkStep } from './check.ts';
import { type ActiveJob, type LaneState, LaneStopped } from './lane-state.ts';
import { submitStep } from './submit.ts';

/*
 * The jobs a lane drives in this process: a job takes a slot and its lease (`job:<id>`) when it
 * starts, then lives as scheduled steps — submit, then checks until it settles — and gives both
 * back when it ends. Any process holding the lease can run the same steps from the store.
 */

export interface JobDriver {
  /**
   * Takes a slot and the job's lease and schedules its first step: `submit` for a planned job,
   * `check` for a submitted one. False when another live process holds the job.
   */
  readonly start: (
    jobId: string,
    first: 'submit' | 'check',
    callbackTokenHash?: string | null,
  ) => Promise<boolean>;
  /** Runs one step of a job this lane drives. */
  readonly runStep: (step: Step) => Promise<void>;
  /** The lane stopped: drop scheduled steps; jobs with a step running end with it. */
  readonly stopAll: () => void;
  /** Resolves when no job of the lane is left in this process. */
  readonly waitForJobs: () => Promise<void>;
}

const jobLease = (jobId: string): string => `job:${jobId}`;

export const createJobDriver = (lane: LaneState): JobDriver => {
  const { run, active } = lane;
  const running = new Set<string>();

  const end = (job: ActiveJob): void => {
    if (active.get(job.id) !== job) return;
    active.delete(job.id);
    if (job.inFlight) lane.counters.jobsInFlight -= 1;
    job.inFlight = false;
    run.scheduler.cancel('submit', job.id);
    run.scheduler.cancel('check', job.id);
    run.callbacks?.unregister(job.id);
    void run.leases.release(jobLease(job.id));
    job.end();
    lane.notify();
    run.onProgress();
    run.onJobChanged(lane.key);
  };

  const listen = (jobId: string, tokenHash: string): void => {
    run.callbacks?.register(jobId, tokenHash, () => run.scheduler.wake('check', jobId));
  };

  const start: JobDriver['start'] = async (jobId, first, callbackTokenHash) => {
    const lease = await run.leases.claim(jobLease(jobId));
    if (lease === undefined) {
      const holder = await run.leases.holder(jobLease(jobId));
      run.logger.warn(
        `${lane.prefix} job ${jobId} is driven by another process${holder === undefined ? '' : ` (${holder.owner})`}; leaving it to it`,
      );
      return false;
    }
    let end!: () => void;
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const job: ActiveJob = {
      id: jobId,
      inFlight: first === 'check',
      submitErrors: 0,
      transientCheckErrors: 0,
      otherCheckErrors: 0,
      resubmits: 0,
      ended,
      end,
    };
    active.set(jobId, job);
    if (job.inFlight) lane.counters.jobsInFlight += 1;
    if (first === 'check' && callbackTokenHash !== null && callbackTokenHash !== undefined)
      listen(jobId, callbackTokenHash);
    await run.scheduler.schedule({ kind: first, id: jobId, group: lane.key }, run.clock.now());
    run.onProgress();
    run.onJobChanged(lane.key);
    return true;
  };

  const runStep: JobDriver['runStep'] = async (step) => {
    const job = active.get(step.id);
    if (job === undefined) return;
    running.add(job.id);
    try {
      lane.throwIfStopped();
      const fence = run.leases.fence(jobLease(job.id));
      if (fence === undefined) throw new LeaseLostError(jobLease(job.id));
      const next =
        step.kind === 'submit'
          ? await submitStep(lane, job, fence, { listen })
          : await checkStep(lane, job, fence);
      if (next.kind === 'end') {
        end(job);
        return;
      }
      if (next.kind === 'check' && !job.inFlight) {
        job.inFlight = true;
        lane.counters.jobsInFlight += 1;
        run.onProgress();
      }
      if (next.kind === 'submit' && job.inFlight) {
        job.inFlight = false;
        lane.counters.jobsInFlight -= 1;
      }
      lane.throwIfStopped();
      await run.scheduler.schedule({ kind: next.kind, id: job.id, group: lane.key }, next.at);
    } catch (cause) {
      if (cause instanceof LeaseLostError) {
        run.logger.warn(`${lane.prefix} job ${job.id}: ${cause.message}; another process carries it on`);
      } else if (!(cause instanceof LaneStopped) && !lane.signal.aborted) {
        lane.fail(cause);
      }
      end(job);
    } finally {
      running.delete(job.id);
    }
  };

  return {
    start,
    runStep,
    stopAll: () => {
      for (const job of [...active.values()]) if (!running.has(job.id)) end(job);
    },
    waitForJobs: async () => {
      while (active.size > 0) await Promise.allSettled([...active.values()].map((job) => job.ended));
    },
  };
};
