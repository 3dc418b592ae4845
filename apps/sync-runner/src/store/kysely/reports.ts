import type { Kysely } from 'kysely';
import type { Database, JobsTable, ProfileStateTable } from '../schema.ts';
import type { BadRow, CountRow, ProfileIssue, ReportsStore } from '../state-store.ts';
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
});
