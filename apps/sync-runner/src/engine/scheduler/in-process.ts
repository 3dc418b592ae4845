import { type Clock, systemClock } from '@ferry/core';
import type { Scheduler, SchedulerStart, Step, StepKind } from './scheduler.ts';

/*
 * The default scheduler: one process, timers. A due step waits only for a free slot in its group,
 * so a sync runs at today's speed; nothing is persisted here because the store already holds what
 * a restarted process needs to schedule the same steps again (unfinished jobs and their next check).
 */

interface Entry {
  step: Step;
  at: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const keyOf = (kind: StepKind, id: string): string => `${kind}:${id}`;

export const createInProcessScheduler = (options: { readonly clock?: Clock } = {}): Scheduler => {
  const clock = options.clock ?? systemClock;
  let started: SchedulerStart | undefined;
  let closed = false;
  /** Scheduled, not yet running. */
  const pending = new Map<string, Entry>();
  /** Due and waiting for a slot in their group, in order. */
  const ready: Entry[] = [];
  /** Running now, by key; a key scheduled again while running is re-queued at its end. */
  const running = new Map<string, Promise<void>>();
  const again = new Map<string, Entry>();
  const busy = new Map<string, number>();

  const drain = (): void => {
    if (started === undefined || closed) return;
    for (let index = 0; index < ready.length; ) {
      const entry = ready[index]!;
      const { group } = entry.step;
      if ((busy.get(group) ?? 0) >= Math.max(1, started.concurrency(group))) {
        index += 1;
        continue;
      }
      ready.splice(index, 1);
      run(entry);
    }
  };

  const run = (entry: Entry): void => {
    const { step } = entry;
    const key = keyOf(step.kind, step.id);
    busy.set(step.group, (busy.get(step.group) ?? 0) + 1);
    // Marked running before the handler starts: a handler that schedules its own step again
    // synchronously must queue it behind itself, not start it beside itself.
    let ended!: () => void;
    running.set(
      key,
      new Promise<void>((resolve) => {
        ended = resolve;
      }),
    );
    void (async () => {
      try {
        await started!.handler(step);
      } catch (error) {
        started!.onError(step, error);
      }
    })().finally(() => {
      running.delete(key);
      ended();
      busy.set(step.group, (busy.get(step.group) ?? 1) - 1);
      const next = again.get(key);
      if (next !== undefined) {
        again.delete(key);
        arm(next);
      }
      drain();
    });
  };

  const due = (entry: Entry): void => {
    entry.timer = undefined;
    pending.delete(keyOf(entry.step.kind, entry.step.id));
    ready.push(entry);
    drain();
  };

  const arm = (entry: Entry): void => {
    if (closed) return;
    pending.set(keyOf(entry.step.kind, entry.step.id), entry);
    const delay = entry.at - clock.now();
    if (delay <= 0) {
      // Not synchronously: a step scheduling its own successor must return first.
      entry.timer = setTimeout(() => due(entry), 0);
      return;
    }
    entry.timer = setTimeout(() => due(entry), delay);
  };

  const unschedule = (key: string): Entry | undefined => {
    const entry = pending.get(key);
    if (entry === undefined) return undefined;
    pending.delete(key);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    return entry;
  };

  return {
    start: (start) => {
      if (started !== undefined) throw new Error('[ferry] scheduler already started');
      started = start;
      drain();
    },
    schedule: async (step, at) => {
      if (closed) return;
      const key = keyOf(step.kind, step.id);
      unschedule(key);
      const queued = ready.findIndex((entry) => keyOf(entry.step.kind, entry.step.id) === key);
      if (queued >= 0) ready.splice(queued, 1);
      const entry: Entry = { step, at, timer: undefined };
      if (running.has(key)) again.set(key, entry);
      else arm(entry);
    },
    wake: (kind, id) => {
      const entry = unschedule(keyOf(kind, id));
      if (entry === undefined) return;
      entry.at = clock.now();
      arm(entry);
    },
    cancel: (kind, id) => {
      const key = keyOf(kind, id);
      unschedule(key);
      again.delete(key);
      const queued = ready.findIndex((entry) => keyOf(entry.step.kind, entry.step.id) === key);
      if (queued >= 0) ready.splice(queued, 1);
    },
    pending: () => pending.size + ready.length + again.size,
    close: async () => {
      closed = true;
      for (const key of [...pending.keys()]) unschedule(key);
      ready.length = 0;
      again.clear();
      await Promise.allSettled([...running.values()]);
    },
  };
};
