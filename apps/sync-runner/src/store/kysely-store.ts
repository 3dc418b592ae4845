import type { JobHandle, JobMember } from '@ferry/core';
import { type Kysely, sql, type Transaction } from 'kysely';
import { type BulkSql, createBulkSql } from './bulk-sql.ts';
import { decodeChange, decodeMemberIds, decodeMembers, encodeChange, encodeMembers } from './change-codec.ts';
import type { Database, JobsTable, ProfileStateTable, RunsTable } from './schema.ts';
import type {
  BadRow,
  CountRow,
  PlannedMember,
  ProfileIssue,
  ProfileStateSummary,
  RunRecord,
  SettledOutcome,
  StateStore,
  StoredJob,
} from './state-store.ts';

/*
 * The StateStore over Kysely, for every dialect: only portable SQL (multi-row VALUES, ON CONFLICT,
 * RETURNING, NOT EXISTS), which SQLite ≥ 3.35 and PostgreSQL both run.
 */

// SQLite allows 32,766 bound parameters per statement, PostgreSQL 65,535. Statements of at most 500
// rows keep well under both and repeat the same SQL text, which the SQLite adapter caches.
const MAX_PARAMETERS = 30_000;
const rowsPerStatement = (columns: number): number =>
  Math.max(1, Math.min(500, Math.floor(MAX_PARAMETERS / columns)));

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
};

const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value));
const numOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : num(value);

const toRun = (row: RunsTable): RunRecord => ({
  id: row.id,
  startedAt: num(row.started_at),
  finishedAt: numOrNull(row.finished_at),
  status: row.status,
  options: JSON.parse(row.options) as unknown,
  summary: row.summary === null ? null : (JSON.parse(row.summary) as unknown),
  error: row.error,
});

const toJob = (row: JobsTable): StoredJob => ({
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
});

// A literal, not a parameter: only then can SQLite and PostgreSQL match the partial index on it.
const RETRY_WAIT = sql.lit('retry_wait' as const);

const CLEARED_ERROR = { error_code: null, error_message: null, error_field: null } as const;

// The hot statements (see bulk-sql.ts): 1,000 rows each, at most 9 parameters per row.
const ROWS_PER_STATEMENT = 1000;

const SEEN_ROWS = {
  head: 'INSERT INTO run_seen (run_id, profile_id)',
  perRow: 2,
  row: (p: () => string) => `(${p()}, ${p()})`,
  tail: 'ON CONFLICT (run_id, profile_id) DO NOTHING RETURNING profile_id',
};

// A planned change makes the profile `pending` in its job; what the destination confirmed stays.
const PLANNED_STATE_ROWS = {
  head:
    'INSERT INTO profile_state (destination, profile_id, identity, status, op, fingerprint, confirmed_fingerprint, ' +
    'job_id, attempts, next_attempt_at, change, error_code, error_message, error_field, run_id, updated_at)',
  perRow: 9,
  row: (p: () => string) =>
    `(${p()}, ${p()}, ${p()}, 'pending', ${p()}, ${p()}, NULL, ${p()}, ${p()}, NULL, NULL, NULL, NULL, NULL, ${p()}, ${p()})`,
  tail:
    'ON CONFLICT (destination, profile_id) DO UPDATE SET identity = excluded.identity, status = excluded.status, ' +
    'op = excluded.op, fingerprint = excluded.fingerprint, job_id = excluded.job_id, attempts = excluded.attempts, ' +
    'next_attempt_at = NULL, change = NULL, error_code = NULL, error_message = NULL, error_field = NULL, ' +
    'run_id = excluded.run_id, updated_at = excluded.updated_at',
};

type Db = Kysely<Database> | Transaction<Database>;

/**
 * Applies outcomes to profile_state in multi-row upserts. The update is conditional on the row still
 * belonging to `jobId`: a profile re-planned into a newer job keeps the newer state whatever the old
 * job reports. (The insert branch only runs if a row vanished; it then writes the outcome as is.)
 */
