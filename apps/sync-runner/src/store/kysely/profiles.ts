import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { BulkSql } from '../bulk-sql.ts';
import { decodeChange } from '../change-codec.ts';
import type { Database, ProfileStateTable } from '../schema.ts';
import type { PlannedMember, ProfileStateSummary, ProfilesStore } from '../state-store.ts';
import { chunk, fenced, num, RETRY_WAIT, ROWS_PER_STATEMENT, rowsPerStatement } from './shared.ts';

/* Where each profile stands at each destination: the diff's input, retries, mirror candidates. */

/**
 * Mirror candidates: confirmed profiles that run `runId` did not read, and that are not already on
 * their way out (a delete in a job).
 */
const absentFrom =
  (runId: string) =>
  (eb: ExpressionBuilder<Database, 'profile_state'>): Expression<SqlBool> =>
    eb.and([
      eb.not(eb.and([eb('status', '=', 'pending'), eb('op', '=', 'delete')])),
      eb.not(
        eb.exists(
          eb
            .selectFrom('run_seen')
            .select(sql<number>`1`.as('one'))
            .where('run_seen.run_id', '=', runId)
            .whereRef('run_seen.profile_id', '=', 'profile_state.profile_id'),
        ),
      ),
    ]);

export const kyselyProfiles = (db: Kysely<Database>, bulk: BulkSql): ProfilesStore => ({
  getProfileStates: async (destination, profileIds) => {
    const states = new Map<string, ProfileStateSummary>();
    for (const part of chunk(profileIds, ROWS_PER_STATEMENT)) {
      const text = `SELECT profile_id, status, fingerprint, confirmed_fingerprint, attempts, run_id FROM profile_state WHERE destination = ${bulk.placeholder(1)} AND profile_id IN ${bulk.inList(part.length, 1)}`;
      const { rows } = await bulk.run<
        Pick<
          ProfileStateTable,
          'profile_id' | 'status' | 'fingerprint' | 'confirmed_fingerprint' | 'attempts' | 'run_id'
        >
      >(db, text, [destination, ...part]);
      for (const row of rows) {
        states.set(row.profile_id, {
          status: row.status,
          fingerprint: row.fingerprint,
          confirmedFingerprint: row.confirmed_fingerprint,
          attempts: num(row.attempts),
          runId: row.run_id,
        });
      }
    }
    return states;
  },

  recordRejects: async (destination, runId, at, rejects, fence) => {
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
    await fenced(db, fence, at, async (trx) => {
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
      .where(absentFrom(runId))
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
      .where(absentFrom(runId));
    if (afterProfileId !== undefined) query = query.where('profile_id', '>', afterProfileId);
    const rows = await query.orderBy('profile_id').limit(limit).execute();
    return rows.map((row) => ({ profileId: row.profile_id, identity: row.identity }));
  },
});
