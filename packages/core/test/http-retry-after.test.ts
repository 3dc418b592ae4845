import { describe, expect, it } from 'vitest';
import {
  backoffCeilingMs,
  backoffMs,
  exhaustedUntil,
  parseRateLimitReset,
  parseRetryAfter,
  retryAfterFromHeaders,
} from '../src/http/retry-after.ts';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
  });

  it('reads an HTTP-date as the time left until it', () => {
    expect(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW)).toBe(7000);
  });

  it('treats a date in the past as "now"', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('-1', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('parseRateLimitReset', () => {
  it('reads epoch seconds (SendGrid)', () => {
    expect(parseRateLimitReset(String(NOW / 1000 + 30), NOW)).toBe(NOW + 30_000);
  });

  it('reads epoch milliseconds', () => {
    expect(parseRateLimitReset(String(NOW + 30_000), NOW)).toBe(NOW + 30_000);
  });

  it('reads small values as seconds from now', () => {
    expect(parseRateLimitReset('12', NOW)).toBe(NOW + 12_000);
  });

  it('ignores what it cannot read', () => {
    expect(parseRateLimitReset('tomorrow', NOW)).toBeUndefined();
    expect(parseRateLimitReset(null, NOW)).toBeUndefined();
  });
});

describe('retryAfterFromHeaders', () => {
  it('prefers Retry-After, then X-RateLimit-Reset, then RateLimit-Reset', () => {
    const reset = String(NOW / 1000 + 9);
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '3', 'x-ratelimit-reset': reset }), NOW)).toBe(
      3000,
    );
    expect(retryAfterFromHeaders(new Headers({ 'x-ratelimit-reset': reset }), NOW)).toBe(9000);
    expect(retryAfterFromHeaders(new Headers({ 'ratelimit-reset': '4' }), NOW)).toBe(4000);
    expect(retryAfterFromHeaders(new Headers(), NOW)).toBeUndefined();
  });

  it('never returns a negative wait for a reset in the past', () => {
    expect(retryAfterFromHeaders(new Headers({ 'x-ratelimit-reset': String(NOW / 1000 - 5) }), NOW)).toBe(0);
  });
});

describe('exhaustedUntil', () => {
  it('is the reset time when nothing is left of the window', () => {
    const headers = new Headers({
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(NOW / 1000 + 2),
    });
    expect(exhaustedUntil(headers, NOW)).toBe(NOW + 2000);
  });

  it('is undefined while requests remain, without a reset, or for a reset in the past', () => {
    const reset = String(NOW / 1000 + 2);
    expect(
      exhaustedUntil(new Headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': reset }), NOW),
    ).toBeUndefined();
    expect(exhaustedUntil(new Headers({ 'x-ratelimit-remaining': '0' }), NOW)).toBeUndefined();
    expect(
      exhaustedUntil(new Headers({ 'x-ratelimit-remaining': '', 'x-ratelimit-reset': reset }), NOW),
    ).toBeUndefined();
    expect(
      exhaustedUntil(
        new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(NOW / 1000 - 1) }),
        NOW,
      ),
    ).toBeUndefined();
  });
});

describe('backoffMs', () => {
  it('doubles its ceiling per attempt up to the cap', () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffCeilingMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('draws a full-jitter wait in [0, ceiling)', () => {
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(0);
    expect(backoffMs(3, 100, 10_000, () => 0.5)).toBe(400);
    expect(backoffMs(3, 100, 10_000, () => 0.999_999)).toBeLessThan(800);
  });

  it('does not overflow for large attempt numbers', () => {
    expect(backoffCeilingMs(5000, 250, 20_000)).toBe(20_000);
  });
});
