import {
  backoffMs,
  type ExportResult,
  PermanentError,
  type ProfileBatch,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import type { Fence, MembersStore } from '../../store/state-store.ts';
import { hashCallbackToken, newCallbackToken } from '../callback-server.ts';
import type { ActiveJob, LaneState } from './lane-state.ts';
import { retryOrReject, settleOutcomes } from './outcomes.ts';
import { failWholeJob, membersNamed } from './settle.ts';

/*
 * The submit step: one attempt at handing a planned job to the vendor. It loads the job, streams
 * its members from the store to the plugin, and records the handle (or what went wrong). A rate
 * limit or a transient error schedules the step again; a handle schedules the first check.
 */

/** What a job step asks for next. */
export type NextStep =
  | { readonly kind: 'end' }
  | { readonly kind: 'submit'; readonly at: number }
  | { readonly kind: 'check'; readonly at: number };

/** What the plugin submits: the job's members streamed from the store, re-readable (`ProfileBatch`). */
export const batchOf = (store: MembersStore, jobId: string, length: number): ProfileBatch => ({
  length,
  [Symbol.asyncIterator]: async function* changes() {
    for await (const page of store.jobMemberPages(jobId)) for (const member of page) yield member.change;
  },
});

export const submitStep = async (
  lane: LaneState,
  job: ActiveJob,
  fence: Fence,
  callbacks: { readonly listen: (jobId: string, tokenHash: string) => void },
): Promise<NextStep> => {
  const { run, plugin, settings, counters, prefix } = lane;
  const { store, clock, logger } = run;
  const stored = await store.getJob(job.id);
  if (stored === undefined || (stored.state !== 'planned' && stored.state !== 'submitting'))
    return { kind: 'end' };
  if (stored.memberCount === 0) {
    await store.settleJob(job.id, { at: clock.now(), outcomes: [] }, fence);
    return { kind: 'end' };
  }
  // Only destinations that can ask the vendor for a callback get a URL (and a token to check it by).
  const token =
    run.callbacks === undefined || !plugin.capabilities.callbacks ? undefined : newCallbackToken();
  const tokenHash = token === undefined ? null : hashCallbackToken(token);
  const attempt = stored.attempt + 1;
  await store.markSubmitting(job.id, { attempt, callbackTokenHash: tokenHash }, fence);
  let result: ExportResult;
  try {
    const context =
      token === undefined ? lane.ctx! : { ...lane.ctx!, callbackUrl: run.callbacks!.urlFor(job.id, token) };
    result = await plugin.exportProfiles(context, batchOf(store, job.id, stored.memberCount));
  } catch (cause) {
    lane.throwIfStopped();
    if (cause instanceof RateLimitedError) {
      // Waiting for a rate limit is not a failure: no error counted.
      return { kind: 'submit', at: clock.now() + Math.min(cause.retryAfterMs, settings.maxRateLimitWaitMs) };
    }
    if (cause instanceof TransientError && job.submitErrors < settings.maxSubmitErrors) {
      job.submitErrors += 1;
      logger.warn(`${prefix} submitting job ${job.id} failed, retrying`, {
        error: lane.redact(cause.message),
      });
      const wait = backoffMs(job.submitErrors - 1, settings.retryBaseMs, settings.retryMaxMs, run.random);
      return { kind: 'submit', at: clock.now() + wait };
    }
    if (cause instanceof TransientError || cause instanceof PermanentError) {
      await failWholeJob(lane, job.id, fence, {
        retryable: cause instanceof TransientError,
        code: cause.code ?? 'submit_failed',
        message: lane.redact(cause.message),
      });
      return { kind: 'end' };
    }
    throw cause;
  }
  counters.jobsSubmitted += 1;
  const named = await membersNamed(store, job.id, result.rejected);
  const rejected = settleOutcomes(named, result.rejected, lane.policy(), logger, lane.key);
  const rejectedIds = new Set(rejected.map((outcome) => outcome.member.change.profileId));
  const now = clock.now();
  if (result.job === null) {
    // No job: whatever was not rejected was not sent either. Send it again rather than lose it.
    const unsent = (await store.jobMembers(job.id))
      .filter((member) => !rejectedIds.has(member.change.profileId))
      .map((member) =>
        retryOrReject(member, { message: 'the destination created no job for this profile' }, lane.policy()),
      );
    const outcomes = [...rejected, ...unsent];
    await store.markSubmitted(
      job.id,
      { handle: null, at: now, nextCheckAt: null, rejected: outcomes },
      fence,
    );
    lane.countOutcomes(outcomes);
    counters.jobsSettled += 1;
    return { kind: 'end' };
  }
  const nextCheckAt = now + settings.firstCheckDelayMs;
  await store.markSubmitted(job.id, { handle: result.job, at: now, nextCheckAt, rejected }, fence);
  lane.countOutcomes(rejected);
  if (tokenHash !== null) callbacks.listen(job.id, tokenHash);
  job.transientCheckErrors = 0;
  job.otherCheckErrors = 0;
  return { kind: 'check', at: nextCheckAt };
};
