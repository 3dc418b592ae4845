import { describe, expect, it } from 'vitest';
import { runSync } from '../src/engine/run-sync.ts';
import { openStateStore } from '../src/store/open-store.ts';
import { crashAfterWrites, InjectedCrash } from './helpers/crash-after-writes.ts';
import {
  expectedNames,
  heldNames,
  memoryFixture,
  people,
  recordsOf,
  statusCounts,
} from './helpers/engine-fixture.ts';
import { dropSchema, postgresUrl, probePostgres, uniqueSchema } from './helpers/postgres.ts';

const postgres = await probePostgres();
if (!postgres.available) {
  console.warn(
    `[ferry] SKIPPING the engine-on-PostgreSQL tests: cannot reach ${postgresUrl} (${postgres.reason}). ` +
      'Set FERRY_TEST_POSTGRES_URL or start PostgreSQL to run them.',
  );
}

// The same engine on the PostgreSQL store: the hand-written bulk statements and the
// dialect-specific placeholders are exercised end to end, crash and resume included.
describe.skipIf(!postgres.available)('runSync on PostgreSQL', () => {
  it('syncs, re-syncs without sending, and resumes after a crash', async () => {
    const fixture = memoryFixture({ limits: { maxProfilesPerJob: 10, maxJobsInFlight: 2 } });
    const schema = uniqueSchema('ferry_engine');
    const open = () => openStateStore({ location: postgresUrl, schema });
    try {
      const list = people(35);
      const crashing = await open();
      await expect(
        runSync(fixture.request(crashAfterWrites(crashing, 9).store, recordsOf(list))),
      ).rejects.toBeInstanceOf(InjectedCrash);
      await crashing.close();

      const store = await open();
      try {
        const first = await runSync(fixture.request(store, recordsOf(list)));
        expect(first.exitCode).toBe(0);
        expect(await statusCounts(store)).toEqual({ exported: 35 });
        expect(heldNames(fixture.held())).toEqual(expectedNames(list));
        const again = await runSync(fixture.request(store, recordsOf(list)));
        expect(again.destinations[0]).toMatchObject({ unchanged: 35, queued: 0, jobsSubmitted: 0 });
        const dup = await runSync(fixture.request(store, recordsOf([...list, list[0]!])));
        expect(dup.source.duplicates).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      fixture.dispose();
      await dropSchema(schema);
    }
  }, 60_000);
});
