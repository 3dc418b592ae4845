import { randomBytes } from 'node:crypto';
import {
  type AsyncSource,
  type Clock,
  EXPORT_EXPIRED,
  type ExportRecord,
  FerryError,
  type Logger,
  type SourceContext,
  systemClock,
} from '@ferry/core';
import type { ExportsStore, StoredExport } from '../store/export-store.ts';
import { SourceError, type SourceItem, type SourceValue } from './types.ts';

/*
 * A vendor export read as a source. The export is first **downloaded into the state store**: start
 * (the handle is written before anything else), check until ready (the parts are written), then
 * each part read page by page, every page's records and the checkpoint after them in one
 * transaction. Then the stored records are streamed to the engine, exactly like a file. So:
 *   - a process killed while downloading resumes from the last page written, fetching only the rest;
 *   - a run taken over mid-read reads the same records again from the store, asking the vendor
 *     nothing (the engine re-reads a run's source from the start when it takes a run over);
 *   - data the vendor no longer has (its retention passed) is started again from scratch.
 * Once the engine has read every record, they are deleted, `cleanup` runs at the vendor, and the
 * next sync starts a fresh export.
 */

/** Starting again after expiry more often than this in one read means something is wrong. */
const MAX_RESTARTS = 3;
const ROWS_PER_READ = 1000;
const MIN_CHECK_MS = 200;
const MAX_CHECK_MS = 30_000;

export interface ExportReadOptions {
  readonly store: ExportsStore;
  readonly source: AsyncSource;
  readonly ctx: SourceContext<unknown>;
  /** Which export this is: `source` for a sync's source, `reconcile:<destination>` for reconcile. */
  readonly key: string;
  /** How long to wait for the vendor to prepare one export. */
  readonly deadlineMs: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** After each page is stored: records so far, and the vendor's total when it said. */
  readonly onPage?: (rows: number, total: number | null) => void;
}

const newExportId = (at: number): string =>
  `exp_${new Date(at).toISOString().replace(/[-:.]/g, '')}_${randomBytes(3).toString('hex')}`;

const isExpiry = (error: unknown): boolean => error instanceof FerryError && error.code === EXPORT_EXPIRED;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A source error naming the export, keeping the plugin's own message. */
const sourceError = (options: ExportReadOptions, message: string, cause?: unknown): SourceError =>
  new SourceError(`${options.source.name} export`, message, cause === undefined ? undefined : { cause });

const start = async (options: ExportReadOptions): Promise<StoredExport> => {
  const { store, source, ctx, key } = options;
  const clock = options.clock ?? systemClock;
  const handle = await source.start(ctx);
  const at = clock.now();
  await store.startExport({ key, exportId: newExportId(at), source: source.name, handle, at });
  options.logger?.info(`[ferry] [source] started the ${source.displayName}`);
  return (await store.getExport(key)) as StoredExport;
};

/** Checks until ready; `undefined` when the vendor lost the export (start again). */
const waitUntilReady = async (
  options: ExportReadOptions,
  current: StoredExport,
): Promise<StoredExport | undefined> => {
  const { store, source, ctx, key } = options;
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + options.deadlineMs;
  let wait = MIN_CHECK_MS;
  for (;;) {
    const status = await source.check(ctx, current.handle);
    if (status.state === 'ready') {
      const expiresAt = status.expiresAt === undefined ? null : Date.parse(status.expiresAt);
      await store.markExportReady(key, current.exportId, {
        parts: status.parts,
        expiresAt: expiresAt === null || Number.isNaN(expiresAt) ? null : expiresAt,
        total: status.total ?? null,
        at: clock.now(),
      });
      return (await store.getExport(key)) as StoredExport;
    }
    if (status.state === 'failed') {
      if (status.retryable || status.code === EXPORT_EXPIRED) return undefined;
      throw sourceError(options, `the export failed at the vendor: ${status.message}`);
    }
    if (clock.now() >= deadline)
      throw sourceError(
        options,
        `the export was still being prepared after ${Math.round(options.deadlineMs / 60_000)} minutes; ` +
          'run again later: the export is resumed, not started again',
      );
    wait = Math.min(MAX_CHECK_MS, Math.max(MIN_CHECK_MS, status.checkAfterMs ?? wait * 2));
    await clock.sleep(wait, options.signal);
  }
};

