import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSourceContext } from '@ferry/core';
import { eloquaExport } from '@ferry/plugin-eloqua';
import { type RunningSandbox, startSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadExport, finishExport, storedExportItems } from '../src/source/export.ts';
import { openStateStore } from '../src/store/open-store.ts';
import type { StateStore } from '../src/store/state-store.ts';
import { crashAfterWrites, InjectedCrash } from './helpers/crash-after-writes.ts';

/*
 * An export source's download, crashed at every one of its store writes in turn and run again on
 * the same store: the records stored are the export's, each exactly once and in order, and the
 * second process fetches only the pages after the last one stored (plus, at most, the one in
 * flight). Against the Eloqua sandbox over HTTP, SQLite on disk.
 */

const COUNT = 230;
const PAGE = 50;
const PAGES = Math.ceil(COUNT / PAGE);

let sandbox: RunningSandbox;
let url = '';
beforeAll(async () => {
  sandbox = await startSandbox({ sendgrid: false, zeroDelay: true, eloqua: {} });
  url = sandbox.eloqua!.url;
  const contacts = Array.from({ length: COUNT }, (_, i) => ({
    C_EmailAddress: `walk${String(i).padStart(3, '0')}@example.com`,
    C_FirstName: `W${i}`,
  }));
  const response = await fetch(`${url}/__sandbox/contacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(contacts),
  });
  expect(response.status).toBe(200);
});
afterAll(() => sandbox.close());

const dataPages = async (): Promise<number> => {
  const stats = (await (await fetch(`${url}/__sandbox/stats`)).json()) as {
    requests: Record<string, number>;
  };
  return stats.requests['eloqua.syncData'] ?? 0;
};

const options = (store: StateStore) => ({
  store,
  source: eloquaExport as never,
  ctx: createSourceContext(eloquaExport, {
    label: 'source',
    options: {
      auth: { type: 'basic', site: 'FerrySandbox', username: 'sandbox.user', password: 'sandbox-password' },
      loginUrl: url,
      fields: { email: 'C_EmailAddress', first: 'C_FirstName' },
      pageSize: PAGE,
    },
  }),
  key: 'source',
  deadlineMs: 30_000,
});

const storedEmails = async (store: StateStore): Promise<string[]> => {
  const exported = await store.getExport('source');
  if (exported === undefined) return [];
  const emails: string[] = [];
  for await (const items of storedExportItems(store, exported, 'email'))
    for (const item of items) if (item.kind === 'record') emails.push(item.id);
  return emails;
};

const expected = Array.from({ length: COUNT }, (_, i) => `walk${String(i).padStart(3, '0')}@example.com`);

describe('an export download crashed at every store write', () => {
  // startExport, markExportReady, one appendExportPage per page and one per part end, markExportDownloaded.
  const writes = 2 + PAGES + 1 + 1;
  for (let limit = 0; limit <= writes; limit += 1) {
    it(`crash before write ${limit + 1} of ${writes}, then run again: every record once, in order`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ferry-export-walk-'));
      const store = await openStateStore({ location: join(dir, 'state.db') });
      try {
        const crashing = crashAfterWrites(store, limit);
        const first = await downloadExport(options(crashing.store)).then(
          () => 'finished',
          (error: unknown) => {
            if (!(error instanceof InjectedCrash)) throw error;
            return 'crashed';
          },
        );
        expect(first).toBe(limit >= writes ? 'finished' : 'crashed');
        const stored = await store.getExport('source');
        const before = await dataPages();
        const exported = await downloadExport(options(store));
        expect(exported.state).toBe('downloaded');
        expect(await storedEmails(store)).toEqual(expected);
        // Only what was not stored is fetched again (the check's one-row page if it never ended).
        const remaining = stored?.state === 'downloaded' ? 0 : PAGES - Math.floor((stored?.rows ?? 0) / PAGE);
        expect((await dataPages()) - before).toBeLessThanOrEqual(remaining + 1);
        await finishExport(options(store), exported);
        expect(await store.getExport('source')).toBeUndefined();
      } finally {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
