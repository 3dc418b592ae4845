import { createMemoryLogger } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { createChannel } from '../src/engine/channel.ts';
import { needsSend } from '../src/engine/lane/diff.ts';
import { failAll, retryOrReject, settleOutcomes } from '../src/engine/lane/outcomes.ts';
import { defaultEngineSettings, nextCheckDelayMs } from '../src/engine/settings.ts';
import {
  type DestinationSummary,
  exitCodeOf,
  newDestinationCounters,
  newSourceCounters,
} from '../src/engine/summary.ts';
import type { PlannedMember, ProfileStateSummary } from '../src/store/state-store.ts';

const state = (
  status: ProfileStateSummary['status'],
  fingerprint: string | null,
  confirmed: string | null,
): ProfileStateSummary => ({
  status,
  fingerprint,
  confirmedFingerprint: confirmed,
  runId: 'run-earlier',
  attempts: 0,
});

describe('needsSend', () => {
  it('sends what the destination has not confirmed, and nothing twice', () => {
    expect(needsSend(undefined, 'a', false)).toBe(true);
    expect(needsSend(state('exported', 'a', 'a'), 'a', false)).toBe(false);
    expect(needsSend(state('exported', 'a', 'a'), 'b', false)).toBe(true);
    expect(needsSend(state('exported', 'a', 'a'), 'a', true)).toBe(true);
    // In a job already, with these values: the job covers it, even with --full.
    expect(needsSend(state('pending', 'b', 'a'), 'b', true)).toBe(false);
    expect(needsSend(state('pending', 'b', 'a'), 'c', false)).toBe(true);
    // Going back to the confirmed values while newer ones are in flight must send them again.
    expect(needsSend(state('pending', 'b', 'a'), 'a', false)).toBe(true);
    expect(needsSend(state('retry_wait', 'b', 'a'), 'b', false)).toBe(false);
    expect(needsSend(state('retry_wait', 'b', 'a'), 'c', false)).toBe(true);
    expect(needsSend(state('rejected', 'b', null), 'b', false)).toBe(false);
    expect(needsSend(state('rejected', 'b', null), 'b', true)).toBe(true);
    expect(needsSend(state('rejected', null, null), 'b', false)).toBe(true);
    expect(needsSend(state('deleted', null, null), 'b', false)).toBe(true);
  });
});

describe('nextCheckDelayMs', () => {
  const settings = { ...defaultEngineSettings, firstCheckDelayMs: 100, maxCheckIntervalMs: 1000 };
  it('backs off exponentially, honours the hint, caps, and jitters by ±25 %', () => {
    expect(nextCheckDelayMs(settings, 0, undefined, () => 0.5)).toBe(100);
    expect(nextCheckDelayMs(settings, 2, undefined, () => 0.5)).toBe(400);
    expect(nextCheckDelayMs(settings, 10, undefined, () => 0.5)).toBe(1000);
    expect(nextCheckDelayMs(settings, 0, 700, () => 0.5)).toBe(700);
    expect(nextCheckDelayMs(settings, 0, 60_000, () => 0.5)).toBe(1000);
    expect(nextCheckDelayMs(settings, 0, undefined, () => 0)).toBe(75);
    expect(nextCheckDelayMs(settings, 0, undefined, () => 0.999)).toBe(125);
  });
});

