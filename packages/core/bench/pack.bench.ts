/**
 * Batch packer benchmark: 1,000,000 synthetic upsert profiles, generated lazily, measured as CSV rows
 * (what Eloqua's and SendGrid's CSV imports receive) and packed with each vendor's limits.
 *
 *   pnpm exec node bench/pack.bench.ts            (or `pnpm bench` in packages/core)
 *   pnpm exec node bench/pack.bench.ts 200000     (fewer profiles)
 *
 * Each scenario runs in its own child process so that its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FieldValue, UpsertChange } from '../src/contract.ts';
import { createCsvRowEncoder } from '../src/csv.ts';
import { type PackLimits, packBatches } from '../src/pack.ts';

const MB = 1024 ** 2;
const COLUMNS = [
  'email',
  'first_name',
  'last_name',
  'city',
  'plan',
  'signup_date',
  'lifetime_value',
  'opt_in',
  'score',
];

interface Scenario {
  readonly name: string;
  /** Absent: the baseline, which generates and measures the profiles without packing them. */
  readonly limits?: PackLimits;
  readonly measure: 'csv' | 'json';
  /** Extra Node flags for the child process. */
  readonly flags?: readonly string[];
}

const encodeRow = createCsvRowEncoder();
const csvHeaderBytes = Buffer.byteLength(encodeRow(COLUMNS));

const sendgridCsvLimits: PackLimits = {
  maxProfilesPerJob: 30_000,
  maxBytesPerJob: 6 * MB,
  jobOverheadBytes: csvHeaderBytes,
};

const scenarios: readonly Scenario[] = [
  { name: 'baseline: generate + measure CSV, no packing', measure: 'csv' },
  {
    name: 'sendgrid-csv (30,000 / 6 MB)',
    limits: sendgridCsvLimits,
    measure: 'csv',
  },
  {
    // Shows that memory is bounded by one batch: it still runs with the old generation capped at 64 MB
    // (GC works harder); without a cap V8 lets garbage pile up, which is most of the peak RSS.
    name: 'sendgrid-csv, heap capped at 64 MB',
    limits: sendgridCsvLimits,
    measure: 'csv',
    flags: ['--max-old-space-size=64'],
  },
  {
    // SendGrid's PUT /v3/marketing/contacts body is JSON: `{"contacts":[...]}`, contacts comma-separated.
    name: 'sendgrid-json (30,000 / 6 MB)',
    limits: { maxProfilesPerJob: 30_000, maxBytesPerJob: 6 * MB, jobOverheadBytes: '{"contacts":[]}'.length },
    measure: 'json',
  },
  {
    name: 'eloqua-upload (32 MB per POST)',
    limits: {
      maxProfilesPerJob: Number.MAX_SAFE_INTEGER,
      maxBytesPerJob: 32 * MB,
      jobOverheadBytes: csvHeaderBytes,
    },
    measure: 'csv',
  },
  {
    name: 'eloqua-sync (250 MB per sync)',
    limits: {
      maxProfilesPerJob: Number.MAX_SAFE_INTEGER,
      maxBytesPerJob: 250 * MB,
      jobOverheadBytes: csvHeaderBytes,
    },
    measure: 'csv',
  },
];

