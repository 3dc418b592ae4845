import type { JobHandle } from '@ferry/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import { encodeChange } from '../change-codec.ts';
import type { Database, JobsTable, ProfileStateTable } from '../schema.ts';
import { type Fence, LeaseLostError, type SettledOutcome, type StoredJob } from '../state-store.ts';

/*
 * What the per-concern Kysely files share: row helpers, statement sizing, the outcome writer and
 * the fence every lease-guarded write checks inside its own transaction.
 */

export type Db = Kysely<Database> | Transaction<Database>;

// SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535. Statements of at most 500
// rows keep well under both and repeat the same SQL text, which the SQLite adapter caches.
const MAX_PARAMETERS = 30_000;
export const rowsPerStatement = (columns: number): number =>
  Math.max(1, Math.min(500, Math.floor(MAX_PARAMETERS / columns)));

export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
};

export const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));
export const numOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : num(value);
export const toJob = (row: JobsTable): StoredJob => ({
  id: row.id,
  destination: row.destination,
  runId: row.run_id,
  state: row.state,
  attempt: num(row.attempt),
  memberCount: num(row.member_count),
  bytes: num(row.bytes),
  handle: row.handle === null ? null : (JSON.parse(row.handle) as JobHandle),
  plannedAt: num(row.planned_at),
  submittedAt: numOrNull(row.submitted_at),
  nextCheckAt: numOrNull(row.next_check_at),
  checkCount: num(row.check_count),
  callbackTokenHash: row.callback_token_hash,
  settledAt: numOrNull(row.settled_at),
  rejectedCount: num(row.rejected_count),
  errorCode: row.error_code,
  errorMessage: row.error_message,
});

// A literal, not a parameter: only then can SQLite and PostgreSQL match the partial index on it.
export const RETRY_WAIT = sql.lit('retry_wait' as const);

export const CLEARED_ERROR = { error_code: null, error_message: null, error_field: null } as const;

// The hot statements (see bulk-sql.ts): 1,000 rows each, at most 9 parameters per row.
export const ROWS_PER_STATEMENT = 1000;

/**
 * Refuses the surrounding transaction unless `fence` is still the current, unexpired lease on its
 * key. It is an UPDATE, not a SELECT, so the transaction holds the lease row from here to its commit:
 * on PostgreSQL a competing claim waits for it, on SQLite it takes the write lock at once.
 */
export const assertFence = async (db: Db, fence: Fence | undefined, at: number): Promise<void> => {
  if (fence === undefined) return;
  const result = await db
    .updateTable('leases')
    .set((eb) => ({ token: eb.ref('token') }))
    .where('key', '=', fence.key)
    .where('token', '=', fence.token)
    .where('expires_at', '>', at)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new LeaseLostError(fence.key);
};

/** Runs `write` in a transaction that commits only under `fence` (when one is given). */
export const fenced = <T>(
  db: Kysely<Database>,
  fence: Fence | undefined,
  at: number,
  write: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> =>
  db.transaction().execute(async (trx) => {
    await assertFence(trx, fence, at);
    return write(trx);
  });

/**
 * Applies outcomes to profile_state in multi-row upserts. The update is conditional on the row still
 * belonging to `jobId`: a profile re-planned into a newer job keeps the newer state whatever the old
 * job reports. (The insert branch only runs if a row vanished; it then writes the outcome as is.)
 */
export const applyOutcomes = async (
  db: Db,
  destination: string,
  jobId: string,
  runId: string,
  outcomes: readonly SettledOutcome[],
  at: number,
): Promise<void> => {
  const rows: ProfileStateTable[] = outcomes.map((outcome) => {
    const { change, fingerprint } = outcome.member;
    const base = {
      destination,
      profile_id: change.profileId,
      identity: change.identity,
      op: change.kind,
      fingerprint,
      confirmed_fingerprint: null,
      job_id: null,
      run_id: runId,
      updated_at: at,
    };
    return outcome.status === 'rejected'
      ? {
          ...base,
          status: 'rejected',
          attempts: outcome.member.attempts,
          next_attempt_at: null,
          change: null,
          error_code: outcome.code,
          error_message: outcome.message,
          error_field: outcome.field ?? null,
        }
      : {
          ...base,
          status: 'retry_wait',
          attempts: outcome.attempts,
          next_attempt_at: outcome.nextAttemptAt,
          change: encodeChange(change),
          error_code: outcome.code ?? null,
          error_message: outcome.message,
          error_field: null,
        };
  });
  for (const part of chunk(rows, rowsPerStatement(16))) {
    await db
      .insertInto('profile_state')
      .values(part)
      .onConflict((oc) =>
        oc
          .columns(['destination', 'profile_id'])
          .doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            job_id: null,
            attempts: eb.ref('excluded.attempts'),
            next_attempt_at: eb.ref('excluded.next_attempt_at'),
            change: eb.ref('excluded.change'),
            error_code: eb.ref('excluded.error_code'),
            error_message: eb.ref('excluded.error_message'),
            error_field: eb.ref('excluded.error_field'),
            run_id: eb.ref('excluded.run_id'),
            updated_at: eb.ref('excluded.updated_at'),
          }))
          .where('profile_state.job_id', '=', jobId),
      )
      .execute();
  }
};

export const jobRow = async (db: Db, jobId: string): Promise<JobsTable> => {
  const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (row === undefined) throw new Error(`[ferry] state store: job ${jobId} does not exist`);
  return row;
};
