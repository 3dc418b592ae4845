import {
  type ExportResult,
  JOB_NOT_FOUND,
  type JobHandle,
  type JobMember,
  type JobStatus,
  PermanentError,
  type ProfileBatch,
  type ProfileOutcome,
} from '@ferry/core';
import { z } from 'zod';
import { bulkBaseUrl, checkBaseUrl, type EloquaContext } from '../auth.ts';
import { type Bulk, bulkClient } from '../client.ts';
import { createJobPlanner, deferredOutcomes, identityKey, type JobPlan } from '../mapping.ts';
import type { SyncReject, SyncStatus } from '../types.ts';
import {
  type AcquiredDefinition,
  acquireDefinition,
  clearStagedData,
  deleteDefinition,
  syncEnded,
  syncLost,
} from './definitions.ts';
import {
  createSync,
  describeSyncError,
  getSyncStatus,
  readLogs,
  readRejects,
  type SyncFailure,
} from './syncs.ts';
import { createRowSource, oversizedOutcomes, planUploads, type UploadPlan, uploadChunk } from './uploads.ts';

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
  batch: ProfileBatch,
  plan: JobPlan,
  index: number,
  uploads: UploadPlan,
): Promise<HandleSync> => {
  const group = plan.groups[index] as JobPlan['groups'][number];
  const source = createRowSource(batch, plan, index, uploads);
  let definition: AcquiredDefinition | undefined;
  try {
    for (let attempt = 1; ; attempt += 1) {
      definition = await acquireDefinition(ctx, bulk, group);
      let uploaded = true;
      let start = 0;
      for (const count of uploads.chunks) {
        const from = start;
        if (!(await uploadChunk(ctx, bulk, definition.uri, group.columns, () => source.rows(from, count)))) {
          uploaded = false;
          break;
        }
        start += count;
      }
      if (uploaded) break;
      // The definition disappeared (auto-deleted or purged) and took the staged chunks with it.
      definition.discard();
      definition = undefined;
      await source.restart();
      if (attempt >= 2) {
        throw new PermanentError(
          ctx.destination,
          `upload data: Eloqua answered 404 for two definitions in a row; an upload over Eloqua's size limit also gets 404 (limits.maxUploadBytes is ${ctx.options.limits.maxUploadBytes})`,
          { status: 404, code: 'http_404' },
        );
      }
    }
  } catch (error) {
    await dropStaged(ctx, bulk, definition);
    throw error;
  } finally {
    await source.close();
  }
  let syncUri: string;
  try {
    syncUri = await createSync(ctx, bulk, definition.uri, ctx.callbackUrl);
  } catch (error) {
    // The sync may exist even so (an answer lost after Eloqua created it): the definition is
    // discarded, never reused, since nobody will see that sync end.
    await dropStaged(ctx, bulk, definition);
    throw error;
  }
  // The definition stays this job's until a status check of this process sees the sync end.
  definition.started(syncUri);
  const rows = uploads.chunks.reduce((sum, count) => sum + count, 0);
  return { sync: syncUri, def: definition.uri, rows, ...(definition.owned ? { owned: true } : {}) };
};

/**
 * After a failed submission: the definition is never handed out again from the pool (it may hold a
 * sync nobody will see end), and, best effort, what this job staged is dropped so it does not hold
 * the instance's staging quota until `dataRetentionDuration` (a pooled definition is cleared, one
 * made for this job deleted).
 */
const dropStaged = async (
  ctx: EloquaContext,
  bulk: Bulk,
  definition: AcquiredDefinition | undefined,
): Promise<void> => {
  if (definition === undefined) return;
  definition.discard();
  const { uri } = definition;
  const undo = definition.owned ? deleteDefinition(ctx, bulk, uri) : clearStagedData(ctx, bulk, uri);
  await undo.catch((undoError: unknown) =>
    ctx.logger.warn('[eloqua] could not drop staged data after a failed submission', {
      definition: uri,
      error: String(undoError),
    }),
  );
};

/** The profile ids of the deferred and oversized rows' profiles, read from the batch by position. */
const readProfileIds = async (
  batch: ProfileBatch,
  plan: JobPlan,
  planned: readonly { readonly uploads: UploadPlan }[],
): Promise<(position: number) => string> => {
  const wanted = new Map<number, string>();
  const rows = [
    ...plan.deferred,
    ...planned.flatMap(({ uploads }) => uploads.oversized.map(({ position }) => position)),
  ];
  for (const row of rows) for (const position of plan.profilesOf(row)) wanted.set(position, '');
  let position = 0;
  for await (const change of batch) {
    if (wanted.has(position)) wanted.set(position, change.profileId);
    position += 1;
  }
  return (at) => wanted.get(at) as string;
};

/**
 * Submits a batch without holding it: a first pass plans the rows (rejecting what cannot be
 * imported, collapsing identities, grouping, splitting into uploads), then per group a definition
 * is acquired, the rows are read again and uploaded, and the sync is started. Passes over the batch:
 * 1 + one per group (usually one), + 1 when some profiles are deferred or oversized (their outcomes
 * need their ids), + 1 for each upload body built again (a retried upload, a vanished definition).
 * Does not wait for the syncs.
 */
export const exportJob = async (ctx: EloquaContext, batch: ProfileBatch): Promise<ExportResult> => {
  if (batch.length === 0) return { job: null, rejected: [] };
  // Pass 1: what becomes a row where, and how big it is; nothing of the profiles is kept.
  const planner = createJobPlanner(batch.length, ctx.options);
  for await (const change of batch) planner.add(change);
  const plan = planner.finish();
  const planned = plan.groups.map((_, index) => ({ index, uploads: planUploads(ctx, plan, index) }));
  const rejected: ProfileOutcome[] = [...plan.rejected];
  if (plan.deferred.length > 0 || planned.some(({ uploads }) => uploads.oversized.length > 0)) {
    // Their outcomes name every profile of their rows: one more pass, only for jobs that have them.
    const profileIdAt = await readProfileIds(batch, plan, planned);
    rejected.push(...deferredOutcomes(plan, profileIdAt));
    for (const { uploads } of planned) rejected.push(...oversizedOutcomes(plan, uploads, profileIdAt));
  }
  const work = planned.filter(({ uploads }) => uploads.chunks.length > 0);
  if (work.length === 0) return { job: null, rejected: uniqueByProfile(rejected) };

  const base = await bulkBaseUrl(ctx);
  const bulk = bulkClient(ctx, base);
  const syncs: HandleSync[] = [];
  // Pass 2 (one per group): the rows are encoded from the batch while they are uploaded.
  for (const { index, uploads } of work)
    syncs.push(await submitGroup(ctx, bulk, batch, plan, index, uploads));
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
    if (status === undefined) {
      syncLost(ctx, handle.base, sync.def, sync.sync);
      return notFound(sync.sync);
    }
    // Seen to end here, by this process: its definition may take the next job (see definitions.ts).
    if (!isRunning(status)) syncEnded(ctx, handle.base, sync.def, sync.sync);
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
 * After the runner settled the job: deletes definitions made for this job alone. Pooled definitions
 * are left for this process's next job (which clears them first) and delete themselves after
 * `autoDeleteDuration`.
 */
export const cleanupJob = async (ctx: EloquaContext, job: JobHandle): Promise<void> => {
  const handle = parseHandle(ctx, job);
  const owned = handle.syncs.filter((sync) => sync.owned === true);
  if (owned.length === 0) return;
  const bulk = bulkClient(ctx, handle.base);
  for (const sync of owned) await deleteDefinition(ctx, bulk, sync.def);
};
