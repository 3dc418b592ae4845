import type { JobHandle, ProfileOutcome } from '@ferry/core';
import type { Fence, MembersStore, PlannedMember } from '../../store/state-store.ts';
import { type LaneState, messageOf } from './lane-state.ts';
import { failAll, settleOutcomes } from './outcomes.ts';

/*
 * Settling a job: the per-profile outcomes of a completed job, or one outcome for every member of a
 * job that failed as a whole, written in one transaction; then the vendor's staged data is tidied.
 * Run by the check step that saw the job end (the status was just read; reading it again would
 * cost a call) and by the submit step when a submission fails for good.
 */

/** The members an outcome list names (usually few), found by reading the job's pages. */
export const membersNamed = async (
  store: MembersStore,
  jobId: string,
  outcomes: readonly { readonly profileId: string }[],
): Promise<Map<string, PlannedMember>> => {
  const wanted = new Set(outcomes.map((outcome) => outcome.profileId));
  const found = new Map<string, PlannedMember>();
  if (wanted.size === 0) return found;
  for await (const page of store.jobMemberPages(jobId)) {
    for (const member of page)
      if (wanted.has(member.change.profileId)) found.set(member.change.profileId, member);
    if (found.size === wanted.size) break;
  }
  return found;
};

export const settleCompletedJob = async (
  lane: LaneState,
  jobId: string,
  handle: JobHandle,
  fence: Fence,
  reported: readonly ProfileOutcome[],
): Promise<void> => {
  const { store, clock, logger } = lane.run;
  const named = await membersNamed(store, jobId, reported);
  const outcomes = settleOutcomes(named, reported, lane.policy(), logger, lane.key);
  const confirmed = await store.settleJob(jobId, { at: clock.now(), outcomes }, fence);
  lane.counters.exported += confirmed.exported;
  lane.counters.deleted += confirmed.deleted;
  lane.countOutcomes(outcomes);
  lane.counters.jobsSettled += 1;
  await cleanup(lane, jobId, handle);
};

export const failWholeJob = async (
  lane: LaneState,
  jobId: string,
  fence: Fence,
  failure: { readonly retryable: boolean; readonly code: string; readonly message: string },
  handle?: JobHandle,
): Promise<void> => {
  const { store, clock } = lane.run;
  // Rare, and every member needs an outcome: the whole job is read here.
  const outcomes = failAll(await store.jobMembers(jobId), failure, lane.policy());
  await store.failJob(
    jobId,
    { at: clock.now(), code: failure.code, message: failure.message, outcomes },
    fence,
  );
  lane.countOutcomes(outcomes);
  lane.counters.jobsSettled += 1;
  if (handle !== undefined) await cleanup(lane, jobId, handle);
};

const cleanup = async (lane: LaneState, jobId: string, handle: JobHandle): Promise<void> => {
  if (lane.plugin.cleanup === undefined) return;
  try {
    await lane.plugin.cleanup(lane.ctx!, handle);
  } catch (cause) {
    // Staged data left at the vendor is untidy, not wrong: the profiles are settled.
    lane.run.logger.warn(`${lane.prefix} cleanup of job ${jobId} failed`, {
      error: lane.redact(messageOf(cause)),
    });
  }
};
