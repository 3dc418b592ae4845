import { hostname } from 'node:os';
import type { Clock } from '@ferry/core';
import type { StateStore } from '../store/state-store.ts';

/*
 * One sync at a time per state store: two runners diffing and settling the same profiles would
 * undo each other's bookkeeping. The lock is a row refreshed by a heartbeat. A holder is presumed
 * dead when its heartbeat is older than the TTL, or at once when it is a process on this machine
 * that no longer exists (so a runner killed with -9 can be restarted immediately).
 */

const LOCK_NAME = 'sync';

/** Owners held by this process, so a lock left by an in-process run that crashed is not mistaken for a live one. */
const liveOwners = new Set<string>();

export class StoreLockedError extends Error {
  constructor(owner: string, heartbeatAt: number) {
    super(
      `[ferry] another ferry sync (${owner}) is using this state store (last seen ${new Date(heartbeatAt).toISOString()}); ` +
        'wait for it to finish, or stop it',
    );
    this.name = 'StoreLockedError';
  }
}

const isDeadLocalProcess = (owner: string): boolean => {
  const [host, pidText] = owner.split(':');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return !liveOwners.has(owner);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

export interface RunLock {
  readonly owner: string;
  readonly release: () => Promise<void>;
}

export const acquireRunLock = async (
  store: StateStore,
  runId: string,
  options: { readonly ttlMs: number; readonly clock: Clock },
): Promise<RunLock> => {
  const owner = `${hostname()}:${process.pid}:${runId}`;
  const { clock, ttlMs } = options;
  let acquired = await store.tryAcquireLock(LOCK_NAME, owner, clock.now());
  if (!acquired) {
    const holder = await store.readLock(LOCK_NAME);
    if (holder === undefined) {
      acquired = await store.tryAcquireLock(LOCK_NAME, owner, clock.now());
    } else if (clock.now() - holder.heartbeatAt > ttlMs || isDeadLocalProcess(holder.owner)) {
      acquired = await store.tryAcquireLock(LOCK_NAME, owner, clock.now(), holder.owner);
    }
    if (!acquired) {
      const current = await store.readLock(LOCK_NAME);
      throw new StoreLockedError(
        current?.owner ?? holder?.owner ?? 'unknown',
        current?.heartbeatAt ?? clock.now(),
      );
    }
  }
  liveOwners.add(owner);
  const timer = setInterval(
    () => {
      store.heartbeatLock(LOCK_NAME, owner, clock.now()).catch(() => undefined);
    },
    Math.max(1000, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    owner,
    release: async () => {
      clearInterval(timer);
      liveOwners.delete(owner);
      await store.releaseLock(LOCK_NAME, owner);
    },
  };
};
