import { STORE_WRITES } from '../../src/store/instrument.ts';
import type { StateStore } from '../../src/store/state-store.ts';

/*
 * Test support for crash safety: a store that "dies" after a number of writes. Tests walk the crash
 * point across every write of a run and check that running again on the same file loses nothing.
 * (For a real process, crash-preload.ts kills it at an exact write through the store's
 * diagnostics channel.)
 */

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
 * Lets `limit` writes through, then throws InjectedCrash instead of every later write, so nothing
 * after the crash point reaches the store.
 */
export const crashAfterWrites = (store: StateStore, limit: number): CrashAfterWrites => {
  let writes = 0;
  let crashed = false;
  const wrapped: Record<string, unknown> = { ...store };
  for (const name of STORE_WRITES) {
    const original = store[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      if (writes >= limit) {
        crashed = true;
        throw new InjectedCrash(name, writes + 1);
      }
      writes += 1;
      return original(...args);
    };
  }
  return { store: wrapped as unknown as StateStore, writes: () => writes, crashed: () => crashed };
};
