import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/*
 * Kysely's SqliteDialect expects a better-sqlite3-like database. Node's built-in `node:sqlite` is
 * close enough that a few lines adapt it, so the CLI needs no native addon.
 */

export interface SqliteOpenOptions {
  /** How long a writer waits for another process's lock before SQLITE_BUSY (default 5 s). */
  readonly busyTimeoutMs?: number;
}

// Kysely prepares every query it runs; multi-row inserts of the same shape repeat the same SQL, so a
// small cache saves most of SQLite's parse work on the hot paths.
const STATEMENT_CACHE_SIZE = 256;

const toSqlite = (parameters: readonly unknown[]): SQLInputValue[] =>
  parameters.map((value) => {
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value as SQLInputValue;
  });

/**
 * Whether a statement returns rows. Node ≥ 22.16 says so (`columns()`); before that the SQL text
 * does: a SELECT, WITH, PRAGMA or VALUES, or a write with RETURNING. (Misreading a write as a reader
 * is harmless: `all()` runs it and returns no rows.)
 */
const READS_ROWS = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i;
export const isReader = (statement: Pick<StatementSync, 'columns'>, sql: string): boolean =>
  typeof statement.columns === 'function' ? statement.columns().length > 0 : READS_ROWS.test(sql);

const adaptStatement = (statement: StatementSync, sql: string): SqliteStatement => ({
  reader: isReader(statement, sql),
  all: (parameters) => statement.all(...toSqlite(parameters)) as unknown[],
  run: (parameters) => {
    const { changes, lastInsertRowid } = statement.run(...toSqlite(parameters));
    return { changes, lastInsertRowid };
  },
  // `iterate` arrived in Node 22.13; before, the rows are read at once.
  iterate: (parameters) =>
    typeof statement.iterate === 'function'
      ? (statement.iterate(...toSqlite(parameters)) as IterableIterator<unknown>)
      : (statement.all(...toSqlite(parameters)) as unknown[])[Symbol.iterator](),
});

/**
 * Opens (creating it and its folder if needed) one SQLite file in WAL mode. `synchronous=NORMAL` in
 * WAL survives a killed process (only a power loss can lose the last transactions), which is the
 * durability the runner needs at a fraction of the fsyncs.
 */
export const openSqliteDatabase = (
  path: string,
  options: SqliteOpenOptions = {},
): SqliteDatabase & {
  readonly raw: DatabaseSync;
} => {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new DatabaseSync(path);
  raw.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  raw.exec('PRAGMA journal_mode = WAL');
  raw.exec('PRAGMA synchronous = NORMAL');
  raw.exec('PRAGMA foreign_keys = OFF');
  // 32 MiB of page cache instead of SQLite's 2 MiB: diffing a million profiles reads the state table
  // in source order, and a bounded cache keeps its hot pages without growing with the table.
  raw.exec('PRAGMA cache_size = -32768');
  const cache = new Map<string, SqliteStatement>();
  return {
    raw,
    prepare: (sql) => {
      const cached = cache.get(sql);
      if (cached !== undefined) {
        // Re-insert to keep the map in least-recently-used order.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = adaptStatement(raw.prepare(sql), sql);
      cache.set(sql, statement);
      if (cache.size > STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return statement;
    },
    close: () => {
      cache.clear();
      if (raw.isOpen) raw.close();
    },
  };
};
