/**
 * What one Eloqua job costs: the calls it makes and the time the plugin itself spends per profile,
 * against the zero-delay sandbox.
 *
 *   pnpm exec node [--expose-gc] bench/export.bench.ts [profiles=100000] [runs=3] [--in-process]
 *
 * The sandbox runs as a child process (its CLI) so this process's CPU time is the plugin's own work:
 * encoding rows, streaming them through core's HTTP client, and reading statuses. `--in-process`
 * runs the sandbox here instead (then CPU time includes the server's parsing and importing).
 *
 * Per run: `measure` over every profile (what the runner pays to pack), `exportProfiles` (wall
 * clock and this process's CPU time), `checkStatus` until completed, and the calls counted by the
 * sandbox's `/__sandbox/stats`. The first run creates the import definition; later ones reuse it.
 *
 * `exportProfiles` gets a batch made on the fly, page by page, the way the runner streams one from
 * its store, so no array of the job's profiles exists while it runs: the heap figure (peak heap used
 * above what was used before, sampled every few ms; with `--expose-gc` the baseline is taken after a
 * collection) is then what the plugin itself holds, plus garbage not yet collected.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createContext, type ProfileBatch, type ProfileChange } from '@ferry/core';
import { membersOf, waitForJob } from '@ferry/core/testing';
import { startSandbox } from '@ferry/sandbox';
import { eloqua } from '../src/index.ts';
import { prepareJob } from '../src/mapping.ts';

const args = process.argv.slice(2);
const numbers = args.filter((arg) => /^\d+$/.test(arg)).map(Number);
const profiles = numbers[0] ?? 100_000;
const runs = numbers[1] ?? 3;
const inProcess = args.includes('--in-process');

const startServer = async (): Promise<{ url: string; close: () => Promise<void> }> => {
  if (inProcess) {
    const sandbox = await startSandbox({ zeroDelay: true, sendgrid: false });
    if (sandbox.eloqua === undefined) throw new Error('no Eloqua sandbox');
    return { url: sandbox.eloqua.url, close: sandbox.close };
  }
  const cli = new URL('../src/cli.ts', import.meta.resolve('@ferry/sandbox')).pathname;
  const child = spawn(process.execPath, [cli, '--json', '--zero-delay', '--no-sendgrid', '--eloqua-port=0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    url: (JSON.parse(line) as { eloqua: { url: string } }).eloqua.url,
    close: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
};

/** Nine mapped fields of every type: text, number, date, boolean. */
const makeChange = (i: number, pass: number): ProfileChange => ({
  kind: 'upsert',
  profileId: `profile-${i}`,
  identity: `contact${i}@example${i % 97}.com`,
  fields: {
    C_EmailAddress: `contact${i}@example${i % 97}.com`,
    C_FirstName: `First${i}`,
    C_LastName: `Last${pass}-${i}`,
    C_Company: `Company ${i % 5000}`,
    C_City: `City ${i % 300}`,
    C_Country: `Country ${i % 50}`,
    C_Number_of_Employees1: (i % 1000) * 10,
    C_Last_Purchase_Date1: new Date(Date.UTC(2024, i % 12, (i % 28) + 1)),
    C_Is_Customer1: i % 3 === 0,
  },
});

const makeBatch = (count: number, pass: number): ProfileChange[] =>
  Array.from({ length: count }, (_, i) => makeChange(i, pass));

/** Like the runner's batch: re-readable, handed over in pages with other tasks running between them. */
const generatedBatch = (count: number, pass: number, pageSize = 500): ProfileBatch => ({
  length: count,
  async *[Symbol.asyncIterator]() {
    for (let start = 0; start < count; start += pageSize) {
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = start; i < Math.min(count, start + pageSize); i += 1) yield makeChange(i, pass);
    }
  },
});

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

const server = await startServer();
const stats = async (): Promise<{ requests: Record<string, number>; total: number }> =>
  (await fetch(`${server.url}/__sandbox/stats`)).json() as Promise<{
    requests: Record<string, number>;
    total: number;
  }>;

const ms = (start: number) => performance.now() - start;
const us = (total: number) => `${((total * 1000) / profiles).toFixed(2)} µs`;
const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(b)
      .map(([key, value]) => [key, value - (a[key] ?? 0)] as const)
      .filter(([, value]) => value > 0),
  );

