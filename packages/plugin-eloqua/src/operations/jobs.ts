import {
  type ExportResult,
  JOB_NOT_FOUND,
  type JobHandle,
  type JobMember,
  type JobStatus,
  PermanentError,
  type ProfileChange,
  type ProfileOutcome,
} from '@ferry/core';
import { z } from 'zod';
import { bulkBaseUrl, checkBaseUrl, type EloquaContext } from '../auth.ts';
import { type Bulk, bulkClient } from '../client.ts';
import { identityKey, type PreparedGroup, prepareJob } from '../mapping.ts';
import type { SyncReject, SyncStatus } from '../types.ts';
import {
  type AcquiredDefinition,
  acquireDefinition,
  clearStagedData,
  deleteDefinition,
} from './definitions.ts';
import {
  createSync,
  describeSyncError,
  getSyncStatus,
  readLogs,
  readRejects,
  type SyncFailure,
} from './syncs.ts';
import { planUploads, type UploadPlan, uploadChunk } from './uploads.ts';

/**
 * A job: one sync per group of rows (usually exactly one), and what its handle holds.
 *
 * The handle is the Bulk base URL, the identifier column, and per sync its uri, its definition's uri
 * and its row count — a few hundred bytes whatever the batch size, and enough to check the job from
 * any process without calling `/id`. The rows themselves are known again from `members`.
 */

const syncSchema = z.object({
  sync: z.string().regex(/^\/syncs\/\d+$/),
  def: z.string().regex(/^\/contacts\/imports\/\d+$/),
  rows: z.number().int().min(0),
  /** The definition was made for this job alone (`reuseDefinitions: false`); cleanup deletes it. */
  owned: z.boolean().optional(),
});
const handleSchema = z.object({
  v: z.literal(1),
  base: z.string(),
  key: z.string(),
  syncs: z.array(syncSchema).min(1),
});
export type EloquaHandle = z.output<typeof handleSchema>;
type HandleSync = z.output<typeof syncSchema>;

export const parseHandle = (ctx: EloquaContext, job: JobHandle): EloquaHandle => {
  const parsed = handleSchema.safeParse(job);
  // Not retryable: the same handle will never become readable.
  if (!parsed.success)
    throw new PermanentError(ctx.destination, 'unreadable job handle (not from this destination?)');
  checkBaseUrl(ctx.destination, parsed.data.base);
  return parsed.data;
};

const uniqueByProfile = (outcomes: readonly ProfileOutcome[]): ProfileOutcome[] => {
  const seen = new Set<string>();
  return outcomes.filter((outcome) => !seen.has(outcome.profileId) && seen.add(outcome.profileId));
};

/** Uploads one group's chunks to a definition and starts its sync; retries once on a vanished definition. */
const submitGroup = async (
  ctx: EloquaContext,
  bulk: Bulk,
  group: PreparedGroup,
  plan: UploadPlan,
): Promise<HandleSync> => {
  let definition: AcquiredDefinition | undefined;
  let synced = false;
  try {
    for (let attempt = 1; ; attempt += 1) {
      definition = await acquireDefinition(ctx, bulk, group);
      let uploaded = true;
      for (const chunk of plan.chunks) {
        if (!(await uploadChunk(ctx, bulk, definition.uri, group.columns, chunk))) {
          uploaded = false;
          break;
        }
      }
      if (uploaded) break;
      definition.release();
      // The definition disappeared (auto-deleted or purged) and took the staged chunks with it.
      if (attempt >= 2) {
        throw new PermanentError(
          ctx.destination,
          `upload data: Eloqua answered 404 for two definitions in a row; an upload over Eloqua's size limit also gets 404 (limits.maxUploadBytes is ${ctx.options.limits.maxUploadBytes})`,
          { status: 404, code: 'http_404' },
        );
      }
    }
    const syncUri = await createSync(ctx, bulk, definition.uri, ctx.callbackUrl);
    synced = true;
    const rows = plan.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    return { sync: syncUri, def: definition.uri, rows, ...(definition.owned ? { owned: true } : {}) };
  } catch (error) {
    // Best effort: what this job staged must not ride along with the next job's sync.
    const uri = definition?.uri;
    if (!synced && uri !== undefined) {
      const undo = definition?.owned ? deleteDefinition(ctx, bulk, uri) : clearStagedData(ctx, bulk, uri);
      await undo.catch((undoError: unknown) =>
        ctx.logger.warn('[eloqua] could not drop staged data after a failed submission', {
          definition: uri,
          error: String(undoError),
        }),
      );
    }
    throw error;
  } finally {
    definition?.release();
  }
};

