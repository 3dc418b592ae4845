import { describe, expect, it } from 'vitest';
import { openStateStore } from '../src/store/open-store.ts';
import { describeExportsStore } from './helpers/export-store-suite.ts';
import { dropSchema, postgresUrl, probePostgres, uniqueSchema } from './helpers/postgres.ts';
import { describeStateStore } from './helpers/store-suite.ts';

const postgres = await probePostgres();
if (!postgres.available) {
  console.warn(
    `[ferry] SKIPPING the PostgreSQL state store suite: cannot reach ${postgresUrl} (${postgres.reason}). ` +
      'Set FERRY_TEST_POSTGRES_URL or start PostgreSQL to run it.',
  );
}

describe.skipIf(!postgres.available)('PostgreSQL', () => {
  const openPostgres = async () => {
    const schema = uniqueSchema('ferry_store');
    const store = await openStateStore({ location: postgresUrl, schema });
    return { store, dispose: () => dropSchema(schema) };
  };
  describeStateStore('state store on PostgreSQL', openPostgres);
  describeExportsStore('export store on PostgreSQL', openPostgres);

  // Kysely looked for its migration tables in every schema: a store already in another schema of
  // the same database made a new one skip creating its tables, and every query then failed.
  it('opens a store in its own schema while another Ferry store lives in the same database', async () => {
    const first = uniqueSchema('ferry_neighbour');
    const second = uniqueSchema('ferry_store');
    try {
      const neighbour = await openStateStore({ location: postgresUrl, schema: first });
      await neighbour.close();
      const store = await openStateStore({ location: postgresUrl, schema: second });
      try {
        await store.createRun({ id: 'run_1', startedAt: 1, options: {} });
        expect((await store.listRuns(5)).map((run) => run.id)).toEqual(['run_1']);
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(first);
      await dropSchema(second);
    }
  });
});