describe('outcomes', () => {
  const member = (profileId: string, attempts = 0): PlannedMember => ({
    change: { kind: 'upsert', profileId, identity: `${profileId}@x.com`, fields: {} },
    fingerprint: `f-${profileId}`,
    attempts,
  });
  const policy = {
    settings: { ...defaultEngineSettings, maxAttempts: 3, retryBaseMs: 100, retryMaxMs: 1000 },
    now: 10_000,
    random: () => 0.5,
  };

  it('schedules a retry after at least the vendor wait, and rejects once the attempts are used up', () => {
    expect(retryOrReject(member('a'), { message: 'busy', retryAfterMs: 5000 }, policy)).toMatchObject({
      status: 'retry_wait',
      attempts: 1,
      nextAttemptAt: 15_000,
    });
    expect(retryOrReject(member('a', 1), { message: 'busy' }, policy)).toMatchObject({
      status: 'retry_wait',
      attempts: 2,
      nextAttemptAt: 10_100,
    });
    expect(retryOrReject(member('a', 2), { code: 'E503', message: 'busy' }, policy)).toMatchObject({
      status: 'rejected',
      code: 'E503',
      message: 'gave up after 3 attempts: busy',
    });
  });

  it('ignores outcomes for profiles outside the job, and keeps the first of duplicates', () => {
    const logger = createMemoryLogger();
    const members = new Map([['a', member('a')]]);
    const settled = settleOutcomes(
      members,
      [
        { profileId: 'a', status: 'rejected', code: 'X', message: 'first', field: 'email' },
        { profileId: 'a', status: 'rejected', code: 'Y', message: 'second' },
        { profileId: 'zz', status: 'rejected', code: 'Z', message: 'stranger' },
      ],
      policy,
      logger,
      'dest',
    );
    expect(settled).toEqual([
      { member: member('a'), status: 'rejected', code: 'X', message: 'first', field: 'email' },
    ]);
    expect(logger.lines).toMatchObject([{ level: 'warn', fields: { profileId: 'zz' } }]);
  });

  it('fails every member of a failed job, retryable or not', () => {
    expect(
      failAll(
        [member('a'), member('b')],
        { retryable: false, code: 'job_failed', message: 'bad file' },
        policy,
      ),
    ).toEqual([
      { member: member('a'), status: 'rejected', code: 'job_failed', message: 'bad file' },
      { member: member('b'), status: 'rejected', code: 'job_failed', message: 'bad file' },
    ]);
    expect(
      failAll([member('a')], { retryable: true, code: 'job_failed', message: 'down' }, policy)[0]?.status,
    ).toBe('retry_wait');
  });
});

describe('channel', () => {
  it('hands items over in order and makes pushers wait while it is full', async () => {
    const channel = createChannel<number>(4);
    const received: number[] = [];
    await channel.push([1, 2, 3, 4]);
    let pushed = false;
    const blocked = channel.push([5, 6]).then(() => {
      pushed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(pushed).toBe(false);
    const consuming = (async () => {
      for await (const item of channel.items()) received.push(item);
    })();
    await blocked;
    expect(pushed).toBe(true);
    channel.close();
    await consuming;
    expect(received).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('releases waiting pushers and ends the consumer when aborted', async () => {
    const channel = createChannel<number>(1);
    await channel.push([1]);
    const waiting = channel.push([2]);
    channel.abort();
    await waiting;
    const items: number[] = [];
    for await (const item of channel.items()) items.push(item);
    expect(items).toEqual([]);
  });
});

describe('exitCodeOf', () => {
  const destination = (overrides: Partial<DestinationSummary> = {}): DestinationSummary => ({
    ...newDestinationCounters('d', 'p'),
    pending: 0,
    waitingRetry: 0,
    ...overrides,
  });
  const run = (status: 'completed' | 'failed' | 'aborted', destinations: DestinationSummary[], badRows = 0) =>
    exitCodeOf({ status, source: { ...newSourceCounters(), badRows }, destinations });

  it('puts "could not run" before rejects before unfinished work', () => {
    expect(run('completed', [destination()])).toBe(0);
    expect(run('completed', [destination({ pending: 3 })])).toBe(3);
    expect(run('completed', [destination({ waitingRetry: 1 })])).toBe(3);
    expect(run('aborted', [destination()])).toBe(3);
    expect(run('completed', [destination({ pending: 3, rejected: 1 })])).toBe(2);
    expect(run('completed', [destination({ stillRejected: 1 })])).toBe(2);
    expect(run('completed', [destination()], 1)).toBe(2);
    expect(run('completed', [destination({ rejected: 1 }), destination({ error: 'auth' })])).toBe(1);
    expect(
      run('completed', [
        destination({ mirror: { confirmed: 10, absent: 5, maxDeleteFraction: 0.1, refused: true } }),
      ]),
    ).toBe(1);
    expect(run('failed', [destination()])).toBe(1);
  });
});
