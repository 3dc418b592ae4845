/**
 * Ingest benchmark for the Eloqua emulator: a million contacts uploaded as CSV in chunks of at
 * most 32,000,000 bytes, one sync, zero-delay mode. Reports upload time (sending + the server's
 * streaming parse), processing time (sync created → `success`), contacts held, and memory.
 *
 *   pnpm exec node bench/eloqua-ingest.bench.ts [contacts=1000000] [--update] [--in-process]
 *
 * By default the sandbox runs as a child process (the CLI), so the peak RSS reported is the
 * server's alone (Linux: VmHWM from /proc). `--in-process` runs it in this process instead (then
 * the figure includes the client's chunk buffers; add --expose-gc for a post-GC heap figure).
 * `--update` re-imports the same contacts a second time (every row matches an existing contact).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createEloquaServer } from '../src/eloqua/server.ts';

const args = process.argv.slice(2);
const total = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 1_000_000);
const withUpdate = args.includes('--update');
const inProcess = args.includes('--in-process');
const MAX_BYTES = 32_000_000;

const startServer = async (): Promise<{
  base: string;
  pid: number | undefined;
  close: () => Promise<void>;
}> => {
  if (inProcess) {
    const server = createEloquaServer({ startDelayMs: 0, recordsPerSecond: Number.POSITIVE_INFINITY });
    return { base: await server.listen(), pid: undefined, close: () => server.close() };
  }
  const cli = new URL('../src/cli.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, [cli, '--json', '--zero-delay', '--no-sendgrid', '--eloqua-port=0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    base: (JSON.parse(line) as { eloqua: { url: string } }).eloqua.url,
    pid: child.pid,
    close: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
};

const server = await startServer();
const base = server.base;
const bulk = `${base}/api/bulk/2.0`;
const authorization = `Basic ${Buffer.from('FerrySandbox\\sandbox.user:sandbox-password').toString('base64')}`;
const json = { authorization, 'content-type': 'application/json' };

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const header = 'C_EmailAddress,C_FirstName,C_LastName,C_Company,C_City,C_Country\r\n';
const row = (i: number, pass: number) =>
  `contact${i}@example${i % 97}.com,First${i},Last${pass}-${i},Company ${i % 5000},City ${i % 300},Country ${i % 50}\r\n`;

/** CSV chunks of at most MAX_BYTES each, built one at a time. */
function* chunks(pass: number): Generator<Buffer> {
  let parts: string[] = [header];
  let bytes = header.length;
  for (let i = 0; i < total; i += 1) {
    const line = row(i, pass);
    if (bytes + line.length > MAX_BYTES) {
      yield Buffer.from(parts.join(''));
      parts = [header];
      bytes = header.length;
    }
    parts.push(line);
    bytes += line.length;
  }
  yield Buffer.from(parts.join(''));
}

const definition = (await (
  await fetch(`${bulk}/contacts/imports`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({
      name: 'bench',
      fields: Object.fromEntries(
        ['C_EmailAddress', 'C_FirstName', 'C_LastName', 'C_Company', 'C_City', 'C_Country'].map((f) => [
          f,
          `{{Contact.Field(${f})}}`,
        ]),
      ),
      identifierFieldName: 'C_EmailAddress',
    }),
  })
).json()) as { uri: string };

const runPass = async (pass: number) => {
  let uploadMs = 0;
  let uploads = 0;
  let bytes = 0;
  // Building the CSV is the client's work: only the POSTs (sending + server-side parsing) are timed.
  for (const chunk of chunks(pass)) {
    const posted = performance.now();
    const response = await fetch(`${bulk}${definition.uri}/data`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'text/csv' },
      body: chunk,
    });
    if (response.status !== 204) throw new Error(`upload ${uploads + 1}: HTTP ${response.status}`);
    uploadMs += performance.now() - posted;
    uploads += 1;
    bytes += chunk.length;
  }
  const uploaded = performance.now();
  const sync = (await (
    await fetch(`${bulk}/syncs`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ syncedInstanceUri: definition.uri }),
    })
  ).json()) as { uri: string };
  let status = 'pending';
  while (status === 'pending' || status === 'active') {
    status = (
      (await (await fetch(`${bulk}${sync.uri}`, { headers: { authorization } })).json()) as { status: string }
    ).status;
  }
  const processed = performance.now();
  const count = ((await (await fetch(`${base}/__sandbox/contacts/count`)).json()) as { count: number }).count;
  return { uploads, bytes, uploadMs, processMs: processed - uploaded, status, count };
};

const report = (label: string, result: Awaited<ReturnType<typeof runPass>>) => {
  const totalMs = result.uploadMs + result.processMs;
  console.log(
    `${label}: ${total.toLocaleString('en')} contacts, ${result.uploads} uploads, ${mb(result.bytes)} CSV | ` +
      `upload+parse ${seconds(result.uploadMs)}, processing ${seconds(result.processMs)}, ` +
      `total ${seconds(totalMs)} (${Math.round(total / (totalMs / 1000)).toLocaleString('en')} contacts/s) | ` +
      `sync ${result.status}, store holds ${result.count.toLocaleString('en')}`,
  );
};

report('insert', await runPass(1));
if (withUpdate) report('update', await runPass(2));
/** Peak and current RSS of a process, from /proc (Linux). */
const procMemory = (pid: number): string => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return `server peak RSS ${mb(kb('VmHWM') * 1024)}, now ${mb(kb('VmRSS') * 1024)}`;
  } catch {
    return 'server RSS not available (no /proc)';
  }
};

if (server.pid !== undefined) {
  console.log(`memory: ${procMemory(server.pid)} (separate process)`);
} else {
  globalThis.gc?.();
  const memory = process.memoryUsage();
  console.log(
    `memory: peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}, now RSS ${mb(memory.rss)}, heap used ${mb(memory.heapUsed)}` +
      (globalThis.gc === undefined ? ' (run with --expose-gc for a post-GC heap figure)' : ' (after GC)') +
      ' (client and server in one process)',
  );
}
await server.close();
