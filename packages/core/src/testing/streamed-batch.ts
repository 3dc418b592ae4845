import type { ProfileBatch, ProfileChange } from '../contract.ts';

/**
 * A batch that behaves like the runner's: asynchronous, handed over in pages, re-readable, and not
 * an array. The conformance suite submits through it so that a plugin treating batches as arrays
 * fails there rather than in a user's sync.
 */
export const streamedBatch = (changes: readonly ProfileChange[], pageSize = 100): ProfileBatch => ({
  length: changes.length,
  async *[Symbol.asyncIterator]() {
    for (let start = 0; start < changes.length; start += pageSize) {
      // A real store read between pages: other tasks run meanwhile.
      await new Promise((resolve) => setImmediate(resolve));
      yield* changes.slice(start, start + pageSize);
    }
  },
});