// Deterministic data, so runs compare.
const random = (() => {
  let state = 0x9e3779b9;
  return (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
})();
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Zoë',
  'José',
  'Ólafur',
  'Mei',
  'Aarav',
  'Fatima',
  'Liam',
  'Chloé',
  'Søren',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  "O'Brien",
  'García',
  'Nguyen',
  'Müller',
  'Kowalski',
  'Smith-Jones',
];
const CITIES = [
  'London',
  'São Paulo',
  'Washington, D.C.',
  'Zürich',
  'Tokyo',
  'New York',
  'Lagos',
  'Montréal',
];
const PLANS = ['free', 'pro', 'enterprise'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net'];

async function* profiles(count: number): AsyncGenerator<UpsertChange> {
  for (let index = 0; index < count; index += 1) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first}.${last}.${index}@${pick(DOMAINS)}`.toLowerCase().replace(/[^a-z0-9.@-]/g, '');
    yield {
      kind: 'upsert',
      profileId: `src-${index}`,
      identity: email,
      fields: {
        email,
        first_name: first,
        last_name: last,
        city: pick(CITIES),
        plan: pick(PLANS),
        signup_date: new Date(Date.UTC(2015 + Math.floor(random() * 10), 0, 1 + Math.floor(random() * 365))),
        lifetime_value: Math.round(random() * 100_000) / 100,
        opt_in: random() < 0.7,
        score: random() < 0.2 ? null : Math.floor(random() * 100),
      },
    };
  }
}

const text = (value: FieldValue | undefined): string | null => {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value);
};

const measureCsv = (change: UpsertChange): number =>
  Buffer.byteLength(encodeRow(COLUMNS.map((column) => text(change.fields[column]))));

// One contact plus the comma that separates it from the next (one comma too many per job: conservative).
const measureJson = (change: UpsertChange): number =>
  Buffer.byteLength(
    JSON.stringify({
      email: change.identity,
      first_name: change.fields.first_name,
      last_name: change.fields.last_name,
      city: change.fields.city,
      custom_fields: {
        plan: change.fields.plan,
        signup_date: text(change.fields.signup_date),
        lifetime_value: change.fields.lifetime_value,
        opt_in: change.fields.opt_in,
        score: change.fields.score,
      },
    }),
  ) + 1;

interface Result {
  readonly name: string;
  readonly profiles: number;
  readonly seconds: number;
  readonly batches: number | null;
  readonly oversized: number | null;
  /** Fractions; null when there is nothing to average. */
  readonly avgByteFill: number | null;
  readonly avgByteFillFull: number | null;
  readonly avgCountFill: number | null;
  readonly maxRssMb: number;
}

/** Peak resident set size of this process so far (maxRSS is in kilobytes). */
const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

const average = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;

const runBaseline = async (scenario: Scenario, count: number): Promise<Result> => {
  const measure = scenario.measure === 'csv' ? measureCsv : measureJson;
  const started = performance.now();
  let bytes = 0;
  for await (const change of profiles(count)) bytes += measure(change);
  const seconds = (performance.now() - started) / 1000;
  if (bytes === 0) throw new Error('measured nothing');
  const none = {
    batches: null,
    oversized: null,
    avgByteFill: null,
    avgByteFillFull: null,
    avgCountFill: null,
  };
  return { name: scenario.name, profiles: count, seconds, ...none, maxRssMb: peakRssMb() };
};

const run = async (scenario: Scenario, count: number): Promise<Result> => {
  const { limits } = scenario;
  if (limits === undefined) return runBaseline(scenario, count);
  const measure = scenario.measure === 'csv' ? measureCsv : measureJson;
  const started = performance.now();
  const fills: number[] = [];
  let countFill = 0;
  let total = 0;
  let oversized = 0;
  for await (const item of packBatches(profiles(count), { limits, measure })) {
    if (item.kind === 'oversized') {
      oversized += 1;
      continue;
    }
    total += item.changes.length;
    fills.push(item.bytes / limits.maxBytesPerJob);
    countFill += item.changes.length / limits.maxProfilesPerJob;
  }
  const seconds = (performance.now() - started) / 1000;
  if (total + oversized !== count) throw new Error(`packed ${total} + ${oversized} of ${count} profiles`);
  return {
    name: scenario.name,
    profiles: count,
    seconds,
    batches: fills.length,
    oversized,
    avgByteFill: average(fills),
    // The last batch holds whatever is left; the others show how well greedy filling works.
    avgByteFillFull: average(fills.slice(0, -1)),
    // Meaningless when the destination has no real count limit (Eloqua).
    avgCountFill: limits.maxProfilesPerJob >= 1e9 ? null : countFill / fills.length,
    maxRssMb: peakRssMb(),
  };
};

/** The row encoder alone, on rows already converted to text: its cost per profile, without the data's. */
const benchEncoder = (): void => {
  const rows: (string | null)[][] = [];
  for (let index = 0; index < 200_000; index += 1) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first}.${last}.${index}@example.com`;
    rows.push([email, first, last, pick(CITIES), pick(PLANS), '2021-03-04', '1234.56', 'true', null]);
  }
  let bytes = 0;
  let encoded = 0;
  const started = performance.now();
  for (let pass = 0; pass < 5; pass += 1) {
    for (const row of rows) bytes += Buffer.byteLength(encodeRow(row));
    encoded += rows.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const perSecond = Math.round(encoded / seconds).toLocaleString('en');
  const mbPerSecond = (bytes / MB / seconds).toFixed(0);
  console.log(`encodeCsvRow + Buffer.byteLength, 9 fields: ${perSecond} rows/s (${mbPerSecond} MB/s)\n`);
};

/** The packer alone: minimal profiles carrying a precomputed size, so neither data nor encoding count. */
const benchPacker = async (count: number): Promise<void> => {
  interface Sized extends UpsertChange {
    readonly size: number;
  }
  const fields = {};
  async function* cheap(): AsyncGenerator<Sized> {
    for (let index = 0; index < count; index += 1) {
      yield {
        kind: 'upsert',
        profileId: `${index}`,
        identity: '',
        fields,
        size: 80 + ((index * 7919) % 120),
      };
    }
  }
  const limits = { maxProfilesPerJob: 30_000, maxBytesPerJob: 3 * MB };
  let batches = 0;
  const started = performance.now();
  for await (const item of packBatches(cheap(), { limits, measure: (change) => change.size })) {
    if (item.kind === 'batch') batches += 1;
  }
  const perSecond = Math.round(count / ((performance.now() - started) / 1000)).toLocaleString('en');
  console.log(
    `packBatches alone (async source, sizes precomputed): ${perSecond} profiles/s, ${batches} batches\n`,
  );
};

const percent = (value: number | null): string => (value === null ? '-' : `${(value * 100).toFixed(2)}%`);

const main = async (): Promise<void> => {
  const [, , countArg, scenarioArg] = process.argv;
  const count = countArg === undefined ? 1_000_000 : Number(countArg);
  if (scenarioArg !== undefined) {
    // Child: one scenario, result as JSON on stdout.
    const scenario = scenarios[Number(scenarioArg)]!;
    process.stdout.write(JSON.stringify(await run(scenario, count)));
    return;
  }
  console.log(`node ${process.version}, ${count.toLocaleString('en')} profiles per scenario\n`);
  benchEncoder();
  await benchPacker(count);
  const self = fileURLToPath(import.meta.url);
  const rows = scenarios.map((scenario, index) => {
    const flags = [...process.execArgv, ...(scenario.flags ?? [])];
    const output = execFileSync(process.execPath, [...flags, self, String(count), String(index)], {
      encoding: 'utf8',
    });
    const result = JSON.parse(output) as Result;
    return {
      scenario: result.name,
      'profiles/s': Math.round(result.profiles / result.seconds).toLocaleString('en'),
      seconds: result.seconds.toFixed(2),
      batches: result.batches ?? '-',
      'byte fill (all)': percent(result.avgByteFill),
      'byte fill (all but last)': percent(result.avgByteFillFull),
      'count fill': percent(result.avgCountFill),
      oversized: result.oversized ?? '-',
      'peak RSS': `${result.maxRssMb.toFixed(0)} MB`,
    };
  });
  console.table(rows);
};

await main();
