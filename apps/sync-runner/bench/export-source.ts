/**
 * An Eloqua contact export read as a source, against the in-process sandbox: the export downloaded
 * into a fresh SQLite state store page by page (50,000 rows per page, Eloqua's maximum), then
 * streamed back as source items, as `ferry sync` does. Measures the download and the read-back
 * separately, and the peak heap and RSS (sampled every 50 ms), to show that memory does not grow
 * with the export.
 *
 *   pnpm exec node bench/export-source.ts 200000
 *
 * Prints `{ contacts, downloadMs, readMs, pages, peakHeapMb, peakRssMb }` as JSON. The sandbox runs
 * in a child process of its own (this file with `--serve`), so its memory — it holds every contact
 * and the export's snapshot — is not counted as the runner's.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSourceContext } from '@ferry/core';
import { eloquaExport } from '@ferry/plugin-eloqua';
import { startSandbox } from '@ferry/sandbox';
import { downloadExport, storedExportItems } from '../src/source/export.ts';
import { openStateStore } from '../src/store/open-store.ts';

if (process.argv[2] === '--serve') {
  const sandbox = await startSandbox({ sendgrid: false, zeroDelay: true, eloqua: {} });
  process.stdout.write(`${sandbox.eloqua!.url}\n`);
  process.on('SIGTERM', () => void sandbox.close().then(() => process.exit(0)));
} else {
  await bench(Number(process.argv[2] ?? 200_000));
}

async function bench(contacts: number): Promise<void> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8').trim()));
  });
  for (let from = 0; from < contacts; from += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, contacts - from) }, (_, k) => ({
      C_EmailAddress: `bench${from + k}@example.com`,
      C_FirstName: `First${from + k}`,
      C_LastName: `Last${from + k}`,
      C_City: 'Oslo',
    }));
    await fetch(`${url}/__sandbox/contacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
  }
  globalThis.gc?.();
  const baselineRssMb = Math.round(process.memoryUsage().rss / 2 ** 20);

  let peakHeap = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peakHeap = Math.max(peakHeap, usage.heapUsed);
    peakRss = Math.max(peakRss, usage.rss);
  }, 50);

  const dir = mkdtempSync(join(tmpdir(), 'ferry-export-bench-'));
  const store = await openStateStore({ location: join(dir, 'state.db') });
  const ctx = createSourceContext(eloquaExport, {
    label: 'source',
    options: {
      auth: { type: 'basic', site: 'FerrySandbox', username: 'sandbox.user', password: 'sandbox-password' },
      loginUrl: url,
      fields: { email: 'C_EmailAddress', first: 'C_FirstName', last: 'C_LastName', city: 'C_City' },
    },
  });
  let pages = 0;
  const started = performance.now();
  const exported = await downloadExport({
    store,
    source: eloquaExport as never,
    ctx,
    key: 'source',
    deadlineMs: 600_000,
    onPage: () => {
      pages += 1;
    },
  });
  const downloadMs = Math.round(performance.now() - started);
  const reading = performance.now();
  let records = 0;
  for await (const items of storedExportItems(store, exported, 'email')) records += items.length;
  const readMs = Math.round(performance.now() - reading);
  clearInterval(sampler);
  await store.close();
  child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      contacts: records,
      downloadMs,
      readMs,
      pages,
      baselineRssMb,
      peakHeapMb: Math.round(peakHeap / 2 ** 20),
      peakRssMb: Math.round(peakRss / 2 ** 20),
    }),
  );
}
