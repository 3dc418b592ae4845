import {
  AuthError,
  ConfigError,
  JOB_NOT_FOUND,
  type JobStatus,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import type { Fence } from '../../store/state-store.ts';
import { nextCheckDelayMs } from '../settings.ts';
import { type ActiveJob, type LaneState, messageOf } from './lane-state.ts';
import { failWholeJob, settleCompletedJob } from './settle.ts';
import type { NextStep } from './submit.ts';

/*
 * The check step: one status check of a submitted job, never a wait. Pending schedules the next
 * check (the plugin's `checkAfterMs`, backoff with jitter, capped); completed or failed settles the
 * job; a job the vendor forgot goes back to submit. A failed check is never a failed job: it is
 * checked again later. Past the polling deadline the job is left for the next run.
 */

export const checkStep = async (lane: LaneState, job: ActiveJob, fence: Fence): Promise<NextStep> => {
  const { run, plugin, settings, counters, prefix } = lane;
  const { store, clock, logger } = run;
  const stored = await store.getJob(job.id);
  if (stored === undefined || stored.state !== 'submitted' || stored.handle === null) return { kind: 'end' };
  // Per run: a job left at the deadline by an earlier run gets a fresh allowance.
  const deadline = Math.max(stored.submittedAt ?? 0, run.runStartedAt) + settings.pollDeadlineMs;
  if (clock.now() >= deadline) {
    logger.warn(
      `${prefix} job ${job.id} still pending after the polling deadline; the next run checks it again`,
    );
    // Its slot stays taken as far as the vendor is concerned: submit nothing more this run.
    lane.stall();
    return { kind: 'end' };
  }
  let status: JobStatus;
  try {
    counters.statusChecks += 1;
    // Ids and identities only, read afresh for each check rather than held while the job runs.
    status = await plugin.checkStatus(lane.ctx!, stored.handle, await store.jobMemberIds(job.id));
  } catch (cause) {
    lane.throwIfStopped();
    // Rate limits and transient errors do not count against anything; other errors are counted,
    // then the job is left for the next run.
    if (cause instanceof RateLimitedError)
      return { kind: 'check', at: clock.now() + Math.min(cause.retryAfterMs, settings.maxRateLimitWaitMs) };
    if (cause instanceof AuthError || cause instanceof ConfigError) throw cause;
    if (cause instanceof TransientError) {
      job.transientCheckErrors += 1;
      const wait = nextCheckDelayMs(settings, job.transientCheckErrors, undefined, run.random);
      return { kind: 'check', at: clock.now() + wait };
    }
    job.otherCheckErrors += 1;
    logger.warn(`${prefix} checking job ${job.id} failed`, {
      error: lane.redact(messageOf(cause)),
      failures: job.otherCheckErrors,
    });
    if (job.otherCheckErrors >= settings.maxCheckErrors) {
      lane.stall();
      return { kind: 'end' };
    }
    return {
      kind: 'check',
      at: clock.now() + nextCheckDelayMs(settings, job.otherCheckErrors, undefined, run.random),
    };
  }

  if (status.state === 'pending') {
    const checkCount = stored.checkCount + 1;
    const nextCheckAt = clock.now() + nextCheckDelayMs(settings, checkCount, status.checkAfterMs, run.random);
    await store.recordCheck(job.id, { nextCheckAt, checkCount }, fence);
    return { kind: 'check', at: nextCheckAt };
  }
  if (status.state === 'completed') {
    await settleCompletedJob(lane, job.id, stored.handle, fence, status.outcomes);
    return { kind: 'end' };
  }
  const vanished = status.code === JOB_NOT_FOUND;
  if (vanished && job.resubmits < settings.maxResubmits) {
    job.resubmits += 1;
    logger.warn(`${prefix} the vendor no longer knows job ${job.id}; submitting it again`);
    await store.requeueJob(job.id, fence);
    run.callbacks?.unregister(job.id);
    return { kind: 'submit', at: clock.now() };
  }
  await failWholeJob(
    lane,
    job.id,
    fence,
    {
      retryable: status.retryable || vanished,
      code: status.code ?? 'job_failed',
      message: lane.redact(status.message),
    },
    stored.handle,
  );
  return { kind: 'end' };
};