console.log(
  `Eloqua export bench: ${profiles.toLocaleString('en-US')} profiles × ${runs} runs, sandbox ${inProcess ? 'in-process' : 'in a child process'} (zero delay), Node ${process.version}`,
);
try {
  const ctx = createContext(eloqua, {
    options: {
      auth: { type: 'basic', site: 'FerrySandbox', username: 'sandbox.user', password: 'sandbox-password' },
      loginUrl: server.url,
    },
  });
  for (let run = 1; run <= runs; run += 1) {
    // Counters are compared before/after; contacts and definitions stay, as between two jobs of a real run.
    const before = await stats();

    let start = performance.now();
    let bytes = 0;
    for (let i = 0; i < profiles; i += 1) bytes += eloqua.measure(makeChange(i, run), ctx.options);
    const measureMs = ms(start);

    let prepareMs: number;
    {
      const batch = makeBatch(profiles, run);
      start = performance.now();
      prepareJob(batch, ctx.options);
      prepareMs = ms(start);
    }

    // What one pass over the generated batch costs by itself; exportProfiles reads it more than once.
    start = performance.now();
    let read = 0;
    for await (const change of generatedBatch(profiles, run)) if (change.kind === 'upsert') read += 1;
    const readMs = ms(start);
    if (read !== profiles) throw new Error(`read ${read} profiles`);

    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let heapPeak = heapBefore;
    const sampler = setInterval(() => {
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    }, 2);
    const cpu = process.cpuUsage();
    start = performance.now();
    const { job, rejected } = await eloqua.exportProfiles(ctx, generatedBatch(profiles, run));
    const exportMs = ms(start);
    const exportCpu = process.cpuUsage(cpu);
    clearInterval(sampler);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
    if (job === null || rejected.length > 0)
      throw new Error(`unexpected: job ${String(job)}, ${rejected.length} rejected`);
    const afterExport = await stats();

    start = performance.now();
    const { status, stats: checks } = await waitForJob(
      eloqua,
      ctx,
      job,
      membersOf(makeBatch(profiles, run), rejected),
      {
        defaultCheckIntervalMs: 10,
        maxCheckIntervalMs: 50,
        pollTimeoutMs: 120_000,
      },
    );
    const settleMs = ms(start);
    if (status.state !== 'completed' || status.outcomes.length > 0) throw new Error(JSON.stringify(status));
    const after = await stats();

    const exportCalls = diff(before.requests, afterExport.requests);
    const checkCalls = diff(afterExport.requests, after.requests);
    console.log(`\nrun ${run}: ${(bytes / 1e6).toFixed(1)} MB of CSV rows`);
    console.log(`  measure (runner packing)     ${measureMs.toFixed(0)} ms  = ${us(measureMs)}/profile`);
    console.log(`  encode rows (prepareJob)     ${prepareMs.toFixed(0)} ms  = ${us(prepareMs)}/profile`);
    console.log(
      `  one pass over the batch      ${readMs.toFixed(0)} ms  = ${us(readMs)}/profile (making the profiles)`,
    );
    console.log(
      `  exportProfiles               ${exportMs.toFixed(0)} ms wall = ${us(exportMs)}/profile; ` +
        `this process's CPU ${((exportCpu.user + exportCpu.system) / 1000).toFixed(0)} ms = ${us((exportCpu.user + exportCpu.system) / 1000)}/profile`,
    );
    console.log(
      `  heap during exportProfiles   peak ${mb(heapPeak - heapBefore)} above the ${mb(heapBefore)} used before${gc === undefined ? ' (no --expose-gc: baseline not collected)' : ''}`,
    );
    console.log(
      `  until completed              ${settleMs.toFixed(0)} ms, ${checks.statusChecks} status check(s)`,
    );
    console.log(
      `  calls: export ${Object.values(exportCalls).reduce((a, b) => a + b, 0)} ${JSON.stringify(exportCalls)}; ` +
        `status ${Object.values(checkCalls).reduce((a, b) => a + b, 0)} ${JSON.stringify(checkCalls)}`,
    );
  }
  console.log(`\npeak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await server.close();
}
