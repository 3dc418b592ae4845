import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import type {
  Destination,
  DestinationContext,
  JobHandle,
  JobMember,
  JobStatus,
  ProfileChange,
  ProfileOutcome,
} from '../contract.ts';
import { isRetryableError, RateLimitedError } from '../errors.ts';
import { streamedBatch } from './streamed-batch.ts';

/** Knobs for `settleJob` and `waitForJob`. The defaults suit sandboxes with short processing delays. */
export interface SettleOptions {
  /** Give up when a job is still pending after this long (its own deadline, as in the runner). Default 20,000 ms. */
  readonly pollTimeoutMs?: number;
  /** Wait between checks when `checkStatus` gives no `checkAfterMs`. Default 25 ms. */
  readonly defaultCheckIntervalMs?: number;
  /** Cap on any wait: `checkAfterMs` hints, backoff after errors. Default 1,000 ms. */
  readonly maxCheckIntervalMs?: number;
  /** Cap on waiting out one `RateLimitedError.retryAfterMs` (a test should not sleep for a minute). Default 1,000 ms. */
  readonly maxRateLimitWaitMs?: number;
  /** Retryable errors (not rate limits) tolerated per submission or per wait before giving up. Default 10. */
  readonly maxErrorRetries?: number;
  /** Submissions in all, counting resubmissions after a retryable failure or a forgotten job. Default 3. */
  readonly maxAttempts?: number;
  /** Called for every step, for tests that assert on what happened. */
  readonly onEvent?: (event: SettleEvent) => void;
}

/** One step of driving a job, in order. */
export type SettleEvent =
  | { readonly type: 'submitted'; readonly attempt: number; readonly job: JobHandle | null }
  | { readonly type: 'export-error'; readonly error: unknown }
  | { readonly type: 'status'; readonly status: JobStatus }
  | { readonly type: 'check-error'; readonly error: unknown }
  | { readonly type: 'resubmit'; readonly reason: string };

/** Counts of what happened while a job was driven. */
export interface SettleStats {
  submissions: number;
  statusChecks: number;
  /** Status checks that threw a retryable error (the check failed, not the job). */
  failedChecks: number;
  /** Waits for a RateLimitedError, from submissions or checks; never counted as failures. */
  rateLimitedWaits: number;
  /** Statuses that said `failed` (retryable or not), including JOB_NOT_FOUND. */
  failedJobs: number;
}

export interface WaitResult {
  /** The first status that was not `pending`. */
  readonly status: Exclude<JobStatus, { state: 'pending' }>;
  readonly stats: SettleStats;
}

export interface SettledJob {
  /** Profiles rejected at submission, over every submission. */
  readonly rejected: readonly ProfileOutcome[];
  /**
   * Outcomes at completion: the completed job's outcomes; every member `rejected` when the job failed
   * for good; every member `retryable` when it kept failing retryably until `maxAttempts`.
   */
  readonly outcomes: readonly ProfileOutcome[];
  /** The final status; `null` when nothing was submitted (empty batch, or all rejected at submission). */
  readonly status: WaitResult['status'] | null;
  /** Every handle returned, in submission order; the last one is the job the status belongs to. */
  readonly jobs: readonly JobHandle[];
  /** The last job's members, as the runner would have persisted them. */
  readonly members: readonly JobMember[];
  readonly stats: SettleStats;
}

const defaults = {
  pollTimeoutMs: 20_000,
  defaultCheckIntervalMs: 25,
  maxCheckIntervalMs: 1_000,
  maxRateLimitWaitMs: 1_000,
  maxErrorRetries: 10,
  maxAttempts: 3,
} as const;

const newStats = (): SettleStats => ({
  submissions: 0,
  statusChecks: 0,
  failedChecks: 0,
  rateLimitedWaits: 0,
  failedJobs: 0,
});

const clamp = (ms: number, max: number): number => Math.max(0, Math.min(ms, max));

/** The wait after a retryable error: the vendor's Retry-After when it gave one, else capped doubling. */
const errorDelay = (error: unknown, failures: number, options: SettleOptions): number => {
  if (error instanceof RateLimitedError) {
    return clamp(error.retryAfterMs, options.maxRateLimitWaitMs ?? defaults.maxRateLimitWaitMs);
  }
  const base = options.defaultCheckIntervalMs ?? defaults.defaultCheckIntervalMs;
  return clamp(base * 2 ** Math.min(failures, 10), options.maxCheckIntervalMs ?? defaults.maxCheckIntervalMs);
};

/** The members the runner persists for a submitted job: the batch minus what submission rejected, in order. */
export const membersOf = (
  batch: readonly ProfileChange[],
  rejected: readonly ProfileOutcome[],
): JobMember[] => {
  const rejectedIds = new Set(rejected.map((outcome) => outcome.profileId));
  return batch
    .filter((change) => !rejectedIds.has(change.profileId))
    .map(({ profileId, identity }) => ({ profileId, identity }));
};

/**
 * Checks a submitted job until it is no longer pending, the way the runner does: honours
 * `checkAfterMs` (capped), retries checks that throw a retryable error (waiting out rate limits,
 * which are not failures), and rethrows anything else. Throws when `pollTimeoutMs` passes.
 */
