import pg from 'pg';

/** Where the PostgreSQL tests connect: `FERRY_TEST_POSTGRES_URL`, else a local trust-auth server. */
export const postgresUrl = process.env.FERRY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Whether PostgreSQL answers, and if not why, so suites can skip loudly rather than pass silently.
 * Resolved once per test file at collection time (describe.skipIf needs a value, not a promise).
 */
export const probePostgres = async (): Promise<
  { available: true } | { available: false; reason: string }
> => {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { available: true };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // .ci/run sets this: in CI a missing server is a broken build, never a skipped suite.
    if (process.env.FERRY_REQUIRE_POSTGRES === '1') {
      throw new Error(`FERRY_REQUIRE_POSTGRES=1 but PostgreSQL at ${postgresUrl} is unreachable: ${reason}`);
    }
    return { available: false, reason };
  } finally {
    await client.end().catch(() => undefined);
  }
};

/** Drops a schema the tests created. */
export const dropSchema = async (schema: string): Promise<void> => {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
};

export const uniqueSchema = (prefix: string): string =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
