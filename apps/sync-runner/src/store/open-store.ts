import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type pg from 'pg';
import { instrumentStore } from './instrument.ts';
import { createKyselyStore } from './kysely/store.ts';
import { migrateToLatest } from './migrations.ts';
import type { Database } from './schema.ts';
import { openSqliteDatabase } from './sqlite-database.ts';
import type { StateStore } from './state-store.ts';

/** The default store: one SQLite file next to the config. */
export const DEFAULT_STATE_PATH = '.ferry/state.db';

export interface OpenStoreOptions {
  /**
   * A file path (SQLite, the default `.ferry/state.db`), `:memory:`, or a `postgres://` /
   * `postgresql://` connection string.
   */
  readonly location?: string;
  /** PostgreSQL only: the schema to use (created if missing); default the connection's search_path. */
  readonly schema?: string;
  /** PostgreSQL only: pool size (default 4). */
  readonly maxConnections?: number;
}

const isPostgres = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);

/** The connection string without its password, for messages. */
export const describeLocation = (location: string): string => {
  if (!isPostgres(location)) return location;
  try {
    const url = new URL(location);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparseable connection string)';
  }
};

const INT8_OID = 20;
const NUMERIC_OID = 1700;

// `bigint` columns hold epoch milliseconds and counts, well inside Number's safe range; pg returns
// them as strings by default.
const pgTypesOf = (types: typeof pg.types) => ({
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID || oid === NUMERIC_OID
      ? (value: string) => Number(value)
      : types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
});

const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const openPostgres = async (location: string, options: OpenStoreOptions): Promise<StateStore> => {
  const { schema } = options;
  // Loaded only for PostgreSQL stores, so SQLite users do not pay for it at start-up.
  const { default: pg } = await import('pg');
  if (schema !== undefined) {
    // Create the schema with a throwaway client, so every pooled connection can pin its search_path.
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    } finally {
      await client.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: location,
    max: options.maxConnections ?? 4,
    types: pgTypesOf(pg.types),
    ...(schema === undefined ? {} : { options: `-c search_path=${quoteIdentifier(schema)}` }),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    const current = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    await migrateToLatest(db as Kysely<unknown>, schema ?? current.rows[0]?.schema ?? 'public');
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return instrumentStore(
    createKyselyStore(db, { dialect: 'postgres', location: describeLocation(location) }),
  );
};

/**
 * Kysely's migration lock is a no-op on SQLite (one connection per process), so two processes
 * opening a new file at once can race: the loser's migration fails (the table already exists) and
 * rolls back. The winner's commit makes a second try find nothing left to do.
 */
const migrateSqlite = async (db: Kysely<Database>): Promise<void> => {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await migrateToLatest(db as Kysely<unknown>);
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 50));
    }
  }
};

const openSqlite = async (path: string): Promise<StateStore> => {
  const database = openSqliteDatabase(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  try {
    await migrateSqlite(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return instrumentStore(createKyselyStore(db, { dialect: 'sqlite', location: path }));
};

/** Opens the state store and brings its schema up to date. */
export const openStateStore = async (options: OpenStoreOptions = {}): Promise<StateStore> => {
  const location = options.location ?? DEFAULT_STATE_PATH;
  return isPostgres(location) ? openPostgres(location, options) : openSqlite(location);
};
