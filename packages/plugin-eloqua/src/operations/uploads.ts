import {
  ConfigError,
  type CsvValue,
  PermanentError,
  type ProfileBatch,
  type ProfileOutcome,
  packBatchesSync,
  type UpsertChange,
  writeCsv,
} from '@ferry/core';
import type { EloquaContext } from '../auth.ts';
import { type Bulk, sendBulk } from '../client.ts';
import { headerBytes, type JobPlan, rowValues } from '../mapping.ts';

/**
 * Data uploads (`POST /contacts/imports/{id}/data`, A.3.4): CSV with a header row, at most
 * `maxUploadBytes` per request (Eloqua answers a bigger one with 404) and `maxUploadsPerSync` per sync.
 * Rows are split with core's packer, which gives the same guarantees the runner's packing has: no
 * chunk over the byte limit, rows kept in order. The split is planned from the row sizes measured in
 * the first pass, so a job that cannot be uploaded is refused before any call; the rows themselves
 * are encoded while they are sent, read from the batch again.
 */

export interface UploadPlan {
  /** Rows per upload, in order; recordIndex runs on across them. */
  readonly chunks: readonly number[];
  /** Rows (by position) that cannot fit in an upload even alone, with the packer's outcome for them. */
  readonly oversized: readonly { readonly position: number; readonly outcome: ProfileOutcome }[];
}

/** What goes through the packer for each row: the rows are positions, not profiles (see below). */
const STAND_IN: UpsertChange = Object.freeze({ kind: 'upsert', profileId: '', identity: '', fields: {} });

export const planUploads = (ctx: EloquaContext, plan: JobPlan, group: number): UploadPlan => {
  const { maxUploadBytes, maxUploadsPerSync } = ctx.options.limits;
  const { columns } = plan.groups[group] as JobPlan['groups'][number];
  // The packer measures each item once, when it takes it, and reports an oversized item before taking
  // the next: so `position` (the row being fed) is the row it measures and the row it reports.
  let position = -1;
  const feed = function* feed() {
    for (const at of plan.rowsOf(group)) {
      position = at;
      yield STAND_IN;
    }
  };
  const chunks: number[] = [];
  const oversized: { position: number; outcome: ProfileOutcome }[] = [];
  const items = packBatchesSync(feed(), {
    limits: {
      maxProfilesPerJob: Number.MAX_SAFE_INTEGER,
      maxBytesPerJob: maxUploadBytes,
      jobOverheadBytes: headerBytes(columns),
    },
    measure: () => plan.bytesAt(position),
    destination: ctx.destination,
  });
  for (const item of items) {
    if (item.kind === 'batch') chunks.push(item.changes.length);
    else oversized.push({ position, outcome: item.outcome });
  }
  if (chunks.length > maxUploadsPerSync) {
    throw new ConfigError(
      ctx.destination,
      `a job needs ${chunks.length} uploads but Eloqua takes at most ${maxUploadsPerSync} per sync: lower limits.maxBytesPerJob`,
    );
  }
  return { chunks, oversized };
};

/** The outcomes of oversized rows' profiles, row by row; `profileIdAt` names them by position. */
export const oversizedOutcomes = (
  plan: JobPlan,
  uploads: UploadPlan,
  profileIdAt: (position: number) => string,
): ProfileOutcome[] =>
  uploads.oversized.flatMap(({ position, outcome }) =>
    plan.profilesOf(position).map((at) => ({
      ...outcome,
      profileId: profileIdAt(at),
      message: `${outcome.message} (one Eloqua upload)`,
    })),
  );

export interface RowSource {
  /** The values of the group's rows `start` to `start + count - 1` (counting the uploaded rows only). */
  readonly rows: (start: number, count: number) => AsyncGenerator<readonly CsvValue[], void, undefined>;
  /** Starts over: the next rows are read by a new pass (all uploads are sent again). */
  readonly restart: () => Promise<void>;
  /** Ends the pass in progress, if any; call when the group's uploads are done or failed. */
  readonly close: () => Promise<void>;
}

/**
 * A group's uploaded rows, encoded from the batch as the uploads are sent. One pass over the batch
 * serves the group's uploads in turn, each reading on where the previous one stopped; a body built
 * again (core's client retries an upload after a 5xx, 429 or dropped connection) reads the batch
 * again for its own rows, since the shared pass is past them.
 */
export const createRowSource = (
  batch: ProfileBatch,
  plan: JobPlan,
  group: number,
  uploads: UploadPlan,
): RowSource => {
  const { columns } = plan.groups[group] as JobPlan['groups'][number];
  const skipped = new Set(uploads.oversized.map(({ position }) => position));
  const read = async function* read(): AsyncGenerator<readonly CsvValue[], void, undefined> {
    let position = 0;
    for await (const change of batch) {
      if (plan.inGroup(position, group) && !skipped.has(position)) yield rowValues(change, columns);
      position += 1;
    }
  };
  const short = () =>
    new Error(`the batch yielded fewer rows on a later pass than on the first (group ${group + 1})`);

  let shared: AsyncGenerator<readonly CsvValue[], void, undefined> | undefined;
  /** How many rows the shared pass has yielded. */
  let taken = 0;

  const rows = async function* rows(start: number, count: number) {
    const end = start + count;
    if (taken <= start) {
      shared ??= read();
      const pass = shared;
      while (taken < end) {
        const step = await pass.next();
        if (step.done === true) throw short();
        const at = taken;
        taken += 1;
        if (at >= start) yield step.value;
      }
      return;
    }
    let at = 0;
    for await (const values of read()) {
      if (at >= start) yield values;
      at += 1;
      if (at >= end) return;
    }
    throw short();
  };

  const close = async (): Promise<void> => {
    const pass = shared;
    shared = undefined;
    await pass?.return();
  };
  const restart = async (): Promise<void> => {
    await close();
    taken = 0;
  };
  return { rows, restart, close };
};

/**
 * Uploads one chunk as CSV. The body is a factory over `writeCsv`, so it is streamed (never one
 * 32 MB string) and built afresh if core's client retries after a 5xx, 429 or dropped connection.
 * Returns `false` when Eloqua answers 404: the definition is gone (auto-deleted, or a reset), or the
 * body was over Eloqua's real size limit.
 */
export const uploadChunk = async (
  ctx: EloquaContext,
  bulk: Bulk,
  definitionUri: string,
  columns: readonly string[],
  rows: () => AsyncIterable<readonly CsvValue[]> | Iterable<readonly CsvValue[]>,
): Promise<boolean> => {
  const response = await sendBulk(ctx, bulk, {
    method: 'POST',
    url: `${definitionUri}/data`,
    headers: { 'content-type': 'text/csv; charset=utf-8' },
    body: () => writeCsv(rows(), { headers: columns }),
    accept: [404],
    operation: 'upload data',
  });
  if (response.status === 404) return false;
  if (response.status === 201) {
    // Only a definition with isSyncTriggeredOnImport answers 201; ours never have it.
    throw new PermanentError(ctx.destination, `upload data: ${definitionUri} started a sync on upload`, {
      code: 'unexpected_sync',
      status: 201,
    });
  }
  return true;
};
