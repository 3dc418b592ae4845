import type { Kysely } from 'kysely';
import type { BulkSql } from '../bulk-sql.ts';
import type { Database, RunsTable } from '../schema.ts';
import type { LaneRecord, RunRecord, RunsStore } from '../state-store.ts';
import { chunk, num, numOrNull, ROWS_PER_STATEMENT, rowsPerStatement } from './shared.ts';

/* Runs, their destination lanes, the ids each run read and its bad rows. */

const toRun = (row: RunsTable): RunRecord => ({
  id: row.id,
  startedAt: num(row.started_at),
  finishedAt: numOrNull(row.finished_at),
  status: row.status,
  options: JSON.parse(row.options) as unknown,
  summary: row.summary === null ? null : (JSON.parse(row.summary) as unknown),
  error: row.error,
});

const SEEN_ROWS = {
  head: 'INSERT INTO run_seen (run_id, profile_id)',
  perRow: 2,
  row: (p: () => string) => `(${p()}, ${p()})`,
  tail: 'ON CONFLICT (run_id, profile_id) DO NOTHING RETURNING profile_id',
};

export const kyselyRuns = (db: Kysely<Database>, bulk: BulkSql): RunsStore => ({
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
  getRun: async (id) => {
    const row = await db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toRun(row);
  },
  listRuns: async (limit, filter = {}) => {
    let query = db.selectFrom('runs').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.before !== undefined) {
      const before = await db
        .selectFrom('runs')
        .select(['started_at', 'id'])
        .where('id', '=', filter.before)
        .executeTakeFirst();
      if (before === undefined) return [];
      query = query.where((eb) =>
        eb.or([
          eb('started_at', '<', before.started_at),
          eb.and([eb('started_at', '=', before.started_at), eb('id', '<', before.id)]),
        ]),
      );
    }
    const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRun);
  },
  interruptRuns: async (ids, at) => {
    if (ids.length === 0) return 0;
    const result = await db
      .updateTable('runs')
      .set({ status: 'interrupted', finished_at: at, error: 'the process ended before the run finished' })
      .where('status', '=', 'running')
      .where('id', 'in', [...ids])
      .executeTakeFirst();
    return num(result.numUpdatedRows);
  },
  saveLane: async (lane) => {
    const row = {
      run_id: lane.runId,
      destination: lane.destination,
      state: lane.state,
      counters: JSON.stringify(lane.counters ?? null),
      updated_at: lane.updatedAt,
    };
    await db
      .insertInto('run_lanes')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['run_id', 'destination']).doUpdateSet({
          state: row.state,
          counters: row.counters,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  },
  listLanes: async (runId) => {
    const rows = await db
      .selectFrom('run_lanes')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('destination')
      .execute();
    return rows.map(
      (row): LaneRecord => ({
        runId: row.run_id,
        destination: row.destination,
        state: row.state,
        counters: JSON.parse(row.counters) as unknown,
        updatedAt: num(row.updated_at),
      }),
    );
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
  forgetSeen: async (runId) => {
    if (runId !== undefined) {
      await db.deleteFrom('run_seen').where('run_id', '=', runId).execute();
      return;
    }
    // Runs still going keep theirs: another process may be reading its source right now.
    await db
      .deleteFrom('run_seen')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('runs')
              .select('runs.id')
              .whereRef('runs.id', '=', 'run_seen.run_id')
              .where('runs.status', '=', 'running'),
          ),
        ),
      )
      .execute();
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
});
