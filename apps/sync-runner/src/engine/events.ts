import type { RunSummary, SyncProgress } from './summary.ts';

/*
 * A run's events, for whoever watches it in this process: the CLI's progress bars today,
 * server-sent events tomorrow. `progress` carries the live counters (read them, do not keep them);
 * `phase` marks reading → finishing; `finished` carries the summary; `failed` says the run could not
 * be recorded (the store failed under it).
 */

export type RunEvent =
  | { readonly type: 'progress'; readonly runId: string; readonly progress: SyncProgress }
  | { readonly type: 'phase'; readonly runId: string; readonly phase: SyncProgress['phase'] }
  | { readonly type: 'finished'; readonly runId: string; readonly summary: RunSummary }
  | { readonly type: 'failed'; readonly runId: string; readonly error: string };

export type RunListener = (event: RunEvent) => void;

export interface RunEvents {
  readonly emit: (event: RunEvent) => void;
  /** Listens to one run; returns the function that stops listening. */
  readonly subscribe: (runId: string, listener: RunListener) => () => void;
  /** The run's events from now on, ending after `finished` or `failed`. */
  readonly stream: (runId: string) => AsyncIterable<RunEvent>;
  /** The last `finished`/`failed` event of a run this process drove, if any. */
  readonly ended: (runId: string) => RunEvent | undefined;
}

const isEnd = (event: RunEvent): boolean => event.type === 'finished' || event.type === 'failed';

/** Ended runs remembered for late `stream` and `ended` callers; older ones are read from the store. */
const ENDS_KEPT = 1000;

export const createRunEvents = (): RunEvents => {
  const listeners = new Map<string, Set<RunListener>>();
  const ends = new Map<string, RunEvent>();

  const subscribe: RunEvents['subscribe'] = (runId, listener) => {
    let set = listeners.get(runId);
    if (set === undefined) {
      set = new Set();
      listeners.set(runId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && listeners.get(runId) === set) listeners.delete(runId);
    };
  };

  return {
    emit: (event) => {
      if (isEnd(event)) {
        ends.set(event.runId, event);
        // A long-lived engine (the service) must not keep every run it ever drove.
        if (ends.size > ENDS_KEPT) ends.delete(ends.keys().next().value!);
      }
      for (const listener of [...(listeners.get(event.runId) ?? [])]) listener(event);
    },
    subscribe,
    ended: (runId) => ends.get(runId),
    stream: (runId) => ({
      [Symbol.asyncIterator]: async function* events() {
        const ended = ends.get(runId);
        if (ended !== undefined) {
          yield ended;
          return;
        }
        const queue: RunEvent[] = [];
        let wake: (() => void) | undefined;
        const stop = subscribe(runId, (event) => {
          // Progress events replace each other: a slow reader sees the latest counters, not a backlog.
          if (event.type === 'progress' && queue.at(-1)?.type === 'progress') queue[queue.length - 1] = event;
          else queue.push(event);
          wake?.();
        });
        try {
          for (;;) {
            const next = queue.shift();
            if (next === undefined) {
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
              wake = undefined;
              continue;
            }
            yield next;
            if (isEnd(next)) return;
          }
        } finally {
          stop();
        }
      },
    }),
  };
};
