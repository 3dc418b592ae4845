/**
 * How fast and how lean the SendGrid emulator ingests 1,000,000 contacts in zero-delay mode:
 *   put     — PUT /v3/marketing/contacts, 30,000 per call, 4 calls in flight
 *   csv     — one CSV import, streamed up (never held in memory on either side)
 *   csv.gz  — the same CSV, gzip-compressed on the fly
 * Each mode runs in its own process so its peak RSS is its own. Client and server share that
 * process (the client streams or builds one 30k body per call in flight), so the figures are an
 * upper bound for the emulator alone.
 *
 *   pnpm exec node bench/sendgrid-ingest.bench.ts            # all modes
 *   pnpm exec node bench/sendgrid-ingest.bench.ts put        # one mode
 */
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { createSendgridServer } from '../src/sendgrid/server.ts';

const TOTAL = 1_000_000;
const PER_CALL = 30_000;
const PARALLEL = 4;
const API_KEY = 'SG.bench';
const MODES = ['put', 'csv', 'csv.gz'] as const;
type Mode = (typeof MODES)[number];

interface Result {
  readonly mode: Mode;
  readonly contacts: number;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly heapAfterGcMb: number;
}

const contactAt = (n: number) => ({
  email: `user${n}@example.com`,
  first_name: `First${n % 997}`,
  last_name: `Last${n % 991}`,
  city: 'Zürich',
  custom_fields: { e1_N: n % 100 },
});

const csvRows = function* (): Generator<string> {
  yield 'email,first_name,last_name,city,orders\n';
  const batch = 2000;
  for (let start = 0; start < TOTAL; start += batch) {
    let chunk = '';
    for (let n = start; n < Math.min(TOTAL, start + batch); n += 1) {
      chunk += `user${n}@example.com,First${n % 997},Last${n % 991},Zürich,${n % 100}\n`;
    }
    yield chunk;
  }
};

const runMode = async (mode: Mode): Promise<Result> => {
  const server = createSendgridServer({
    apiKey: API_KEY,
    startDelayMs: 0,
    recordsPerSecond: Number.POSITIVE_INFINITY,
    customFields: [{ id: 'e1_N', name: 'orders', field_type: 'Number' }],
  });
  const url = await server.listen();
  const auth = { authorization: `Bearer ${API_KEY}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const started = performance.now();

  if (mode === 'put') {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const from = next;
        next += PER_CALL;
        const contacts = Array.from({ length: Math.min(PER_CALL, TOTAL - from) }, (_, i) =>
          contactAt(from + i),
        );
        const response = await fetch(`${url}/v3/marketing/contacts`, {
          method: 'PUT',
          headers: json,
          body: JSON.stringify({ contacts }),
        });
        if (response.status !== 202) throw new Error(`PUT: ${response.status} ${await response.text()}`);
        const { job_id: job } = (await response.json()) as { job_id: string };
        const status = (await (
          await fetch(`${url}/v3/marketing/contacts/imports/${job}`, { headers: auth })
        ).json()) as {
          status: string;
        };
        if (status.status !== 'completed') throw new Error(`job ${job}: ${JSON.stringify(status)}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  } else {
    const created = await fetch(`${url}/v3/marketing/contacts/imports`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({
        file_type: 'csv',
        field_mappings: ['_rf2_T', '_rf0_T', '_rf1_T', '_rf6_T', 'e1_N'],
      }),
    });
    const ticket = (await created.json()) as {
      job_id: string;
      upload_uri: string;
      upload_headers: { header: string; value: string }[];
    };
    const headers = Object.fromEntries(ticket.upload_headers.map((h) => [h.header, h.value]));
    const source = Readable.from(csvRows());
    const body = mode === 'csv.gz' ? source.pipe(createGzip({ level: 1 })) : source;
    if (mode === 'csv.gz') headers['content-encoding'] = 'gzip';
    const uploaded = await fetch(ticket.upload_uri, {
      method: 'PUT',
      headers,
      body: Readable.toWeb(body) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
    const status = (await (
      await fetch(`${url}/v3/marketing/contacts/imports/${ticket.job_id}`, { headers: auth })
    ).json()) as {
      status: string;
      results: { created_count: number };
    };
    if (status.status !== 'completed' || status.results.created_count !== TOTAL) {
      throw new Error(`import: ${JSON.stringify(status)}`);
    }
  }

  const seconds = (performance.now() - started) / 1000;
  const count = (await (await fetch(`${url}/__sandbox/contacts/count`)).json()) as { count: number };
  if (count.count !== TOTAL) throw new Error(`expected ${TOTAL} contacts, the store holds ${count.count}`);
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGcMb = process.memoryUsage().heapUsed / 1024 / 1024;
  await server.close();
  return { mode, contacts: count.count, seconds, peakRssMb, heapAfterGcMb };
};

const child = process.argv.find((arg) => arg.startsWith('--child='))?.slice('--child='.length) as
  | Mode
  | undefined;
if (child !== undefined) {
  process.stdout.write(`${JSON.stringify(await runMode(child))}\n`);
} else {
  const wanted = process.argv
    .slice(2)
    .filter((arg): arg is Mode => (MODES as readonly string[]).includes(arg));
  console.log(
    `SendGrid emulator, ${TOTAL.toLocaleString('en')} contacts, zero-delay mode, node ${process.version}`,
  );
  console.log('mode    |  seconds | contacts/s | peak RSS MB | heap after GC MB');
  for (const mode of wanted.length > 0 ? wanted : MODES) {
    const run = spawnSync(process.execPath, ['--expose-gc', import.meta.filename, `--child=${mode}`], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    });
    if (run.status !== 0) {
      console.error(run.stderr);
      process.exit(1);
    }
    const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Result;
    console.log(
      `${mode.padEnd(7)} | ${result.seconds.toFixed(1).padStart(8)} | ${Math.round(TOTAL / result.seconds)
        .toLocaleString('en')
        .padStart(
          10,
        )} | ${result.peakRssMb.toFixed(0).padStart(11)} | ${result.heapAfterGcMb.toFixed(0).padStart(16)}`,
    );
  }
}
