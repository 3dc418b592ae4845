import type { Clock } from '../src/http/types.ts';

/**
 * Virtual time for the HTTP client's waits: nothing really waits, yet every wait ends in time order
 * and `now()` reads the virtual time it ended at. Each `sleep` schedules one macrotask that ends the
 * earliest pending wait, so code woken by a wait runs (its microtasks) before time moves on.
 */
export const virtualClock = (start = Date.UTC(2025, 0, 15, 12, 0, 0)) => {
  let now = start;
  const sleeps: number[] = [];
  const pending = new Set<{ at: number; order: number; resolve: () => void }>();
  let order = 0;

  const advance = () => {
    let next: { at: number; order: number; resolve: () => void } | undefined;
    for (const timer of pending) {
      if (next === undefined || timer.at < next.at || (timer.at === next.at && timer.order < next.order))
        next = timer;
    }
    if (next === undefined) return;
    pending.delete(next);
    now = Math.max(now, next.at);
    next.resolve();
  };

  const clock: Clock = {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason);
          return;
        }
        sleeps.push(ms);
        const timer = {
          at: now + Math.max(0, ms),
          order: order++,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          pending.delete(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.add(timer);
        setImmediate(advance);
      }),
  };

  return {
    clock,
    /** Every wait asked for, in order. */
    sleeps,
    start,
    /** Virtual milliseconds since `start`. */
    elapsed: () => now - start,
  };
};
