import type { Kysely } from 'kysely';
import type { Database, JobsTable, ProfileStateTable } from '../schema.ts';
import type { BadRow, CountRow, ProfileIssue, ProfileStateRecord, ReportsStore } from '../state-store.ts';
import { num, numOrNull, toJob } from './shared.ts';

/* Read models: counts, problems, bad rows and a run's jobs. */

export const kyselyReports = (db: Kysely<Database>): ReportsStore => ({
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

  listJobs: async (runId) => {
    const rows = await db
      .selectFrom('jobs')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('planned_at')
      .orderBy('id')
      .execute();
    return rows.map(toJob);
  },
  profileRecord: async (profileId, destinations) => {
    const states: ProfileStateRecord[] = [];
    // By destination and id: the primary key answers it, whatever the table's size.
    for (const destination of destinations) {
      const row = await db
        .selectFrom('profile_state')
        .selectAll()
        .where('destination', '=', destination)
        .where('profile_id', '=', profileId)
        .executeTakeFirst();
      if (row === undefined) continue;
      states.push({
        destination: row.destination,
        identity: row.identity,
        status: row.status,
        op: row.op,
        fingerprint: row.fingerprint,
        confirmedFingerprint: row.confirmed_fingerprint,
        jobId: row.job_id,
        attempts: num(row.attempts),
        nextAttemptAt: numOrNull(row.next_attempt_at),
        code: row.error_code,
        message: row.error_message,
        field: row.error_field,
        runId: row.run_id,
        updatedAt: num(row.updated_at),
      });
    }
    const bad = await db
      .selectFrom('bad_rows')
      .innerJoin('runs', 'runs.id', 'bad_rows.run_id')
      .select(['bad_rows.run_id', 'bad_rows.row', 'bad_rows.profile_id', 'bad_rows.reason'])
      .where('bad_rows.profile_id', '=', profileId)
      .orderBy('runs.started_at', 'desc')
      .orderBy('bad_rows.row')
      .limit(100)
      .execute();
    return {
      states,
      badRows: bad.map((row) => ({
        runId: row.run_id,
        row: num(row.row),
        profileId: row.profile_id ?? undefined,
        reason: row.reason,
      })),
    };
  },
});
