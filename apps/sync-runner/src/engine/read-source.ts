import type { SourceItem, SourceRecordItem } from '../source/types.ts';
import type { BadRow, RunsStore } from '../store/state-store.ts';
import type { DestinationLane } from './lane/lane.ts';
import type { SourceCounters } from './summary.ts';

/*
 * The reading half of a run's plan step: the source is read once, in chunks; for each chunk one
 * store round trip finds duplicate ids, bad rows are recorded, and every lane still taking work
 * diffs and queues the readable records. The reader only waits when a lane has no free job slot.
 */

/** A problem reading the source, kept apart from store or engine failures, which are thrown. */
class SourceFailure {
  readonly message: string;
  constructor(cause: unknown) {
    this.message = cause instanceof Error ? cause.message : String(cause);
  }
}

/**
 * Regroups the source into chunks of `size` items (the last one may be smaller); a source error ends
 * the chunks with what was read before it, then a SourceFailure. The source gives items one by one or
 * in arrays, as `readSource` does (one per chunk read).
 */
async function* chunksOf(
  source: AsyncIterable<SourceItem | readonly SourceItem[]>,
  size: number,
): AsyncGenerator<SourceItem[] | SourceFailure, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let chunk: SourceItem[] = [];
  try {
    for (;;) {
      let next: IteratorResult<SourceItem | readonly SourceItem[]>;
      try {
        next = await iterator.next();
      } catch (cause) {
        if (chunk.length > 0) yield chunk;
        yield new SourceFailure(cause);
        return;
      }
      if (next.done === true) break;
      // (`Array.isArray` does not narrow readonly arrays.)
      const items = Array.isArray(next.value)
        ? (next.value as readonly SourceItem[])
        : [next.value as SourceItem];
      for (const item of items) {
        chunk.push(item);
        if (chunk.length >= size) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  } finally {
    // Stopped early (Ctrl-C, every destination failed): let the source close its file.
    await iterator.return?.();
  }
}

const duplicateReason = (id: string): string =>
  `duplicate id ${JSON.stringify(id)}: an earlier row has the same id; only the first one is synced`;

export interface ReadResult {
  /** Every row was read. */
  readonly complete: boolean;
  /** Why the source could not be read to the end, when it could not. */
  readonly error?: string;
  /** Bad rows without a readable id: any profile could hide behind them (mirror mode refuses). */
  readonly rowsWithoutId: number;
}

/**
 * Reads the source in chunks: one store round trip per chunk records the ids and finds duplicates,
 * bad rows are recorded, and the readable records go to every lane still taking work.
 */
export const readSourceInto = async (
  request: {
    readonly store: RunsStore;
    readonly source: AsyncIterable<SourceItem | readonly SourceItem[]>;
    readonly dryRun: boolean;
  },
  context: {
    readonly runId: string;
    readonly lanes: readonly DestinationLane[];
    readonly source: SourceCounters;
    readonly chunkSize: number;
    readonly signal: AbortSignal;
    readonly onProgress: () => void;
  },
): Promise<ReadResult> => {
  const { store } = request;
  const { runId, lanes, source, signal } = context;
  const { dryRun } = request;
  let rowsWithoutId = 0;
  for await (const chunk of chunksOf(request.source, context.chunkSize)) {
    if (chunk instanceof SourceFailure) {
      return signal.aborted
        ? { complete: false, rowsWithoutId }
        : { complete: false, error: chunk.message, rowsWithoutId };
    }
    if (signal.aborted || !lanes.some((lane) => lane.accepting())) return { complete: false, rowsWithoutId };
    const ids: string[] = [];
    for (const item of chunk) if (item.id !== undefined) ids.push(item.id);
    const earlier = await store.markSeen(runId, ids);
    const inChunk = new Set<string>();
    const records: SourceRecordItem[] = [];
    const bad: BadRow[] = [];
    for (const item of chunk) {
      source.rows += 1;
      if (item.kind === 'bad') {
        if (item.id === undefined) rowsWithoutId += 1;
        else inChunk.add(item.id);
        bad.push(
          item.id === undefined
            ? { row: item.row, reason: item.reason }
            : { row: item.row, profileId: item.id, reason: item.reason },
        );
        continue;
      }
      if (earlier.has(item.id) || inChunk.has(item.id)) {
        source.duplicates += 1;
        bad.push({ row: item.row, profileId: item.id, reason: duplicateReason(item.id) });
        continue;
      }
      inChunk.add(item.id);
      records.push(item);
    }
    source.records += records.length;
    source.badRows += bad.length;
    if (bad.length > 0 && !dryRun) await store.addBadRows(runId, bad);
    await Promise.all(lanes.filter((lane) => lane.accepting()).map((lane) => lane.offer(records)));
    context.onProgress();
    // node:sqlite answers synchronously, so without this a fast source would run the whole read in
    // microtasks and starve timers and sockets: the jobs' HTTP calls and status checks.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { complete: !signal.aborted, rowsWithoutId };
};
