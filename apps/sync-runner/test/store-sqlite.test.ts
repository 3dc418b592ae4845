import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openStateStore } from '../src/store/open-store.ts';
import { isReader } from '../src/store/sqlite-database.ts';
import { describeExportsStore } from './helpers/export-store-suite.ts';
import { describeStateStore } from './helpers/store-suite.ts';

const openSqlite = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
  const store = await openStateStore({ location: join(dir, 'nested', 'state.db') });
  return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
};
describeStateStore('state store on SQLite (node:sqlite)', openSqlite);
describeExportsStore('export store on SQLite (node:sqlite)', openSqlite);

it('opens an existing file again without re-running migrations, in WAL mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-store-'));
  try {
    const location = join(dir, 'state.db');
    const first = await openStateStore({ location });
    await first.createRun({ id: 'r', startedAt: 1, options: {} });
    await first.close();
    const second = await openStateStore({ location });
    expect((await second.listRuns(5)).map((run) => run.id)).toEqual(['r']);
    await second.close();
    const { DatabaseSync } = await import('node:sqlite');
    const raw = new DatabaseSync(location);
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(raw.prepare('SELECT name FROM ferry_migration').all()).toEqual([
      { name: '0001_initial' },
      { name: '0002_leases' },
      { name: '0003_service' },
      { name: '0004_webhooks' },
      { name: '0005_source_exports' },
      { name: '0006_sessions' },
      { name: '0007_webhook_sources' },
    ]);
    raw.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('lets several processes open a new file at once (one migrates, the others find it done)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-store-race-'));
  try {
    const location = join(dir, 'state.db');
    // Separate connections, as separate processes have: Kysely's migration lock does not span them.
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStateStore({ location })));
    await stores[0]!.createRun({ id: 'r', startedAt: 1, options: {} });
    for (const store of stores) expect((await store.listRuns(5)).map((run) => run.id)).toEqual(['r']);
    await Promise.all(stores.map((store) => store.close()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('tells reading statements from writes without columns() (Node before 22.16), as columns() does', async () => {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)');
  const statements = [
    'SELECT k FROM t WHERE n > ?',
    '  select count(*) from t',
    'WITH x AS (SELECT 1 AS one) SELECT one FROM x',
    'PRAGMA journal_mode',
    'INSERT INTO t (k, n) VALUES (?, ?) ON CONFLICT (k) DO NOTHING RETURNING k',
    'UPDATE t SET n = n + 1 WHERE k = ? RETURNING n',
    'INSERT INTO t (k, n) VALUES (?, ?)',
    'UPDATE t SET n = n WHERE k = ? AND n > ?',
    'DELETE FROM t WHERE k = ?',
    'CREATE TABLE u (a TEXT)',
  ];
  for (const sql of statements) {
    const statement = db.prepare(sql);
    const expected = statement.columns().length > 0;
    // What an older node:sqlite statement looks like: no columns().
    expect(isReader({} as Pick<typeof statement, 'columns'>, sql), sql).toBe(expected);
    expect(isReader(statement, sql), sql).toBe(expected);
  }
  db.close();
});