/** Reads the remaining parts into the store; `false` when the vendor's data expired meanwhile. */
const download = async (options: ExportReadOptions, ready: StoredExport): Promise<boolean> => {
  const { store, source, ctx, key } = options;
  const clock = options.clock ?? systemClock;
  const parts = ready.parts ?? [];
  let rows = ready.rows;
  let checkpoint = ready.checkpoint;
  for (let index = ready.partIndex; index < parts.length; index += 1) {
    const part = parts[index];
    if (part === undefined) break;
    try {
      for await (const page of source.read(ctx, ready.handle, part, checkpoint)) {
        options.signal?.throwIfAborted();
        const records = page.records.map((record) => JSON.stringify(record));
        await store.appendExportPage(key, ready.exportId, {
          rowsBefore: rows,
          records,
          partIndex: index,
          checkpoint: page.checkpoint,
          at: clock.now(),
        });
        rows += records.length;
        checkpoint = page.checkpoint;
        options.onPage?.(rows, ready.total);
      }
    } catch (error) {
      if (isExpiry(error)) return false;
      throw error;
    }
    // The part is read: the next one starts from its beginning.
    await store.appendExportPage(key, ready.exportId, {
      rowsBefore: rows,
      records: [],
      partIndex: index + 1,
      checkpoint: null,
      at: clock.now(),
    });
    checkpoint = null;
  }
  await store.markExportDownloaded(key, ready.exportId, clock.now());
  return true;
};

/**
 * Brings the export at `key` to `downloaded`, resuming whatever an earlier process left: the
 * started export is checked again, a ready one read on from its checkpoint, an expired one started
 * again. Vendor and store errors are rethrown; nothing is lost, the next call carries on.
 */
export const downloadExport = async (options: ExportReadOptions): Promise<StoredExport> => {
  const { store, source, key } = options;
  const clock = options.clock ?? systemClock;
  let restarts = 0;
  const again = async (current: StoredExport, why: string): Promise<StoredExport> => {
    restarts += 1;
    if (restarts > MAX_RESTARTS)
      throw sourceError(options, `the export expired ${MAX_RESTARTS} times while it was read (${why})`);
    options.logger?.warn(`[ferry] [source] ${why}: starting the ${source.displayName} again`);
    await store.dropExport(key, current.exportId);
    return start(options);
  };
  let current = await store.getExport(key);
  if (current !== undefined && current.source !== source.name) {
    await store.dropExport(key, current.exportId);
    current = undefined;
  }
  current ??= await start(options);
  for (;;) {
    if (current.state === 'downloaded') return current;
    if (current.state === 'started') {
      const ready = await waitUntilReady(options, current);
      current = ready ?? (await again(current, 'the vendor no longer has the export'));
      continue;
    }
    if (current.expiresAt !== null && clock.now() >= current.expiresAt) {
      current = await again(current, "the vendor's copy of the export has expired");
      continue;
    }
    // Said at warn level, like the engine's own "resuming their work": a resumed export is news.
    if (current.rows > 0 || current.partIndex > 0)
      options.logger?.warn(
        `[ferry] [source] resuming the ${source.displayName}: ${current.rows} records already read`,
      );
    if (await download(options, current)) return (await store.getExport(key)) as StoredExport;
    current = await again(current, "the vendor's copy of the export has expired");
  }
};

const toRecord = (json: string): Record<string, SourceValue> => {
  const parsed = JSON.parse(json) as ExportRecord;
  const record: Record<string, SourceValue> = Object.create(null);
  for (const [name, value] of Object.entries(parsed)) record[name] = value;
  return record;
};

/** The stored records as source items, a thousand at a time; `row` is the record's position. */
export async function* storedExportItems(
  store: ExportsStore,
  exported: StoredExport,
  idField: string,
): AsyncGenerator<SourceItem[]> {
  for (let after = 0; ; ) {
    const rows = await store.exportRows(exported.exportId, after, ROWS_PER_READ);
    if (rows.length === 0) return;
    const items: SourceItem[] = [];
    for (const { seq, record: json } of rows) {
      const record = toRecord(json);
      const raw = record[idField];
      const id = raw === null || raw === undefined ? '' : String(raw).trim();
      items.push(
        id === ''
          ? {
              kind: 'bad',
              row: seq,
              line: seq,
              reason: `missing id: exported record has no ${JSON.stringify(idField)}`,
            }
          : { kind: 'record', row: seq, line: seq, id, record },
      );
      after = seq;
    }
    yield items;
  }
}

/** Forgets a read export: its records and row, and what it left at the vendor (best effort). */
export const finishExport = async (options: ExportReadOptions, exported: StoredExport): Promise<void> => {
  await options.store.dropExport(options.key, exported.exportId);
  try {
    await options.source.cleanup?.(options.ctx, exported.handle);
  } catch (error) {
    options.logger?.warn(`[ferry] [source] cleanup at the vendor failed: ${messageOf(error)}`);
  }
};

/**
 * The export as a source for the engine: downloaded (or resumed) into the store, then streamed
 * from it; once every record was taken, forgotten. Vendor failures end the iteration with a
 * SourceError, which the run reports as its source failing.
 */
export async function* readExportSource(
  options: ExportReadOptions & { readonly idField: string },
): AsyncGenerator<SourceItem[]> {
  let exported: StoredExport;
  try {
    exported = await downloadExport(options);
  } catch (error) {
    if (error instanceof SourceError || options.signal?.aborted === true) throw error;
    throw sourceError(options, messageOf(error), error);
  }
  yield* storedExportItems(options.store, exported, options.idField);
  await finishExport(options, exported);
}
