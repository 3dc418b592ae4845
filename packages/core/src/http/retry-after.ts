/**
 * How long a vendor asked us to wait. Vendors say it in different ways: the standard `Retry-After`
 * (delta-seconds or an HTTP-date), `X-RateLimit-Reset` (SendGrid: epoch seconds; others send
 * seconds-until-reset), and the IETF draft's `RateLimit-Reset` (seconds until reset).
 */

/** `X-RateLimit-Reset` values at or above this are epoch seconds (2001-09-09), below are delta-seconds. */
const EPOCH_SECONDS_THRESHOLD = 1_000_000_000;
/** ...and values at or above this are epoch milliseconds. */
const EPOCH_MS_THRESHOLD = 1_000_000_000_000;

const DELTA_SECONDS = /^\s*(\d+(?:\.\d+)?)\s*$/;

/**
 * Parses a `Retry-After` value into milliseconds from `now`: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). A date in the past means "now" (0). Unparseable → `undefined`.
 */
export const parseRetryAfter = (
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined => {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = DELTA_SECONDS.exec(value);
  if (seconds?.[1] !== undefined) return Math.ceil(Number(seconds[1]) * 1000);
  // Only things that look like dates: Date.parse accepts odd inputs such as '-1' or '1 2'.
  if (!/[a-z]/i.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};

/**
 * Parses a rate-limit reset header into the epoch millisecond at which the window resets: epoch
 * seconds (SendGrid), epoch milliseconds, or seconds from `now` for small values.
 */
export const parseRateLimitReset = (
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined => {
  if (value === null || value === undefined) return undefined;
  const match = DELTA_SECONDS.exec(value);
  if (match?.[1] === undefined) return undefined;
  const n = Number(match[1]);
  if (n >= EPOCH_MS_THRESHOLD) return Math.ceil(n);
  if (n >= EPOCH_SECONDS_THRESHOLD) return Math.ceil(n * 1000);
  return now + Math.ceil(n * 1000);
};

const resetAt = (headers: Headers, now: number): number | undefined =>
  parseRateLimitReset(headers.get('x-ratelimit-reset'), now) ??
  // The IETF draft's RateLimit-Reset is always delta-seconds.
  (() => {
    const delta = parseRetryAfter(headers.get('ratelimit-reset'), now);
    return delta === undefined ? undefined : now + delta;
  })();

/**
 * The wait a rate-limited (429) or unavailable (503) response asks for, in ms from `now`:
 * `Retry-After` first, then the rate-limit window's reset. `undefined` when the response says nothing.
 */
export const retryAfterFromHeaders = (headers: Headers, now: number = Date.now()): number | undefined => {
  const retryAfter = parseRetryAfter(headers.get('retry-after'), now);
  if (retryAfter !== undefined) return retryAfter;
  const at = resetAt(headers, now);
  return at === undefined ? undefined : Math.max(0, at - now);
};

/**
 * When a successful response says the window is used up (`X-RateLimit-Remaining: 0` with a reset in
 * the future), the epoch ms until which further requests should wait; otherwise `undefined`.
 * Waiting here avoids a guaranteed 429 on the next request.
 */
export const exhaustedUntil = (headers: Headers, now: number = Date.now()): number | undefined => {
  const remaining = (headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining'))?.trim();
  if (remaining === undefined || remaining === '' || Number(remaining) !== 0) return undefined;
  const at = resetAt(headers, now);
  return at !== undefined && at > now ? at : undefined;
};

/**
 * Exponential backoff with full jitter: a random wait in [0, min(max, base · 2^attempt)). Full jitter
 * spreads clients that failed together, so they do not all come back at the same moment.
 * `attempt` counts from 0 for the first retry.
 */
export const backoffMs = (
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number => Math.floor(random() * backoffCeilingMs(attempt, baseMs, maxMs));

/** The upper bound of `backoffMs` for an attempt; used as the hint when no wait is known. */
export const backoffCeilingMs = (attempt: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
