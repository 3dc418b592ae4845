import { describe, expect, it } from 'vitest';
import { createRateLimiter, systemClock } from '../src/http/rate-limiter.ts';
import { virtualClock } from './http-virtual-clock.ts';

describe('createRateLimiter', () => {
  it('spaces requests evenly at requestsPerSecond', async () => {
    const { clock, elapsed } = virtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 5, clock });
    const startedAt = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const release = await limiter.acquire();
        const at = elapsed();
        release();
        return at;
      }),
    );
    expect(startedAt.sort((a, b) => a - b)).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
  });

  it('lets a burst through before spacing', async () => {
    const { clock, elapsed } = virtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 10, burst: 3, clock });
    const startedAt: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      (await limiter.acquire())();
      startedAt.push(elapsed());
    }
    expect(startedAt).toEqual([0, 0, 0, 100, 200]);
  });

  it('does not wait without a rate', async () => {
    const { clock, sleeps } = virtualClock();
    const limiter = createRateLimiter({ clock });
    for (let i = 0; i < 20; i += 1) (await limiter.acquire())();
    expect(sleeps).toEqual([]);
  });

  it('holds every request until a hold ends, and never shortens a hold', async () => {
    const { clock, elapsed, start } = virtualClock();
    const limiter = createRateLimiter({ clock });
    limiter.holdUntil(start + 3000);
    limiter.holdUntil(start + 1000);
    expect(limiter.heldForMs()).toBe(3000);
    (await limiter.acquire())();
    expect(elapsed()).toBe(3000);
    expect(limiter.heldForMs()).toBe(0);
  });

  it('applies a hold set while a request was already waiting for its turn', async () => {
    const { clock, elapsed, start } = virtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 10, clock });
    (await limiter.acquire())();
    const second = limiter.acquire(); // its turn is at 100 ms
    limiter.holdUntil(start + 2000);
    (await second)();
    expect(elapsed()).toBe(2000);
  });

  it('caps the requests in flight', async () => {
    const limiter = createRateLimiter({ maxConcurrent: 2 });
    let inFlight = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const release = await limiter.acquire();
        inFlight += 1;
        most = Math.max(most, inFlight);
        await systemClock.sleep(2);
        inFlight -= 1;
        release();
      }),
    );
    expect(most).toBe(2);
  });

  it('gives up a queued wait when its signal aborts, without taking a slot', async () => {
    const limiter = createRateLimiter({ maxConcurrent: 1 });
    const first = await limiter.acquire();
    const controller = new AbortController();
    const queued = limiter.acquire(controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(queued).rejects.toBe(reason);
    first();
    // The slot is free again: the aborted waiter did not keep it.
    const again = await limiter.acquire();
    again();
  });

  it('release is idempotent', async () => {
    const limiter = createRateLimiter({ maxConcurrent: 1 });
    const release = await limiter.acquire();
    release();
    release();
    const a = await limiter.acquire();
    let secondGot = false;
    const b = limiter.acquire().then((r) => {
      secondGot = true;
      return r;
    });
    await systemClock.sleep(5);
    expect(secondGot).toBe(false);
    a();
    (await b)();
  });
});

describe('systemClock.sleep', () => {
  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
    await expect(systemClock.sleep(10, controller.signal)).rejects.toBe(reason);
  });
});
