import {
  ConfigError,
  PermanentError,
  type ProfileOutcome,
  packBatchesSync,
  type UpsertChange,
  writeCsv,
} from '@ferry/core';
import type { EloquaContext } from '../auth.ts';
import { type Bulk, sendBulk } from '../client.ts';
import { headerBytes, type PreparedGroup, type PreparedRow } from '../mapping.ts';

/**
 * Data uploads (`POST /contacts/imports/{id}/data`, A.3.4): CSV with a header row, at most
 * `maxUploadBytes` per request (Eloqua answers a bigger one with 404) and `maxUploadsPerSync` per sync.
 * Rows are split with core's packer, which gives the same guarantees the runner's packing has: no
 * chunk over the byte limit, rows kept in order.
 */

export interface UploadPlan {
  /** Rows per upload, in order; recordIndex runs on across them. */
  readonly chunks: readonly (readonly PreparedRow[])[];
  /** Profiles whose row cannot fit in an upload even alone. */
  readonly rejected: readonly ProfileOutcome[];
}

export const planUploads = (ctx: EloquaContext, group: PreparedGroup): UploadPlan => {
  const { maxUploadBytes, maxUploadsPerSync } = ctx.options.limits;
  const byChange = new Map<UpsertChange, PreparedRow>();
  for (const row of group.rows) byChange.set(row.change, row);
  const rowOf = (change: UpsertChange): PreparedRow => byChange.get(change) as PreparedRow;
  const chunks: PreparedRow[][] = [];
  const rejected: ProfileOutcome[] = [];
  const items = packBatchesSync(
    group.rows.map((row) => row.change),
    {
      limits: {
        maxProfilesPerJob: Number.MAX_SAFE_INTEGER,
        maxBytesPerJob: maxUploadBytes,
        jobOverheadBytes: headerBytes(group.columns),
      },
      measure: (change) => rowOf(change).bytes,
      destination: ctx.destination,
    },
  );
  for (const item of items) {
    if (item.kind === 'batch') {
      chunks.push(item.changes.map(rowOf));
      continue;
    }
    for (const profileId of rowOf(item.change).profileIds) {
      rejected.push({ ...item.outcome, profileId, message: `${item.outcome.message} (one Eloqua upload)` });
    }
  }
  if (chunks.length > maxUploadsPerSync) {
    throw new ConfigError(
      ctx.destination,
      `a job needs ${chunks.length} uploads but Eloqua takes at most ${maxUploadsPerSync} per sync: lower limits.maxBytesPerJob`,
    );
  }
  return { chunks, rejected };
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
  rows: readonly PreparedRow[],
): Promise<boolean> => {
  const response = await sendBulk(ctx, bulk, {
    method: 'POST',
    url: `${definitionUri}/data`,
    headers: { 'content-type': 'text/csv; charset=utf-8' },
    body: () =>
      writeCsv(
        rows.map((row) => row.values),
        { headers: columns },
      ),
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