/**
 * Submits a batch: prepares rows (rejecting what cannot be imported), then per group acquires a
 * definition, uploads, and starts the sync. Does not wait for the syncs.
 */
export const exportJob = async (
  ctx: EloquaContext,
  batch: readonly ProfileChange[],
): Promise<ExportResult> => {
  if (batch.length === 0) return { job: null, rejected: [] };
  const prepared = prepareJob(batch, ctx.options);
  const rejected: ProfileOutcome[] = [...prepared.rejected];
  const planned = prepared.groups.map((group) => ({ group, plan: planUploads(ctx, group) }));
  for (const { plan } of planned) rejected.push(...plan.rejected);
  const work = planned.filter(({ plan }) => plan.chunks.length > 0);
  if (work.length === 0) return { job: null, rejected: uniqueByProfile(rejected) };

  const base = await bulkBaseUrl(ctx);
  const bulk = bulkClient(ctx, base);
  const syncs: HandleSync[] = [];
  for (const { group, plan } of work) syncs.push(await submitGroup(ctx, bulk, group, plan));
  const handle: EloquaHandle = { v: 1, base, key: ctx.options.identifierField, syncs };
  ctx.logger.debug('eloqua job submitted', {
    syncs: syncs.map((sync) => sync.sync),
    rows: syncs.reduce((sum, sync) => sum + sync.rows, 0),
    rejected: rejected.length,
  });
  return { job: handle, rejected: uniqueByProfile(rejected) };
};

/** Rejects for a row Eloqua imported once already in the same sync: only a repeated upload makes them. */
const DUPLICATE_CODES: ReadonlySet<string> = new Set(['ELQ-00011', 'ELQ-00026']);
/** ELQ-00040: some values were refused, the rest of the record was imported (A.3.9, E15). */
const PARTIAL_IMPORT = 'ELQ-00040';

const toOutcome = (profileId: string, reject: SyncReject): ProfileOutcome => {
  const fields = reject.invalidFields ?? [];
  const field = fields[0];
  const parts = [reject.message ?? 'Rejected by Eloqua.'];
  if (fields.length > 0) parts.push(`(${fields.join(', ')})`);
  if (reject.statusCode === PARTIAL_IMPORT) parts.push('- the other fields of the record were imported');
  return {
    profileId,
    status: 'rejected',
    code: reject.statusCode ?? 'ELQ-unknown',
    message: parts.join(' '),
    ...(field === undefined ? {} : { field }),
  };
};

/**
 * Row order of a single-sync job, rebuilt from `members` the way `prepareJob` built it: one row per
 * identity, where its last profile was. Only trusted when it has as many rows as the sync had.
 */
const rowKeysOf = (members: readonly JobMember[]): string[] => {
  const last = new Map<string, number>();
  members.forEach((member, index) => {
    const key = identityKey(member.identity);
    last.delete(key);
    last.set(key, index);
  });
  return [...last.keys()];
};

/** Turns Eloqua's rejects into outcomes for members, matching by identifier and cross-checking recordIndex. */
const createRejectMapper = (ctx: EloquaContext, handle: EloquaHandle, members: readonly JobMember[]) => {
  const byKey = new Map<string, number[]>();
  members.forEach((member, index) => {
    const key = identityKey(member.identity);
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [index]);
    else list.push(index);
  });
  const outcomes = new Map<string, ProfileOutcome>();
  const single = handle.syncs[0] !== undefined && handle.syncs.length === 1;
  let rowKeys: readonly string[] | null | undefined;
  const rowKeyAt = (recordIndex: number | undefined): string | undefined => {
    if (!single || recordIndex === undefined) return undefined;
    if (rowKeys === undefined) {
      const keys = rowKeysOf(members);
      rowKeys = keys.length === handle.syncs[0]?.rows ? keys : null;
    }
    return rowKeys?.[recordIndex - 1];
  };
  const counts = { duplicates: 0, foreign: 0, unmapped: 0, indexMismatches: 0 };

  const map = (reject: SyncReject): void => {
    if (reject.statusCode !== undefined && DUPLICATE_CODES.has(reject.statusCode)) {
      counts.duplicates += 1;
      return;
    }
    const value = reject.fieldValues?.[handle.key];
    const expected = rowKeyAt(reject.recordIndex);
    let key: string | undefined;
    if (value !== undefined) {
      key = identityKey(value);
      if (expected !== undefined && expected !== key) counts.indexMismatches += 1;
      if (!byKey.has(key)) {
        // A row that is not this job's (data staged by someone else on a shared definition).
        counts.foreign += 1;
        return;
      }
    } else {
      key = expected;
    }
    const indexes = key === undefined ? undefined : byKey.get(key);
    if (indexes === undefined) {
      counts.unmapped += 1;
      return;
    }
    for (const index of indexes) {
      const profileId = (members[index] as JobMember).profileId;
      if (!outcomes.has(profileId)) outcomes.set(profileId, toOutcome(profileId, reject));
    }
  };

  const finish = (): readonly ProfileOutcome[] => {
    if (counts.duplicates + counts.foreign + counts.indexMismatches > 0) {
      ctx.logger.warn(
        '[eloqua] some rejects did not match this job row for row; they were matched by identifier',
        {
          ...counts,
        },
      );
    }
    return members.flatMap((member) => {
      const outcome = outcomes.get(member.profileId);
      return outcome === undefined ? [] : [outcome];
    });
  };

  return { map, finish, counts };
};

