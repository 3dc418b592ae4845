/**
 * A bounded hand-over between the source reader and one destination's packer. The reader pushes
 * chunks and waits while the channel is full, so a destination that cannot keep up (all its job
 * slots taken) pauses reading instead of letting memory grow with the input.
 */
export interface Channel<T> {
  /** Resolves once the chunk is queued; waits while `capacity` items are queued already. */
  readonly push: (items: readonly T[]) => Promise<void>;
  /** No more items; the consumer ends after the queued ones. */
  readonly close: () => void;
  /** Ends the consumer at once, dropping what is queued, and releases pushers. */
  readonly abort: () => void;
  /** Items one by one, in push order. Only one consumer. */
  readonly items: () => AsyncGenerator<T, void, undefined>;
}

export const createChannel = <T>(capacity: number): Channel<T> => {
  const queue: (readonly T[])[] = [];
  let queued = 0;
  let closed = false;
  let aborted = false;
  let wakeConsumer: (() => void) | undefined;
  const waitingPushers: (() => void)[] = [];

  const wake = (): void => {
    const resume = wakeConsumer;
    wakeConsumer = undefined;
    resume?.();
  };
  const releasePushers = (): void => {
    while (waitingPushers.length > 0 && (queued < capacity || aborted)) waitingPushers.shift()?.();
  };

  return {
    push: async (items) => {
      if (closed || aborted) return;
      while (queued >= capacity && !aborted) {
        await new Promise<void>((resolve) => waitingPushers.push(resolve));
      }
      if (aborted || items.length === 0) return;
      queue.push(items);
      queued += items.length;
      wake();
    },
    close: () => {
      closed = true;
      wake();
    },
    abort: () => {
      aborted = true;
      closed = true;
      queue.length = 0;
      queued = 0;
      releasePushers();
      wake();
    },
    items: async function* items() {
      for (;;) {
        const next = queue.shift();
        if (next === undefined) {
          if (closed) return;
          await new Promise<void>((resolve) => {
            wakeConsumer = resolve;
          });
          continue;
        }
        queued -= next.length;
        releasePushers();
        for (const item of next) {
          if (aborted) return;
          yield item;
        }
      }
    },
  };
};
