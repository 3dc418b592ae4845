import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock, Logger } from '@ferry/core';
import type { Fence, Lease, LeasesStore } from '../store/state-store.ts';

/*
 * The leases this process holds, kept alive by one timer. A step claims the row it works on — a
 * destination lane while it plans, a job while it submits and checks it — and every write the step
 * makes carries the lease as a fence, so a holder that stalled past its lease (and was taken over)
 * cannot commit. A holder is presumed dead when its lease expired, or at once when it is a process
 * on this machine that no longer exists (a runner killed with -9 can be restarted immediately).
 */

/** Lease owners held by this process, so a lease left by an in-process engine that was closed is not mistaken for a live one. */
const liveOwners = new Set<string>();

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

/** A lease this process could not take: who holds it, until when. */
export class LeaseBusyError extends Error {
  readonly holder: Lease;
  constructor(what: string, holder: Lease) {
    super(
      `[ferry] ${what} is busy: ${describeOwner(holder.owner)} holds it (lease until ${new Date(holder.expiresAt).toISOString()})`,
    );
    this.name = 'LeaseBusyError';
    this.holder = holder;
  }
}

/** `host:pid:label` as people read it. */
export const describeOwner = (owner: string): string => {
  const [host, pid, ...rest] = owner.split(':');
  const label = rest.join(':');
  return `ferry process ${pid} on ${host}${label === '' ? '' : ` (${label})`}`;
};

export interface LeaseKeeper {
  readonly owner: string;
  /** Claims `key`, taking it over from a dead holder; undefined when a live process holds it. */
  readonly claim: (key: string) => Promise<Lease | undefined>;
  /** Who holds `key` now, when someone does. */
  readonly holder: (key: string) => Promise<Lease | undefined>;
  /** The fence for a key this process holds (undefined when it does not). */
  readonly fence: (key: string) => Fence | undefined;
  readonly release: (key: string) => Promise<void>;
  /** Releases everything and stops the timer. */
  readonly close: () => Promise<void>;
}

export const createLeaseKeeper = (options: {
  readonly store: LeasesStore;
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Shown to other processes that find a lease taken, e.g. a run id. */
  readonly label?: string;
  /** Called when a held lease could not be renewed: its steps must stop. */
  readonly onLost?: (key: string) => void;
}): LeaseKeeper => {
  const { store, ttlMs, clock, logger } = options;
  const owner = `${hostname()}:${process.pid}:${options.label ?? randomBytes(3).toString('hex')}`;
  liveOwners.add(owner);
  const held = new Map<string, Lease>();
  let renewing: Promise<void> | undefined;

  const renewAll = async (): Promise<void> => {
    for (const [key, lease] of [...held]) {
      let kept = false;
      try {
        kept = await store.renewLease(lease, clock.now(), ttlMs);
      } catch (error) {
        // The store is unreachable for a moment: try again at the next beat, while the lease lasts.
        logger.warn(`[ferry] could not renew the lease on ${key}`, {
          error: error instanceof Error ? error.message : String(error),
        });
        kept = clock.now() < lease.expiresAt;
      }
      if (!kept && held.get(key) === lease) {
        held.delete(key);
        logger.warn(`[ferry] lost the lease on ${key}; another process may take that work over`);
        options.onLost?.(key);
      }
    }
  };
  const timer = setInterval(
    () => {
      renewing ??= renewAll().finally(() => {
        renewing = undefined;
      });
    },
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  timer.unref();

  const claim: LeaseKeeper['claim'] = async (key) => {
    const mine = held.get(key);
    if (mine !== undefined) return mine;
    let lease = await store.claimLease({ key, owner, at: clock.now(), ttlMs });
    if (lease === undefined) {
      const holder = await store.readLease(key);
      if (holder !== undefined && isDeadLocalProcess(holder.owner)) {
        lease = await store.claimLease({ key, owner, at: clock.now(), ttlMs, replacing: holder.token });
      }
    }
    if (lease !== undefined) held.set(key, lease);
    return lease;
  };

  return {
    owner,
    claim,
    holder: async (key) => {
      const lease = await store.readLease(key);
      return lease === undefined || lease.expiresAt <= clock.now() ? undefined : lease;
    },
    fence: (key) => held.get(key),
    release: async (key) => {
      const lease = held.get(key);
      if (lease === undefined) return;
      held.delete(key);
      await store.releaseLease(lease).catch(() => undefined);
    },
    close: async () => {
      clearInterval(timer);
      await renewing;
      const leases = [...held.values()];
      held.clear();
      await Promise.allSettled(leases.map((lease) => store.releaseLease(lease)));
      liveOwners.delete(owner);
    },
  };
};