const applyOutcomes = async (
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

const MEMBERS_PER_PAGE = 1000;

/** Writes members as pages of `MEMBERS_PER_PAGE`, numbered from `firstPage`. */
const writeMembers = async (
  db: Db,
  jobId: string,
  members: readonly PlannedMember[],
  firstPage = 0,
): Promise<void> => {
  const pages = [];
  for (let start = 0, page = firstPage; start < members.length; start += MEMBERS_PER_PAGE, page += 1) {
    pages.push({
      job_id: jobId,
      page,
      members: encodeMembers(members.slice(start, start + MEMBERS_PER_PAGE)),
    });
  }
  for (const part of chunk(pages, 100)) await db.insertInto('job_members').values(part).execute();
};

/** Marks members `pending` in the job (multi-row upserts of profile_state). */
const markPlanned = async (
  db: Db,
  bulk: BulkSql,
  job: { readonly id: string; readonly destination: string; readonly runId: string; readonly at: number },
  members: readonly PlannedMember[],
): Promise<void> => {
  for (let start = 0; start < members.length; start += ROWS_PER_STATEMENT) {
    const stateRows: unknown[] = [];
    const end = Math.min(members.length, start + ROWS_PER_STATEMENT);
    for (let index = start; index < end; index += 1) {
      const { change, fingerprint, attempts } = members[index]!;
      stateRows.push(
        job.destination,
        change.profileId,
        change.identity,
        change.kind,
        fingerprint,
        job.id,
        attempts,
        job.runId,
        job.at,
      );
    }
    await bulk.run(db, bulk.values('plan_state', end - start, PLANNED_STATE_ROWS), stateRows);
  }
};

/** The job's member pages in order as stored text, read one at a time so a large job is never held whole. */
async function* memberPageTexts(
  db: Db,
  jobId: string,
): AsyncGenerator<{ page: number; text: string }, void, undefined> {
  let after = -1;
  for (;;) {
    const row = await db
      .selectFrom('job_members')
      .select(['page', 'members'])
      .where('job_id', '=', jobId)
      .where('page', '>', after)
      .orderBy('page')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined) return;
    after = num(row.page);
    yield { page: after, text: row.members };
  }
}

async function* memberPages(
  db: Db,
  jobId: string,
): AsyncGenerator<{ page: number; members: PlannedMember[] }, void, undefined> {
  for await (const { page, text } of memberPageTexts(db, jobId)) yield { page, members: decodeMembers(text) };
}

const readMembers = async (db: Db, jobId: string): Promise<PlannedMember[]> => {
  const members: PlannedMember[] = [];
  for await (const page of memberPages(db, jobId)) members.push(...page.members);
  return members;
};

const deleteMembers = async (db: Db, jobId: string): Promise<void> => {
  await db.deleteFrom('job_members').where('job_id', '=', jobId).execute();
};

/** Takes `profileIds` (profiles rejected at submission) out of the pages they are in, page by page. */
const removeMembers = async (db: Db, jobId: string, profileIds: ReadonlySet<string>): Promise<void> => {
  let left = profileIds.size;
  for await (const { page, members } of memberPages(db, jobId)) {
    if (left === 0) return;
    const kept = members.filter((member) => !profileIds.has(member.change.profileId));
    if (kept.length === members.length) continue;
    left -= members.length - kept.length;
    await db
      .updateTable('job_members')
      .set({ members: encodeMembers(kept) })
      .where('job_id', '=', jobId)
      .where('page', '=', page)
      .execute();
  }
};

const jobRow = async (db: Db, jobId: string): Promise<JobsTable> => {
  const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
  if (row === undefined) throw new Error(`[ferry] state store: job ${jobId} does not exist`);
  return row;
};

export interface KyselyStoreInfo {
  readonly dialect: StateStore['dialect'];
  readonly location: string;
}