const isRunning = (status: SyncStatus): boolean => status === 'pending' || status === 'active';

/**
 * The job's status: pending while any sync runs; then per-row outcomes from the rejects of `warning`
 * syncs (and of `error` syncs that rejected every row); `failed` with Eloqua's logged reason when a
 * sync failed as a whole; JOB_NOT_FOUND when Eloqua does not know a sync. Reads only.
 */
export const checkJob = async (
  ctx: EloquaContext,
  job: JobHandle,
  members: readonly JobMember[],
): Promise<JobStatus> => {
  const handle = parseHandle(ctx, job);
  const bulk = bulkClient(ctx, handle.base);
  const notFound = (sync: string): JobStatus => ({
    state: 'failed',
    retryable: true,
    code: JOB_NOT_FOUND,
    message: `Eloqua no longer knows sync ${sync}`,
  });

  const statuses: SyncStatus[] = [];
  for (const sync of handle.syncs) {
    const status = await getSyncStatus(ctx, bulk, sync.sync);
    if (status === undefined) return notFound(sync.sync);
    statuses.push(status);
  }
  if (statuses.some(isRunning)) {
    const total = handle.syncs.reduce((sum, sync) => sum + sync.rows, 0);
    const processed = handle.syncs.reduce(
      (sum, sync, index) => sum + (isRunning(statuses[index] as SyncStatus) ? 0 : sync.rows),
      0,
    );
    // Eloqua publishes no processing rate; a second plus 1 s per 10,000 rows left, at most 30 s.
    const checkAfterMs = Math.min(30_000, Math.round(1_000 + (total - processed) / 10));
    return { state: 'pending', checkAfterMs, progress: { processed, total } };
  }

  const mapper = createRejectMapper(ctx, handle, members);
  const failures: SyncFailure[] = [];
  for (const [index, sync] of handle.syncs.entries()) {
    const status = statuses[index];
    if (status === 'success') continue;
    let rejects = 0;
    const found = await readRejects(ctx, bulk, sync.sync, (page) => {
      rejects += page.length;
      for (const reject of page) mapper.map(reject);
    });
    if (!found) return notFound(sync.sync);
    // An error sync whose every row was rejected is a per-row result, not a failed job.
    if (status === 'error' && (rejects === 0 || rejects < sync.rows)) {
      const logs = await readLogs(ctx, bulk, sync.sync);
      if (logs === undefined) return notFound(sync.sync);
      failures.push(describeSyncError(sync.sync, logs));
    }
  }
  const first = failures[0];
  if (first !== undefined) {
    return {
      state: 'failed',
      retryable: failures.every((failure) => failure.retryable),
      code: first.code,
      message: failures.map((failure) => failure.message).join(' | '),
    };
  }
  if (mapper.counts.unmapped > 0) {
    // Guessing would confirm a rejected profile; resubmitting rebuilds a job that maps cleanly.
    return {
      state: 'failed',
      retryable: true,
      code: 'members_mismatch',
      message: `${mapper.counts.unmapped} rejected row(s) could not be matched to the job's ${members.length} members`,
    };
  }
  return { state: 'completed', outcomes: mapper.finish() };
};

/**
 * After the runner settled the job: deletes definitions made for this job alone. Shared definitions
 * are left for the next job (their staged data was consumed by the sync) and delete themselves after
 * `autoDeleteDuration` once idle.
 */
export const cleanupJob = async (ctx: EloquaContext, job: JobHandle): Promise<void> => {
  const handle = parseHandle(ctx, job);
  const owned = handle.syncs.filter((sync) => sync.owned === true);
  if (owned.length === 0) return;
  const bulk = bulkClient(ctx, handle.base);
  for (const sync of owned) await deleteDefinition(ctx, bulk, sync.def);
};