export const waitForJob = async <Schema extends z.ZodType>(
  destination: Destination<Schema>,
  ctx: DestinationContext<z.output<Schema>>,
  job: JobHandle,
  members: readonly JobMember[],
  options: SettleOptions = {},
  stats: SettleStats = newStats(),
): Promise<WaitResult> => {
  const deadline = Date.now() + (options.pollTimeoutMs ?? defaults.pollTimeoutMs);
  let errors = 0;
  for (;;) {
    let delay: number;
    try {
      stats.statusChecks += 1;
      const status = await destination.checkStatus(ctx, job, members);
      options.onEvent?.({ type: 'status', status });
      if (status.state !== 'pending') {
        if (status.state === 'failed') stats.failedJobs += 1;
        return { status, stats };
      }
      delay = clamp(
        status.checkAfterMs ?? options.defaultCheckIntervalMs ?? defaults.defaultCheckIntervalMs,
        options.maxCheckIntervalMs ?? defaults.maxCheckIntervalMs,
      );
    } catch (error) {
      options.onEvent?.({ type: 'check-error', error });
      if (!isRetryableError(error)) throw error;
      stats.failedChecks += 1;
      if (error instanceof RateLimitedError) stats.rateLimitedWaits += 1;
      else if (++errors > (options.maxErrorRetries ?? defaults.maxErrorRetries)) throw error;
      delay = errorDelay(error, errors, options);
    }
    if (Date.now() + delay > deadline) {
      throw new Error(
        `[ferry] [${destination.name}] job still pending after ${options.pollTimeoutMs ?? defaults.pollTimeoutMs} ms: ${JSON.stringify(job)}`,
      );
    }
    await sleep(delay, undefined, { signal: ctx.signal });
  }
};

/**
 * Drives one batch to a final state the way the runner would: `exportProfiles` (retried on
 * RateLimitedError/TransientError), then `checkStatus` until not pending (see `waitForJob`), and a
 * resubmission of the members when the job failed retryably — including JOB_NOT_FOUND — up to
 * `maxAttempts` submissions. Per-profile `retryable` outcomes are returned, not retried.
 *
 * Useful in a plugin's own tests: `const settled = await settleJob(myDestination, ctx, batch)`.
 */
export const settleJob = async <Schema extends z.ZodType>(
  destination: Destination<Schema>,
  ctx: DestinationContext<z.output<Schema>>,
  batch: readonly ProfileChange[],
  options: SettleOptions = {},
): Promise<SettledJob> => {
  const stats = newStats();
  const rejected: ProfileOutcome[] = [];
  const jobs: JobHandle[] = [];
  const maxAttempts = options.maxAttempts ?? defaults.maxAttempts;
  let pending = batch;
  let members: JobMember[] = [];

  for (let attempt = 1; ; attempt += 1) {
    const result = await withRetries(
      () => destination.exportProfiles(ctx, streamedBatch(pending)),
      ctx,
      options,
      stats,
    );
    stats.submissions += 1;
    options.onEvent?.({ type: 'submitted', attempt, job: result.job });
    rejected.push(...result.rejected);
    members = membersOf(pending, result.rejected);
    if (result.job === null) return { rejected, outcomes: [], status: null, jobs, members, stats };
    jobs.push(result.job);

    const { status } = await waitForJob(destination, ctx, result.job, members, options, stats);
    if (status.state === 'completed')
      return { rejected, outcomes: status.outcomes, status, jobs, members, stats };
    if (!status.retryable) {
      const outcomes = members.map(
        (member): ProfileOutcome => ({
          profileId: member.profileId,
          status: 'rejected',
          code: status.code ?? 'job_failed',
          message: status.message,
        }),
      );
      return { rejected, outcomes, status, jobs, members, stats };
    }
    if (attempt >= maxAttempts) {
      const outcomes = members.map(
        (member): ProfileOutcome => ({
          profileId: member.profileId,
          status: 'retryable',
          code: status.code ?? 'job_failed',
          message: status.message,
        }),
      );
      return { rejected, outcomes, status, jobs, members, stats };
    }
    options.onEvent?.({ type: 'resubmit', reason: status.code ?? status.message });
    const memberIds = new Set(members.map((member) => member.profileId));
    pending = pending.filter((change) => memberIds.has(change.profileId));
  }
};

/** Repeats `call` while it throws retryable errors; rate-limit waits are unlimited but capped in length. */
const withRetries = async <T>(
  call: () => Promise<T>,
  ctx: { readonly signal: AbortSignal },
  options: SettleOptions,
  stats: SettleStats,
): Promise<T> => {
  let errors = 0;
  const deadline = Date.now() + (options.pollTimeoutMs ?? defaults.pollTimeoutMs);
  for (;;) {
    try {
      return await call();
    } catch (error) {
      options.onEvent?.({ type: 'export-error', error });
      if (!isRetryableError(error) || Date.now() > deadline) throw error;
      if (error instanceof RateLimitedError) stats.rateLimitedWaits += 1;
      else if (++errors > (options.maxErrorRetries ?? defaults.maxErrorRetries)) throw error;
      await sleep(errorDelay(error, errors, options), undefined, { signal: ctx.signal });
    }
  }
};
