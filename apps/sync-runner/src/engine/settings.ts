import { backoffCeilingMs } from '@ferry/core';

/** How the engine paces itself. Every value has a default suited to real vendors. */
export interface EngineSettings {
  /** Source items processed per store round trip (duplicate check, diff). Default 1,000. */
  readonly chunkSize: number;
  /** Wait before the first status check of a job. Default 1 s. */
  readonly firstCheckDelayMs: number;
  /** Longest wait between two status checks, whatever the backoff or the plugin's `checkAfterMs`. Default 60 s. */
  readonly maxCheckIntervalMs: number;
  /**
   * How long this run keeps checking one job before leaving it for the next run. Separate from the
   * retry budget: a slow job is not a failed one. Default 6 h.
   */
  readonly pollDeadlineMs: number;
  /** Sends of one profile (first send included) before a retryable outcome becomes a rejection. Default 5. */
  readonly maxAttempts: number;
  /** First retry backoff of a profile; doubles per attempt, full jitter. Default 5 s. */
  readonly retryBaseMs: number;
  /** Longest retry backoff. Default 15 min. */
  readonly retryMaxMs: number;
  /** Retries due later than this are left for the next run instead of keeping the process alive. Default 2 min. */
  readonly maxRetryWaitMs: number;
  /** Transient submission errors (after the HTTP client's own retries) before the batch's profiles go to retry. Default 3. */
  readonly maxSubmitErrors: number;
  /** Times a job the vendor forgot is resubmitted before its profiles go to retry. Default 3. */
  readonly maxResubmits: number;
  /** Status checks failing with something other than a transient or rate-limit error before the job is left for the next run. Default 5. */
  readonly maxCheckErrors: number;
  /** Longest rate-limit wait honoured as asked; longer ones are capped (and retried). Default 5 min. */
  readonly maxRateLimitWaitMs: number;
  /**
   * Leases (a destination while a run plans for it, a job while it is driven) last this long
   * unless renewed; a holder that stops renewing is presumed dead after it. Default 60 s.
   */
  readonly lockTtlMs: number;
  /**
   * How long a run waits for a destination another process is syncing before giving up with
   * LeaseBusyError. Default: as long as it takes.
   */
  readonly destinationWaitMs: number;
}

export const defaultEngineSettings: EngineSettings = {
  chunkSize: 1000,
  firstCheckDelayMs: 1000,
  maxCheckIntervalMs: 60_000,
  pollDeadlineMs: 6 * 60 * 60 * 1000,
  maxAttempts: 5,
  retryBaseMs: 5000,
  retryMaxMs: 15 * 60 * 1000,
  maxRetryWaitMs: 2 * 60 * 1000,
  maxSubmitErrors: 3,
  maxResubmits: 3,
  maxCheckErrors: 5,
  maxRateLimitWaitMs: 5 * 60 * 1000,
  lockTtlMs: 60_000,
  destinationWaitMs: Number.POSITIVE_INFINITY,
};

/**
 * When to check a pending job next: exponential in the checks made so far, at least the plugin's
 * hint, capped, with ±25 % jitter so jobs submitted together are not polled in lockstep.
 */
export const nextCheckDelayMs = (
  settings: EngineSettings,
  checkCount: number,
  checkAfterMs: number | undefined,
  random: () => number = Math.random,
): number => {
  const backoff = backoffCeilingMs(checkCount, settings.firstCheckDelayMs, settings.maxCheckIntervalMs);
  const wanted = Math.min(settings.maxCheckIntervalMs, Math.max(backoff, checkAfterMs ?? 0));
  return Math.max(1, Math.round(wanted * (0.75 + random() * 0.5)));
};