/** A StateStore over an open, migrated Kysely instance. `close` destroys the instance. */
export const createKyselyStore = (db: Kysely<Database>, info: KyselyStoreInfo): StateStore => {
  const bulk: BulkSql = createBulkSql(info.dialect);
  return {
    dialect: info.dialect,
    location: info.location,
    close: async () => {
      await db.destroy();
    },

    readLock: async (name) => {
      const row = await db.selectFrom('locks').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined
        ? undefined
        : { owner: row.owner, acquiredAt: num(row.acquired_at), heartbeatAt: num(row.heartbeat_at) };
    },
    tryAcquireLock: async (name, owner, at, replacing) => {
      if (replacing === undefined) {
        const result = await db
          .insertInto('locks')
          .values({ name, owner, acquired_at: at, heartbeat_at: at })
          .onConflict((oc) => oc.column('name').doNothing())
          .executeTakeFirst();
        return num(result.numInsertedOrUpdatedRows ?? 0) === 1;
      }
      const result = await db
        .updateTable('locks')
        .set({ owner, acquired_at: at, heartbeat_at: at })
        .where('name', '=', name)
        .where('owner', '=', replacing)
        .executeTakeFirst();
      return num(result.numUpdatedRows) === 1;
    },
    heartbeatLock: async (name, owner, at) => {
      await db
        .updateTable('locks')
        .set({ heartbeat_at: at })
        .where('name', '=', name)
        .where('owner', '=', owner)
        .execute();
    },
    releaseLock: async (name, owner) => {
      await db.deleteFrom('locks').where('name', '=', name).where('owner', '=', owner).execute();
    },

    createRun: async (run) => {
      await db
        .insertInto('runs')
        .values({
          id: run.id,
          started_at: run.startedAt,
          finished_at: null,
          status: 'running',
          options: JSON.stringify(run.options ?? null),
          summary: null,
          error: null,
        })
        .execute();
    },
    finishRun: async (id, end) => {
      await db
        .updateTable('runs')
        .set({
          status: end.status,
          finished_at: end.finishedAt,
          summary: JSON.stringify(end.summary ?? null),
          error: end.error ?? null,
        })
        .where('id', '=', id)
        .execute();
    },
    interruptRunningRuns: async (at) => {
      const result = await db
        .updateTable('runs')
        .set({ status: 'interrupted', finished_at: at, error: 'the process ended before the run finished' })
        .where('status', '=', 'running')
        .executeTakeFirst();
      return num(result.numUpdatedRows);
    },
    getRun: async (id) => {
      const row = await db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toRun(row);
    },
    listRuns: async (limit) => {
      const rows = await db
        .selectFrom('runs')
        .selectAll()
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toRun);
    },

    markSeen: async (runId, profileIds) => {
      const unique = [...new Set(profileIds)];
      const inserted = new Set<string>();
      await db.transaction().execute(async (trx) => {
        for (const part of chunk(unique, ROWS_PER_STATEMENT)) {
          const parameters: unknown[] = [];
          for (const id of part) parameters.push(runId, id);
          const text = bulk.values('run_seen', part.length, SEEN_ROWS);
          const { rows } = await bulk.run<{ profile_id: string }>(trx, text, parameters);
          for (const row of rows) inserted.add(row.profile_id);
        }
      });
      const earlier = new Set<string>();
      for (const id of unique) if (!inserted.has(id)) earlier.add(id);
      return earlier;
    },
    forgetSeen: async (keepRunId) => {
      let query = db.deleteFrom('run_seen');
      if (keepRunId !== undefined) query = query.where('run_id', '<>', keepRunId);
      await query.execute();
    },
    addBadRows: async (runId, rows) => {
      if (rows.length === 0) return;
      await db.transaction().execute(async (trx) => {
        for (const part of chunk(rows, rowsPerStatement(4))) {
          await trx
            .insertInto('bad_rows')
            .values(
              part.map((row) => ({
                run_id: runId,
                row: row.row,
                profile_id: row.profileId ?? null,
                reason: row.reason,
              })),
            )
            .onConflict((oc) => oc.columns(['run_id', 'row']).doNothing())
            .execute();
        }
      });
    },
    listBadRows: async (runId, afterRow, limit) => {
      const rows = await db
        .selectFrom('bad_rows')
        .select(['row', 'profile_id', 'reason'])
        .where('run_id', '=', runId)
        .where('row', '>', afterRow)
        .orderBy('row')
        .limit(limit)
        .execute();
      return rows.map(
        (row): BadRow =>
          row.profile_id === null
            ? { row: num(row.row), reason: row.reason }
            : { row: num(row.row), profileId: row.profile_id, reason: row.reason },
      );
    },

    getProfileStates: async (destination, profileIds) => {
      const states = new Map<string, ProfileStateSummary>();
      for (const part of chunk(profileIds, ROWS_PER_STATEMENT)) {
        const text = `SELECT profile_id, status, fingerprint, confirmed_fingerprint, attempts FROM profile_state WHERE destination = ${bulk.placeholder(1)} AND profile_id IN ${bulk.inList(part.length, 1)}`;
        const { rows } = await bulk.run<
          Pick<
            ProfileStateTable,
            'profile_id' | 'status' | 'fingerprint' | 'confirmed_fingerprint' | 'attempts'
          >
        >(db, text, [destination, ...part]);
        for (const row of rows) {
          states.set(row.profile_id, {
            status: row.status,
            fingerprint: row.fingerprint,
            confirmedFingerprint: row.confirmed_fingerprint,
            attempts: num(row.attempts),
          });
        }
      }
      return states;
    },

    planJob: async (job) => {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('jobs')
          .values({
            id: job.id,
            destination: job.destination,
            run_id: job.runId,
            state: 'planned',
            attempt: 0,
            member_count: job.members.length,
            bytes: job.bytes,
            handle: null,
            callback_token_hash: null,
            planned_at: job.at,
            submitted_at: null,
            settled_at: null,
            next_check_at: null,
            check_count: 0,
            rejected_count: 0,
            error_code: null,
            error_message: null,
          })
          .execute();
        await writeMembers(trx, job.id, job.members);
        await markPlanned(trx, bulk, job, job.members);
      });
    },
    addJobMembers: async (jobId, part) => {
      await db.transaction().execute(async (trx) => {
        const job = await jobRow(trx, jobId);
        if (job.state !== 'planned') {
          throw new Error(
            `[ferry] state store: job ${jobId} is ${job.state}; members can only join a planned job`,
          );
        }
        const last = await trx
          .selectFrom('job_members')
          .select((eb) => eb.fn.max('page').as('page'))
          .where('job_id', '=', jobId)
          .executeTakeFirst();
        const firstPage = last?.page === null || last?.page === undefined ? 0 : num(last.page) + 1;
        await writeMembers(trx, jobId, part.members, firstPage);
        await markPlanned(
          trx,
          bulk,
          { id: jobId, destination: job.destination, runId: job.run_id, at: part.at },
          part.members,
        );
        await trx
          .updateTable('jobs')
          .set({
            member_count: num(job.member_count) + part.members.length,
            bytes: num(job.bytes) + part.bytes,
          })
          .where('id', '=', jobId)
          .execute();
      });
    },
    markSubmitting: async (jobId, { attempt, callbackTokenHash }) => {
      await db
        .updateTable('jobs')
        .set({ state: 'submitting', attempt, callback_token_hash: callbackTokenHash })
        .where('id', '=', jobId)
        .execute();
    },
    markSubmitted: async (jobId, result) => {
      await db.transaction().execute(async (trx) => {
        const job = await jobRow(trx, jobId);
        const rejected = result.rejected.length;
        const settled = result.handle === null;
        if (rejected > 0) {
          await applyOutcomes(trx, job.destination, jobId, job.run_id, result.rejected, result.at);
        }
        if (rejected > 0 && !settled) {
          await removeMembers(
            trx,
            jobId,
            new Set(result.rejected.map((outcome) => outcome.member.change.profileId)),
          );
        }
        if (settled) await deleteMembers(trx, jobId);
        await trx
          .updateTable('jobs')
          .set({
            state: settled ? 'settled' : 'submitted',
            handle: settled ? null : JSON.stringify(result.handle),
            submitted_at: result.at,
            settled_at: settled ? result.at : null,
            next_check_at: result.nextCheckAt,
            member_count: num(job.member_count) - rejected,
            rejected_count: num(job.rejected_count) + rejected,
          })
          .where('id', '=', jobId)
          .execute();
      });
    },
    recordCheck: async (jobId, check) => {
      await db
        .updateTable('jobs')
        .set({ next_check_at: check.nextCheckAt, check_count: check.checkCount })
        .where('id', '=', jobId)
        .execute();
    },
    settleJob: async (jobId, settle) =>
      db.transaction().execute(async (trx) => {
        const job = await jobRow(trx, jobId);
        await applyOutcomes(trx, job.destination, jobId, job.run_id, settle.outcomes, settle.at);
        const base = {
          job_id: null,
          attempts: 0,
          next_attempt_at: null,
          change: null,
          ...CLEARED_ERROR,
          updated_at: settle.at,
        };
        const exported = await trx
          .updateTable('profile_state')
          .set((eb) => ({ ...base, status: 'exported', confirmed_fingerprint: eb.ref('fingerprint') }))
          .where('destination', '=', job.destination)
          .where('job_id', '=', jobId)
          .where('op', '=', 'upsert')
          .executeTakeFirst();
        const deleted = await trx
          .updateTable('profile_state')
          .set({ ...base, status: 'deleted', confirmed_fingerprint: null })
          .where('destination', '=', job.destination)
          .where('job_id', '=', jobId)
          .where('op', '=', 'delete')
          .executeTakeFirst();
        await deleteMembers(trx, jobId);
        const rejected = settle.outcomes.filter((outcome) => outcome.status === 'rejected').length;
        await trx
          .updateTable('jobs')
          .set({
            state: 'settled',
            settled_at: settle.at,
            next_check_at: null,
            rejected_count: num(job.rejected_count) + rejected,
          })
          .where('id', '=', jobId)
          .execute();
        return { exported: num(exported.numUpdatedRows), deleted: num(deleted.numUpdatedRows) };
      }),
    failJob: async (jobId, fail) => {
      await db.transaction().execute(async (trx) => {
        const job = await jobRow(trx, jobId);
        await applyOutcomes(trx, job.destination, jobId, job.run_id, fail.outcomes, fail.at);
        await deleteMembers(trx, jobId);
        await trx
          .updateTable('jobs')
          .set({
            state: 'failed',
            settled_at: fail.at,
            next_check_at: null,
            error_code: fail.code,
            error_message: fail.message,
          })
          .where('id', '=', jobId)
          .execute();
      });
    },
    requeueJob: async (jobId) => {
      await db
        .updateTable('jobs')
        .set({
          state: 'planned',
          handle: null,
          next_check_at: null,
          check_count: 0,
          callback_token_hash: null,
        })
        .where('id', '=', jobId)
        .execute();
    },
    recordRejects: async (destination, runId, at, rejects) => {
      if (rejects.length === 0) return;
      const rows: ProfileStateTable[] = rejects.map((reject) => ({
        destination,
        profile_id: reject.profileId,
        identity: reject.identity,
        status: 'rejected',
        op: 'upsert',
        fingerprint: reject.fingerprint,
        confirmed_fingerprint: null,
        job_id: null,
        attempts: 0,
        next_attempt_at: null,
        change: null,
        error_code: reject.code,
        error_message: reject.message,
        error_field: reject.field ?? null,
        run_id: runId,
        updated_at: at,
      }));
      await db.transaction().execute(async (trx) => {
        for (const part of chunk(rows, rowsPerStatement(16))) {
          await trx
            .insertInto('profile_state')
            .values(part)
            .onConflict((oc) =>
              oc.columns(['destination', 'profile_id']).doUpdateSet((eb) => ({
                // A mapping that failed on the identity itself gives '': keep the one known before.
                identity: eb
                  .case()
                  .when('excluded.identity', '=', '')
                  .then(eb.ref('profile_state.identity'))
                  .else(eb.ref('excluded.identity'))
                  .end(),
                status: 'rejected',
                op: 'upsert',
                fingerprint: eb.ref('excluded.fingerprint'),
                job_id: null,
                attempts: 0,
                next_attempt_at: null,
                change: null,
                error_code: eb.ref('excluded.error_code'),
                error_message: eb.ref('excluded.error_message'),
                error_field: eb.ref('excluded.error_field'),
                run_id: eb.ref('excluded.run_id'),
                updated_at: eb.ref('excluded.updated_at'),
              })),
            )
            .execute();
        }
      });
    },
    unfinishedJobs: async (destination) => {
      const rows = await db
        .selectFrom('jobs')
        .selectAll()
        .where('destination', '=', destination)
        .where('state', 'in', ['planned', 'submitting', 'submitted'])
        .orderBy('planned_at')
        .orderBy('id')
        .execute();
      return rows.map(toJob);
    },
    getJob: async (jobId) => {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      return row === undefined ? undefined : toJob(row);
    },
    jobMembers: (jobId) => readMembers(db, jobId),
    jobMemberPages: async function* pages(jobId) {
      for await (const { members } of memberPages(db, jobId)) yield members;
    },
    jobMemberIds: async (jobId) => {
      // Ids only, page by page: the page texts of a large job are never loaded at once.
      const ids: JobMember[] = [];
      for await (const { text } of memberPageTexts(db, jobId)) {
        for (const member of decodeMemberIds(text)) ids.push(member);
      }
      return ids;
    },

    dueRetries: async (destination, now, limit) => {
      const rows = await db
        .selectFrom('profile_state')
        .select(['profile_id', 'identity', 'op', 'fingerprint', 'attempts', 'change'])
        .where('destination', '=', destination)
        .where('status', '=', RETRY_WAIT)
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('profile_id')
        .limit(limit)
        .execute();
      return rows.map(
        (row): PlannedMember => ({
          change: decodeChange(row),
          fingerprint: row.fingerprint,
          attempts: num(row.attempts),
        }),
      );
    },
    nextRetryAt: async (destination) => {
      const row = await db
        .selectFrom('profile_state')
        .select((eb) => eb.fn.min('next_attempt_at').as('next'))
        .where('destination', '=', destination)
        .where('status', '=', RETRY_WAIT)
        .executeTakeFirst();
      return row?.next === null || row?.next === undefined ? undefined : num(row.next);
    },
    requeueProblems: async (destination, at) => {
      return db.transaction().execute(async (trx) => {
        let rejected = trx
          .updateTable('profile_state')
          // A forgotten fingerprint makes the next sync see the profile as changed and send it again.
          .set({ fingerprint: null, attempts: 0, updated_at: at })
          .where('status', '=', 'rejected');
        if (destination !== undefined) rejected = rejected.where('destination', '=', destination);
        const rejectedResult = await rejected.executeTakeFirst();
        let waiting = trx
          .updateTable('profile_state')
          .set({ next_attempt_at: at, attempts: 0, updated_at: at })
          .where('status', '=', 'retry_wait');
        if (destination !== undefined) waiting = waiting.where('destination', '=', destination);
        const waitingResult = await waiting.executeTakeFirst();
        return { rejected: num(rejectedResult.numUpdatedRows), waiting: num(waitingResult.numUpdatedRows) };
      });
    },

    countConfirmed: async (destination, runId) => {
      const base = db
        .selectFrom('profile_state')
        .where('destination', '=', destination)
        .where('confirmed_fingerprint', 'is not', null);
      const confirmed = await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
      if (runId === undefined) return { confirmed: num(confirmed?.n ?? 0), unseen: 0 };
      const unseen = await base
        .where((eb) => eb.not(eb.and([eb('status', '=', 'pending'), eb('op', '=', 'delete')])))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('run_seen')
                .select(sql<number>`1`.as('one'))
                .where('run_seen.run_id', '=', runId)
                .whereRef('run_seen.profile_id', '=', 'profile_state.profile_id'),
            ),
          ),
        )
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      return { confirmed: num(confirmed?.n ?? 0), unseen: num(unseen?.n ?? 0) };
    },
    unseenConfirmed: async (destination, runId, afterProfileId, limit) => {
      let query = db
        .selectFrom('profile_state')
        .select(['profile_id', 'identity'])
        .where('destination', '=', destination)
        .where('confirmed_fingerprint', 'is not', null)
        .where((eb) => eb.not(eb.and([eb('status', '=', 'pending'), eb('op', '=', 'delete')])))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('run_seen')
                .select(sql<number>`1`.as('one'))
                .where('run_seen.run_id', '=', runId)
                .whereRef('run_seen.profile_id', '=', 'profile_state.profile_id'),
            ),
          ),
        );
      if (afterProfileId !== undefined) query = query.where('profile_id', '>', afterProfileId);
      const rows = await query.orderBy('profile_id').limit(limit).execute();
      return rows.map((row) => ({ profileId: row.profile_id, identity: row.identity }));
    },

    profileCounts: async (destination) => {
      let query = db
        .selectFrom('profile_state')
        .select((eb) => ['destination', 'status', eb.fn.countAll().as('n')])
        .groupBy(['destination', 'status'])
        .orderBy('destination')
        .orderBy('status');
      if (destination !== undefined) query = query.where('destination', '=', destination);
      const rows = await query.execute();
      return rows.map(
        (row): CountRow<ProfileStateTable['status']> => ({
          destination: row.destination,
          key: row.status,
          count: num(row.n),
        }),
      );
    },
    jobCounts: async (destination) => {
      let query = db
        .selectFrom('jobs')
        .select((eb) => ['destination', 'state', eb.fn.countAll().as('n')])
        .groupBy(['destination', 'state'])
        .orderBy('destination')
        .orderBy('state');
      if (destination !== undefined) query = query.where('destination', '=', destination);
      const rows = await query.execute();
      return rows.map(
        (row): CountRow<JobsTable['state']> => ({
          destination: row.destination,
          key: row.state,
          count: num(row.n),
        }),
      );
    },
    listProblems: async ({ destination, after, limit }) => {
      let query = db
        .selectFrom('profile_state')
        .select([
          'destination',
          'profile_id',
          'identity',
          'status',
          'error_code',
          'error_message',
          'error_field',
          'attempts',
          'next_attempt_at',
          'updated_at',
        ])
        .where('status', 'in', ['rejected', 'retry_wait']);
      if (destination !== undefined) query = query.where('destination', '=', destination);
      if (after !== undefined) {
        query = query.where((eb) =>
          eb.or([
            eb('destination', '>', after.destination),
            eb.and([eb('destination', '=', after.destination), eb('profile_id', '>', after.profileId)]),
          ]),
        );
      }
      const rows = await query.orderBy('destination').orderBy('profile_id').limit(limit).execute();
      return rows.map(
        (row): ProfileIssue => ({
          destination: row.destination,
          profileId: row.profile_id,
          identity: row.identity,
          status: row.status as ProfileIssue['status'],
          code: row.error_code,
          message: row.error_message,
          field: row.error_field,
          attempts: num(row.attempts),
          nextAttemptAt: numOrNull(row.next_attempt_at),
          updatedAt: num(row.updated_at),
        }),
      );
    },
  };
};
