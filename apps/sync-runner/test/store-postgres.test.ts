import { describe } from 'vitest';
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
});
