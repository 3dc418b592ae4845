import type { Clock } from './types.ts';

/** Real time. Waits use a referenced timer, so a process with a request waiting does not exit. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

export interface RateLimiterOptions {
  /** Sustained requests per second; `undefined`, 0 or Infinity for no limit. */
  readonly requestsPerSecond?: number;
  /** Requests in flight at once; `undefined` or Infinity for no limit. */
  readonly maxConcurrent?: number;
  /**
   * Requests that may go back to back before spacing applies (default 1: evenly spaced, so no
   * one-second window ever sees more than about `requestsPerSecond` requests — vendors count in windows).
   */
  readonly burst?: number;
  readonly clock?: Clock;
}

/** Shared by every request of one destination, including clients derived with `.with()`. */
export interface RateLimiter {
  /**
   * Waits for a concurrency slot, then for the rate limit and any hold; resolves with the function
   * that frees the slot. Rejects with `signal.reason` if the signal aborts while waiting.
   */
  readonly acquire: (signal?: AbortSignal) => Promise<() => void>;
  /** Holds every request until `epochMs` (the vendor said the window is used up). Never shortens a hold. */
  readonly holdUntil: (epochMs: number) => void;
  /** Milliseconds until held requests may go again; 0 when nothing is held. */
  readonly heldForMs: () => number;
}

interface Semaphore {
  readonly acquire: (signal?: AbortSignal) => Promise<void>;
  readonly release: () => void;
}

/** A counting semaphore whose waits can be aborted (p-limit cannot drop a queued task on abort). */
const createSemaphore = (max: number): Semaphore => {
  let active = 0;
  const waiters = new Set<() => void>();
  return {
    acquire: (signal) => {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < max) {
        active += 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          waiters.delete(grant);
          reject(signal?.reason);
        };
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          active += 1;
          resolve();
        };
        waiters.add(grant);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    release: () => {
      active -= 1;
      const next = waiters.values().next();
      if (!next.done) {
        waiters.delete(next.value);
        next.value();
      }
    },
  };
};

const isLimit = (n: number | undefined): n is number => n !== undefined && n > 0 && Number.isFinite(n);

/**
 * A token bucket (as GCRA: one "theoretical arrival time" instead of a refill timer) plus a
 * concurrency cap and a hold the client sets from rate-limit headers.
 */
export const createRateLimiter = (options: RateLimiterOptions = {}): RateLimiter => {
  const clock = options.clock ?? systemClock;
  const interval = isLimit(options.requestsPerSecond) ? 1000 / options.requestsPerSecond : 0;
  const burst = Math.max(1, Math.floor(options.burst ?? 1));
  const slots = isLimit(options.maxConcurrent)
    ? createSemaphore(Math.floor(options.maxConcurrent))
    : undefined;
  let arrival = Number.NEGATIVE_INFINITY;
  let heldUntil = 0;

  /** Reserves the next send time and returns how long to wait for it. */
  const reserve = (): number => {
    const now = clock.now();
    const start = Math.max(now, heldUntil);
    if (interval === 0) return start - now;
    arrival = Math.max(arrival, start) + interval;
    return Math.max(start, arrival - burst * interval) - now;
  };

  return {
    acquire: async (signal) => {
      await slots?.acquire(signal);
      try {
        const wait = reserve();
        if (wait > 0) await clock.sleep(wait, signal);
        // A hold set while this request was already waiting for its turn applies to it too.
        const held = heldUntil - clock.now();
        if (held > 0) await clock.sleep(held, signal);
      } catch (error) {
        slots?.release();
        throw error;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        slots?.release();
      };
    },
    holdUntil: (epochMs) => {
      heldUntil = Math.max(heldUntil, epochMs);
    },
    heldForMs: () => Math.max(0, heldUntil - clock.now()),
  };
};
