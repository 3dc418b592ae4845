import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';

/*
 * Versioned migrations, in code so a bundled CLI needs no migration files on disk. Names sort in the
 * order they apply. Only portable column types (text, integer, bigint) and plain indexes, so the
 * same migrations run on SQLite and PostgreSQL. Never edit a released migration: add the next one.
 */

/** 0001's single global lock, replaced by leases in 0002 (and restored by its `down`). */
const createLocksTable = (db: Kysely<unknown>) =>
  db.schema
    .createTable('locks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();

const initial: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('finished_at', 'bigint')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('summary', 'text')
      .addColumn('error', 'text')
      .execute();

    await createLocksTable(db);

    await db.schema
      .createTable('run_seen')
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('profile_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_seen_pk', ['run_id', 'profile_id'])
      .execute();

    await db.schema
      .createTable('bad_rows')
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('row', 'bigint', (c) => c.notNull())
      .addColumn('profile_id', 'text')
      .addColumn('reason', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('bad_rows_pk', ['run_id', 'row'])
      .execute();

    await db.schema
      .createTable('profile_state')
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('profile_id', 'text', (c) => c.notNull())
      .addColumn('identity', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('op', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text')
      .addColumn('confirmed_fingerprint', 'text')
      .addColumn('job_id', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('change', 'text')
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .addColumn('error_field', 'text')
      .addColumn('run_id', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('profile_state_pk', ['destination', 'profile_id'])
      .execute();
    // Partial indexes (both dialects have them) hold only the few rows they serve: profiles in an
    // unsettled job (settling updates a job's members at once) and profiles waiting for a retry.
    // Every profile pays for an index entry only while it is in one of those states.
    await db.schema
      .createIndex('profile_state_job')
      .on('profile_state')
      .columns(['destination', 'job_id'])
      .where(sql.ref('job_id'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('profile_state_retry')
      .on('profile_state')
      .columns(['destination', 'next_attempt_at'])
      .where(sql.ref('status'), '=', 'retry_wait')
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('member_count', 'integer', (c) => c.notNull())
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addColumn('handle', 'text')
      .addColumn('callback_token_hash', 'text')
      .addColumn('planned_at', 'bigint', (c) => c.notNull())
      .addColumn('submitted_at', 'bigint')
      .addColumn('settled_at', 'bigint')
      .addColumn('next_check_at', 'bigint')
      .addColumn('check_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rejected_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('error_code', 'text')
      .addColumn('error_message', 'text')
      .execute();
    await db.schema.createIndex('jobs_state').on('jobs').columns(['destination', 'state']).execute();
    await db.schema.createIndex('jobs_run').on('jobs').columns(['run_id']).execute();

    await db.schema
      .createTable('job_members')
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('page', 'integer', (c) => c.notNull())
      .addColumn('members', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_members_pk', ['job_id', 'page'])
      .execute();
  },
  down: async (db: Kysely<unknown>) => {
    for (const table of ['job_members', 'jobs', 'profile_state', 'bad_rows', 'run_seen', 'locks', 'runs']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};

/** Leases with fencing tokens instead of the one global lock; per-run destination lanes. */
const leases: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema.dropTable('locks').ifExists().execute();
    await db.schema
      .createTable('leases')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('token', 'bigint', (c) => c.notNull())
      .addColumn('acquired_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('run_lanes')
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('destination', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('counters', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_lanes_pk', ['run_id', 'destination'])
      .execute();
    await db.schema.createIndex('runs_status').on('runs').columns(['status', 'started_at']).execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropIndex('runs_status').ifExists().execute();
    await db.schema.dropTable('run_lanes').ifExists().execute();
    await db.schema.dropTable('leases').ifExists().execute();
    await createLocksTable(db);
  },
};

/** `ferry serve`: API tokens (hashes only) and Idempotency-Key responses. */
const service: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createTable('idempotency_keys')
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status', 'integer')
      .addColumn('response', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_keys_pk', ['token_id', 'key'])
      .execute();
    await db.schema
      .createIndex('idempotency_keys_created')
      .on('idempotency_keys')
      .column('created_at')
      .execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropTable('idempotency_keys').ifExists().execute();
    await db.schema.dropTable('api_tokens').ifExists().execute();
  },
};

/** `ferry serve`'s completion webhooks: endpoints and the durable outbox of deliveries. */
const webhooks: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .addColumn('disabled_reason', 'text')
      .execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('attempts', 'text', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('webhook_deliveries_run', ['endpoint_id', 'run_id'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_due')
      .on('webhook_deliveries')
      .columns(['state', 'next_attempt_at'])
      .execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropTable('webhook_deliveries').ifExists().execute();
    await db.schema.dropTable('webhook_endpoints').ifExists().execute();
  },
};

/** Vendor exports read as sources (handles, checkpoints, the records read so far). */
const sourceExports: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('source_exports')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('export_id', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('handle', 'text', (c) => c.notNull())
      .addColumn('parts', 'text')
      .addColumn('expires_at', 'bigint')
      .addColumn('total', 'bigint')
      .addColumn('part_index', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('checkpoint', 'text', (c) => c.notNull())
      .addColumn('rows', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('source_export_rows')
      .addColumn('export_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('record', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('source_export_rows_pk', ['export_id', 'seq'])
      .execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropTable('source_export_rows').ifExists().execute();
    await db.schema.dropTable('source_exports').ifExists().execute();
  },
};

/** The dashboard's sign-in sessions (the SHA-256 of each session id only), and its profile page's index. */
const sessions: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .createTable('api_sessions')
      .addColumn('hash', 'text', (c) => c.primaryKey())
      .addColumn('token_id', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('api_sessions_expires').on('api_sessions').column('expires_at').execute();
    // The profile page looks up a profile's bad rows across runs.
    await db.schema.createIndex('bad_rows_profile').on('bad_rows').column('profile_id').execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropIndex('bad_rows_profile').ifExists().execute();
    await db.schema.dropTable('api_sessions').ifExists().execute();
  },
};

/**
 * Webhooks beyond the API's endpoints: endpoints from the config and per-run callbacks
 * (`Ferry-Async-Callback-Url`), the optional event filter of an endpoint, the service's signing
 * secret for per-run callbacks, and where a redelivery restarts the retry schedule.
 */
const webhookSources: Migration = {
  up: async (db: Kysely<unknown>) => {
    await db.schema
      .alterTable('webhook_endpoints')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('api'))
      .execute();
    await db.schema.alterTable('webhook_endpoints').addColumn('run_id', 'text').execute();
    await db.schema.alterTable('webhook_endpoints').addColumn('events', 'text').execute();
    await db.schema
      .alterTable('webhook_deliveries')
      .addColumn('attempts_base', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('service_secrets')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  down: async (db: Kysely<unknown>) => {
    await db.schema.dropTable('service_secrets').ifExists().execute();
    await db.schema.alterTable('webhook_deliveries').dropColumn('attempts_base').execute();
    await db.schema.alterTable('webhook_endpoints').dropColumn('events').execute();
    await db.schema.alterTable('webhook_endpoints').dropColumn('run_id').execute();
    await db.schema.alterTable('webhook_endpoints').dropColumn('kind').execute();
  },
};

/** Every migration, by name. */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_leases': leases,
  '0003_service': service,
  '0004_webhooks': webhooks,
  '0005_source_exports': sourceExports,
  '0006_sessions': sessions,
  '0007_webhook_sources': webhookSources,
};

const provider: MigrationProvider = { getMigrations: async () => ({ ...migrations }) };

/**
 * Brings the schema up to date; throws with the failing migration's name when one fails.
 * `schema` (PostgreSQL) pins Kysely's own tables to the store's schema: without it Kysely looks
 * for `ferry_migration` in every schema of the database, so a second Ferry store in another
 * schema of the same database made it skip creating its own tables and fail.
 */
export const migrateToLatest = async (db: Kysely<unknown>, schema?: string): Promise<void> => {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'ferry_migration',
    migrationLockTableName: 'ferry_migration_lock',
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`[ferry] state store migration ${failed} failed: ${reason}`, { cause: error });
  }
};
