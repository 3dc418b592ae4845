import type { ProfileBatch, ProfileChange } from './contract.ts';

/**
 * Reads a whole batch into an array. For plugins whose jobs are small by their own limits (a JSON
 * request of ≤ 30,000 profiles, an in-memory store): holding them is then bounded by `limits`. Large
 * jobs should be streamed instead (see `ProfileBatch`).
 */
export const collectBatch = async (batch: ProfileBatch): Promise<ProfileChange[]> => {
  if (Array.isArray(batch)) return [...(batch as readonly ProfileChange[])];
  const changes: ProfileChange[] = [];
  for await (const change of batch) changes.push(change);
  return changes;
};

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
