import { DatabaseSync } from 'node:sqlite';

/*
 * Reads the runner's SQLite state file from outside, as an operator would with the sqlite3 shell:
 * read-only, next to a runner that may be writing (WAL lets readers and one writer coexist).
 */

export const openReadOnly = (path: string): DatabaseSync => {
  const db = new DatabaseSync(path, { readOnly: true });
  db.exec('PRAGMA busy_timeout = 5000');
  return db;
};

export const withStore = <T>(path: string, read: (db: DatabaseSync) => T): T => {
  const db = openReadOnly(path);
  try {
    return read(db);
  } finally {
    db.close();
  }
};

/** The number a `SELECT ... AS n` query returns. */
export const count = (db: DatabaseSync, sql: string, ...params: (string | number)[]): number =>
  Number((db.prepare(sql).get(...params) as { n: number | bigint | null } | undefined)?.n ?? 0);

export interface FinalStates {
  readonly rows: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Expected profiles with no row. */
  readonly absent: number;
  /** Rows for profiles the source never had. */
  readonly unknown: number;
  /** Rows not in the state expected of them (exported with its latest fingerprint, or rejected). */
  readonly notFinal: number;
  readonly examples: string[];
}

/**
 * One destination's profile states against what is expected: every profile exactly one row,
 * `exported` with the fingerprint it was last sent with and no job, or `rejected` when listed.
 */
export const finalStates = (
  db: DatabaseSync,
  destination: string,
  ids: ReadonlySet<string>,
  rejected: ReadonlySet<string> = new Set(),
): FinalStates => {
  const rows = db
    .prepare(
      'SELECT profile_id, status, fingerprint, confirmed_fingerprint, job_id FROM profile_state WHERE destination = ?',
    )
    .all(destination) as {
    profile_id: string;
    status: string;
    fingerprint: string | null;
    confirmed_fingerprint: string | null;
    job_id: string | null;
  }[];
  const statuses: Record<string, number> = {};
  const examples: string[] = [];
  let notFinal = 0;
  let unknown = 0;
  const seen = new Set<string>();
  for (const row of rows) {
    statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    seen.add(row.profile_id);
    if (!ids.has(row.profile_id)) {
      unknown += 1;
      if (examples.length < 5) examples.push(`unknown ${row.profile_id}`);
      continue;
    }
    const final = rejected.has(row.profile_id)
      ? row.status === 'rejected' && row.job_id === null
      : row.status === 'exported' &&
        row.confirmed_fingerprint !== null &&
        row.confirmed_fingerprint === row.fingerprint &&
        row.job_id === null;
    if (!final) {
      notFinal += 1;
      if (examples.length < 5) examples.push(`${row.profile_id} is ${row.status}`);
    }
  }
  let absent = 0;
  for (const id of ids) {
    if (seen.has(id)) continue;
    absent += 1;
    if (examples.length < 5) examples.push(`no state for ${id}`);
  }
  return { rows: rows.length, statuses, absent, unknown, notFinal, examples };
};

/** Jobs not settled or failed, member pages left, runs still marked running. */
export const leftovers = (db: DatabaseSync): { jobs: number; members: number; running: number } => ({
  jobs: count(db, "SELECT count(*) AS n FROM jobs WHERE state NOT IN ('settled', 'failed')"),
  members: count(db, 'SELECT count(*) AS n FROM job_members'),
  running: count(db, "SELECT count(*) AS n FROM runs WHERE status = 'running'"),
});
