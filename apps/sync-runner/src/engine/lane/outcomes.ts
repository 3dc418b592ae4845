import { backoffMs, type Logger, type ProfileOutcome } from '@ferry/core';
import type { PlannedMember, SettledOutcome } from '../../store/state-store.ts';
import type { EngineSettings } from '../settings.ts';

/** Code given to profiles whose retryable failures outlasted `maxAttempts`, when the vendor gave none. */
export const RETRIES_EXHAUSTED = 'retries_exhausted';

export interface OutcomePolicy {
  readonly settings: EngineSettings;
  readonly now: number;
  readonly random?: () => number;
}

/**
 * A retryable failure of one member: back to `retry_wait` with one more attempt and a backoff (at
 * least what the vendor asked for), or rejected once the attempts are used up.
 */
export const retryOrReject = (
  member: PlannedMember,
  failure: { readonly code?: string; readonly message: string; readonly retryAfterMs?: number },
  policy: OutcomePolicy,
): SettledOutcome => {
  const attempts = member.attempts + 1;
  const { settings } = policy;
  if (attempts >= settings.maxAttempts) {
    return {
      member,
      status: 'rejected',
      code: failure.code ?? RETRIES_EXHAUSTED,
      message: `gave up after ${attempts} attempts: ${failure.message}`,
    };
  }
  const wait = Math.max(
    failure.retryAfterMs ?? 0,
    backoffMs(attempts - 1, settings.retryBaseMs, settings.retryMaxMs, policy.random),
  );
  const outcome = {
    member,
    status: 'retry_wait' as const,
    message: failure.message,
    attempts,
    nextAttemptAt: policy.now + wait,
  };
  return failure.code === undefined ? outcome : { ...outcome, code: failure.code };
};

const toSettled = (member: PlannedMember, outcome: ProfileOutcome, policy: OutcomePolicy): SettledOutcome => {
  if (outcome.status === 'retryable') return retryOrReject(member, outcome, policy);
  const rejected = { member, status: 'rejected' as const, code: outcome.code, message: outcome.message };
  return outcome.field === undefined ? rejected : { ...rejected, field: outcome.field };
};

/**
 * Turns a plugin's per-profile outcomes into what the store records. Outcomes for profiles that are
 * not members (a plugin bug) are logged and ignored; a profile reported twice keeps its first outcome.
 */
export const settleOutcomes = (
  members: ReadonlyMap<string, PlannedMember>,
  outcomes: readonly ProfileOutcome[],
  policy: OutcomePolicy,
  logger: Logger,
  destination: string,
): SettledOutcome[] => {
  const settled: SettledOutcome[] = [];
  const seen = new Set<string>();
  for (const outcome of outcomes) {
    const member = members.get(outcome.profileId);
    if (member === undefined) {
      logger.warn(`[ferry] [${destination}] outcome for a profile that is not in the job ignored`, {
        profileId: outcome.profileId,
      });
      continue;
    }
    if (seen.has(outcome.profileId)) continue;
    seen.add(outcome.profileId);
    settled.push(toSettled(member, outcome, policy));
  }
  return settled;
};

/** Every member of a job that failed as a whole. */
export const failAll = (
  members: readonly PlannedMember[],
  failure: { readonly retryable: boolean; readonly code: string; readonly message: string },
  policy: OutcomePolicy,
): SettledOutcome[] =>
  members.map((member) =>
    failure.retryable
      ? retryOrReject(member, failure, policy)
      : { member, status: 'rejected', code: failure.code, message: failure.message },
  );
