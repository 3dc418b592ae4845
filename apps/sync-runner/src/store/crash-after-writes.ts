import type { StateStore } from './state-store.ts';

/*
 * Test support for crash safety: a store that "dies" after a number of writes. Tests walk the crash
 * point across every write of a run and check that running again on the same file loses nothing.
 * The CLI uses it with `FERRY_TEST_CRASH_AFTER_WRITES` to kill -9 itself at an exact point.
 */

/** The writes that make up the engine's durable progress (lock bookkeeping is left out). */
const WRITES = [
  'createRun',
  'finishRun',
  'interruptRunningRuns',
  'markSeen',
  'forgetSeen',
  'addBadRows',
  'planJob',
  'addJobMembers',
  'markSubmitting',
  'markSubmitted',
  'recordCheck',
  'settleJob',
  'failJob',
  'requeueJob',
  'recordRejects',
  'requeueProblems',
] as const satisfies readonly (keyof StateStore)[];

export class InjectedCrash extends Error {
  constructor(write: string, count: number) {
    super(`[ferry] injected crash before write ${count} (${write})`);
    this.name = 'InjectedCrash';
  }
}

export interface CrashAfterWrites {
  readonly store: StateStore;
  /** Writes that went through so far. */
  readonly writes: () => number;
  /** Whether the crash point was reached. */
  readonly crashed: () => boolean;
}

/**
 * Lets `limit` writes through, then calls `onCrash` (default: throw InjectedCrash) instead of every
 * later write, so nothing after the crash point reaches the store.
 */
export const crashAfterWrites = (
  store: StateStore,
  limit: number,
  onCrash: (write: string, count: number) => never = (write, count) => {
    throw new InjectedCrash(write, count);
  },
): CrashAfterWrites => {
  let writes = 0;
  let crashed = false;
  const wrapped: Record<string, unknown> = { ...store };
  for (const name of WRITES) {
    const original = store[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      if (writes >= limit) {
        crashed = true;
        onCrash(name, writes + 1);
      }
      writes += 1;
      return original(...args);
    };
  }
  return { store: wrapped as unknown as StateStore, writes: () => writes, crashed: () => crashed };
};
