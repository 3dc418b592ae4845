import {
  AuthError,
  type Clock,
  ConfigError,
  type Destination,
  type DestinationContext,
  type Limits,
  type Logger,
  PermanentError,
  type ProfileChange,
} from '@ferry/core';
import type { PlannedMember, SettledOutcome, StateStore } from '../../store/state-store.ts';
import type { WiredDestination } from '../../wiring/destination-context.ts';
import type { CallbackRegistry } from '../callback-server.ts';
import type { LeaseKeeper } from '../leases.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import type { EngineSettings } from '../settings.ts';
import { type DestinationCounters, newDestinationCounters } from '../summary.ts';
import type { OutcomePolicy } from './outcomes.ts';

/*
 * What every step of one destination's lane shares in this process: the wired destination, the
 * run it works for, its counters, the job slots and how the lane stops. Steps themselves
 * (plan.ts, submit.ts, check.ts, settle.ts, retries.ts, mirror.ts) load the rest from the store.
 */

/** The run a lane works for, and this process's services. */
export interface LaneRun {
  readonly store: StateStore;
  readonly runId: string;
  readonly runStartedAt: number;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly signal: AbortSignal;
  readonly dryRun: boolean;
  /**
   * The source is read again by a process that took the run over mid-read: profiles this run
   * already planned (same values) are counted as queued, not planned twice.
   */
  readonly rereading: boolean;
  readonly full: boolean;
  readonly force: boolean;
  readonly callbacks: CallbackRegistry | undefined;
  readonly scheduler: Scheduler;
  readonly leases: LeaseKeeper;
  readonly newJobId: () => string;
  readonly onProgress: () => void;
  /** A job started or left this process: the run saves the lane's counters for a takeover. */
  readonly onJobChanged: (destination: string) => void;
}

/** A job this process drives (holds a slot and the job's lease). Its state lives in the store. */
export interface ActiveJob {
  readonly id: string;
  /** Submitted and not settled: counted in `jobsInFlight`. */
  inFlight: boolean;
  /** This process's attempts at steps that failed, reset by a restart (the store keeps the job). */
  submitErrors: number;
  transientCheckErrors: number;
  otherCheckErrors: number;
  resubmits: number;
  /** Resolves when the job leaves this process (settled, left, failed, lane stopped). */
  readonly ended: Promise<void>;
  readonly end: () => void;
}

/** Thrown inside a step to unwind it when the lane stops; never escapes the lane. */
export class LaneStopped extends Error {}

export interface LaneState {
  readonly key: string;
  readonly plugin: Destination;
  readonly destination: WiredDestination;
  readonly ctx: DestinationContext<unknown> | undefined;
  readonly limits: Limits | undefined;
  readonly run: LaneRun;
  readonly settings: EngineSettings;
  readonly counters: DestinationCounters;
  readonly prefix: string;
  readonly signal: AbortSignal;
  readonly maxJobsInFlight: number;
  readonly redact: (text: string) => string;
  /** Jobs this process drives, by id: the lane's job slots. */
  readonly active: Map<string, ActiveJob>;
  /** The packer only sees ProfileChanges; what settling needs is looked up by the change object. */
  readonly plannedOf: WeakMap<ProfileChange, PlannedMember>;
  readonly error: () => string | undefined;
  readonly stalled: () => boolean;
  /** A job was left at its polling deadline: plan and submit nothing more this run. */
  readonly stall: () => void;
  readonly stopped: () => boolean;
  readonly throwIfStopped: () => void;
  readonly fail: (cause: unknown) => void;
  /** Called when the lane stops (fail, abort): planning ends and its jobs are dropped here. */
  readonly onStop: (listener: () => void) => void;
  /** Called when a job was left at its deadline: planning ends, the jobs in flight go on. */
  readonly onStall: (listener: () => void) => void;
  readonly policy: () => OutcomePolicy;
  readonly countOutcomes: (outcomes: readonly SettledOutcome[]) => void;
  /** Wakes whoever waits for a job slot or for jobs to end. */
  readonly notify: () => void;
  readonly changed: () => Promise<void>;
  /** Waits until a job slot is free (or the lane stopped). */
  readonly waitForRoom: () => Promise<void>;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const createLaneState = (
  destination: WiredDestination,
  run: LaneRun,
  initial?: Partial<DestinationCounters>,
): LaneState => {
  const { key, plugin } = destination;
  const settings: EngineSettings = { ...run.settings, ...destination.settings };
  // A run resumed by another process carries on from the counters the first one saved.
  const counters: DestinationCounters = {
    ...newDestinationCounters(key, plugin.name),
    ...initial,
    jobsInFlight: 0,
  };
  const controller = new AbortController();
  const signal = AbortSignal.any([run.signal, controller.signal]);
  const prefix = `[ferry] [${key}]`;
  const redact = destination.ok ? destination.redact : (text: string) => text;
  let error: string | undefined = destination.ok ? undefined : destination.error;
  let stalled = false;
  const stopListeners: (() => void)[] = [];
  const stallListeners: (() => void)[] = [];

  let waiters: (() => void)[] = [];
  const notify = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const changed = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  const stopped = (): boolean => error !== undefined || signal.aborted;
  const limits = destination.ok ? destination.limits : undefined;
  const maxJobsInFlight = Math.max(
    1,
    Math.min(limits?.maxJobsInFlight ?? 1, destination.maxJobsInFlight ?? Number.POSITIVE_INFINITY),
  );
  const active = new Map<string, ActiveJob>();
  const stop = (): void => {
    for (const listener of stopListeners.splice(0)) listener();
    notify();
  };
  signal.addEventListener('abort', stop, { once: true });

  return {
    key,
    plugin,
    destination,
    ctx: destination.ok ? destination.ctx : undefined,
    limits,
    run,
    settings,
    counters,
    prefix,
    signal,
    maxJobsInFlight,
    redact,
    active,
    plannedOf: new WeakMap(),
    error: () => error,
    stalled: () => stalled,
    stall: () => {
      stalled = true;
      for (const listener of stallListeners.splice(0)) listener();
      notify();
    },
    stopped,
    throwIfStopped: () => {
      if (stopped()) throw new LaneStopped();
    },
    fail: (cause) => {
      if (error !== undefined) return;
      error = redact(
        cause instanceof AuthError || cause instanceof ConfigError || cause instanceof PermanentError
          ? cause.message
          : `${prefix} stopped: ${messageOf(cause)}`,
      );
      run.logger.error(error);
      controller.abort(cause);
      stop();
    },
    onStop: (listener) => {
      if (stopped()) listener();
      else stopListeners.push(listener);
    },
    onStall: (listener) => {
      if (stalled) listener();
      else stallListeners.push(listener);
    },
    policy: () => ({ settings, now: run.clock.now(), random: run.random }),
    countOutcomes: (outcomes) => {
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') counters.rejected += 1;
        else counters.retried += 1;
      }
    },
    notify,
    changed,
    waitForRoom: async () => {
      while (!stopped() && !stalled && active.size >= maxJobsInFlight) await changed();
    },
  };
};

export { messageOf };
