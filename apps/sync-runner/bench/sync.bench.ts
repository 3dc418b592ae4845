/**
 * `ferry sync` benchmark (issue 7): speed, memory, API calls and request sizes of the real CLI on
 * generated profile files, against the zero-delay sandbox, next to the time fast-csv alone needs to
 * parse the same file.
 *
 *   pnpm bench                                   (apps/sync-runner: 100k and 1M, writes docs/benchmarks.md)
 *   pnpm exec node bench/sync.bench.ts --rows 100000 --no-write
 *   pnpm exec node bench/sync.bench.ts --smoke   (10k profiles, checks instead of figures)
 *
 * Every measured program is a child process of its own, so each wall time and peak RSS is that
 * program's alone:
 *   - parse-only: `node bench/parse-only.ts <file>` (fast-csv, rows counted), the floor;
 *   - the sandbox: `node bench/sandbox-server.ts <vendor>`, zero delay, one fresh process per
 *     destination, never measured itself;
 *   - `node src/cli.ts sync -c <config> -d <destination> --state <db> --json -q` for the first sync
 *     (every profile new) and again for the unchanged re-sync, each with `--import
 *     bench/child-usage.ts` so the process reports its own peak RSS and CPU time as it exits.
 * API calls come from the sandbox's `/__sandbox/stats`; bytes per request from the sandbox process
 * (see sandbox-server.ts); jobs and their planned bytes from the run's state database.
 */
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createContext, type Destination, type Limits } from '@ferry/core';
import { eloqua } from '@ferry/plugin-eloqua';
import { jsonOverheadBytes, sendgrid } from '@ferry/plugin-sendgrid';
import type { ChildUsage } from './child-usage.ts';
import { BENCH_DATA_DIR, ensureProfileFile, type ProfileFile } from './profiles.ts';
import {
  BENCH_ELOQUA_AUTH,
  BENCH_ELOQUA_LIST,
  BENCH_SENDGRID_KEY,
  BENCH_SENDGRID_LIST,
  type SandboxMessage,
  type ServedRequest,
} from './sandbox-server.ts';

const APP_DIR = fileURLToPath(new URL('../', import.meta.url));
const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(APP_DIR, 'src/cli.ts');
const PARSE_ONLY = join(APP_DIR, 'bench/parse-only.ts');
const SANDBOX = join(APP_DIR, 'bench/sandbox-server.ts');
const USAGE_HOOK = pathToFileURL(join(APP_DIR, 'bench/child-usage.ts')).href;
const DOC = join(REPO_DIR, 'docs/benchmarks.md');
const CHILD_TIMEOUT_MS = 60 * 60 * 1000;

const TARGETS = {
  fullSyncVsParse: 2.0,
  resyncVsParse: 1.5,
  peakRssMb: 300,
  rssGrowth: 0.2,
  callsVsMinimum: 1.1,
  uploadFill: 0.9,
} as const;

// ---- destinations ------------------------------------------------------------------------------

const SOURCE_COLUMNS = {
  employees: 'number',
  orders: 'number',
  lifetime_value: 'number',
  is_customer: 'boolean',
  signup_date: 'date',
  last_order_at: 'date',
} as const;

const EMAIL = { column: 'email', transform: ['trim', 'lowercase'] } as const;

interface BenchDestination {
  readonly key: string;
  readonly vendor: 'eloqua' | 'sendgrid';
  readonly description: string;
  readonly plugin: Destination;
  /** The destination's config entry (raw options: environment references resolved by the CLI). */
  readonly config: (sandboxUrl: string) => Record<string, unknown>;
  /** Options as the plugin sees them, to compute its limits here. */
  readonly options: (sandboxUrl: string) => Record<string, unknown>;
  /** Requests that carry profiles (the ones measured against a byte limit). */
  readonly isUpload: (request: ServedRequest) => boolean;
  /** Per-request byte limit of those uploads; undefined when uploads are not byte-bound (gzip of a count-bound job). */
  readonly uploadLimit: (options: Record<string, unknown>) => number | undefined;
  /**
   * Which uploads hold a remainder rather than being closed by the byte limit: the last of each job
   * (a job split into several uploads), or only the last of the run (one upload per job).
   */
  readonly remainders: 'per-job' | 'per-run';
  /**
   * Payload bytes as they went over the wire, when they differ from what the plugin measured for
   * packing (the minimum is computed from what was sent); by default the packer's measure.
   */
  readonly wirePayload?: (uploads: readonly number[], options: Record<string, unknown>) => number;
  /** Endpoint ids (from /__sandbox/stats) that send or stage data. */
  readonly exportEndpoints: readonly string[];
  /** The fewest calls the limits allow for this sync. */
  readonly minimumCalls: (input: MinimumInput) => MinimumCalls;
}

interface MinimumInput {
  readonly profiles: number;
  /** Σ measure over the profiles (payload bytes, job overheads excluded). */
  readonly payloadBytes: number;
  readonly limits: Limits;
  readonly options: Record<string, unknown>;
}

interface MinimumCalls {
  readonly calls: number;
  readonly jobs: number;
  readonly how: string;
}

const eloquaOptions = (url: string) => ({ auth: BENCH_ELOQUA_AUTH, loginUrl: url });
const sendgridOptions = (url: string, submission?: 'json') => ({
  apiKey: BENCH_SENDGRID_KEY,
  baseUrl: url,
  listIds: [BENCH_SENDGRID_LIST],
  ...(submission === undefined ? {} : { submission }),
});

const minimumJobs = (input: MinimumInput): number => {
  const { maxProfilesPerJob, maxBytesPerJob, jobOverheadBytes = 0 } = input.limits;
  return Math.max(
    Math.ceil(input.profiles / maxProfilesPerJob),
    Math.ceil(input.payloadBytes / (maxBytesPerJob - jobOverheadBytes)),
  );
};

const sendgridFields = {
  email: EMAIL,
  first_name: 'first_name',
  last_name: 'last_name',
  address_line_1: 'address',
  city: 'city',
  state_province_region: 'state',
  postal_code: 'postal_code',
  country: 'country',
  company: 'company',
  job_title: 'job_title',
  industry: 'industry',
  plan: 'plan',
  notes: 'notes',
  signup_date: 'signup_date',
  orders: 'orders',
  lifetime_value: 'lifetime_value',
};

const DESTINATIONS: readonly BenchDestination[] = [
  {
    key: 'eloqua',
    vendor: 'eloqua',
    description: 'Eloqua Bulk API 2.0: definition, CSV uploads ≤ 32 MB, sync',
    plugin: eloqua,
    config: (url) => ({
      plugin: 'eloqua',
      options: {
        ...eloquaOptions(url),
        auth: { ...BENCH_ELOQUA_AUTH, password: { env: 'FERRY_BENCH_ELOQUA_PASSWORD' } },
      },
      identity: 'C_EmailAddress',
      fields: {
        C_EmailAddress: EMAIL,
        C_FirstName: 'first_name',
        C_LastName: 'last_name',
        C_Company: 'company',
        C_Title: 'job_title',
        C_BusPhone: 'phone',
        C_Address1: 'address',
        C_City: 'city',
        C_State_Prov: 'state',
        C_Zip_Postal: 'postal_code',
        C_Country: 'country',
        C_Industry1: 'industry',
        C_Number_of_Employees1: 'employees',
        C_Last_Purchase_Date1: 'last_order_at',
        C_Is_Customer1: 'is_customer',
        C_Notes1: 'notes',
      },
      lists: { add: [BENCH_ELOQUA_LIST] },
    }),
    options: eloquaOptions,
    isUpload: (request) => request.method === 'POST' && /\/contacts\/imports\/\d+\/data$/.test(request.path),
    uploadLimit: (options) => (options as { limits: { maxUploadBytes: number } }).limits.maxUploadBytes,
    remainders: 'per-job',
    exportEndpoints: ['eloqua.definitionCreate', 'eloqua.upload', 'eloqua.syncCreate'],
    minimumCalls: (input) => {
      const jobs = minimumJobs(input);
      const { maxUploadBytes } = (input.options as { limits: { maxUploadBytes: number } }).limits;
      const header = input.limits.jobOverheadBytes ?? 0;
      const uploads = jobs * Math.ceil((input.payloadBytes / jobs + header) / maxUploadBytes);
      return {
        calls: 1 + jobs * 3 + uploads,
        jobs,
        how: `1 GET /id + ${jobs} × (definition + sync + status) + ${uploads} uploads ≤ ${fmtBytes(maxUploadBytes)}`,
      };
    },
  },
  {
    key: 'sendgrid',
    vendor: 'sendgrid',
    description: 'SendGrid, submission auto (bulk → CSV imports, gzip)',
    plugin: sendgrid,
    config: (url) => ({
      plugin: 'sendgrid',
      options: { ...sendgridOptions(url), apiKey: { env: 'FERRY_BENCH_SENDGRID_KEY' } },
      identity: 'email',
      fields: sendgridFields,
    }),
    options: (url) => sendgridOptions(url),
    isUpload: (request) =>
      (request.method === 'PUT' && request.path.startsWith('/__uploads/')) ||
      (request.method === 'PUT' && request.path === '/v3/marketing/contacts'),
    // CSV imports are count-bound (100,000 rows ≈ 30 MB of 256 MiB) and uploaded gzipped: no byte fill to judge.
    uploadLimit: () => undefined,
    remainders: 'per-job',
    exportEndpoints: ['sendgrid.upsert', 'sendgrid.importCreate', 'sendgrid.upload', 'sendgrid.delete'],
    minimumCalls: (input) => {
      const jobs = minimumJobs(input);
      const json = (input.options as { json: { maxProfilesPerJob: number } }).json;
      const full = Math.floor(input.profiles / input.limits.maxProfilesPerJob);
      const rest = input.profiles - full * input.limits.maxProfilesPerJob;
      // A job that fits one JSON request goes as JSON (upsert + status), a bigger one as a CSV import.
      const restCalls = rest === 0 ? 0 : rest <= json.maxProfilesPerJob ? 2 : 3;
      return {
        calls: 1 + full * 3 + restCalls,
        jobs,
        how:
          `1 field definitions + ${full} × (import + upload + status)` +
          (rest === 0
            ? ''
            : restCalls === 2
              ? ' + 1 × (upsert + status)'
              : ' + 1 × (import + upload + status)'),
      };
    },
  },
  {
    key: 'sendgrid-json',
    vendor: 'sendgrid',
    description: 'SendGrid, submission json (PUT /v3/marketing/contacts ≤ 30,000 / 6 MB)',
    plugin: sendgrid,
    config: (url) => ({
      plugin: 'sendgrid',
      options: { ...sendgridOptions(url, 'json'), apiKey: { env: 'FERRY_BENCH_SENDGRID_KEY' } },
      identity: 'email',
      fields: sendgridFields,
    }),
    options: (url) => sendgridOptions(url, 'json'),
    isUpload: (request) => request.method === 'PUT' && request.path === '/v3/marketing/contacts',
    uploadLimit: (options) => (options as { json: { maxBytesPerJob: number } }).json.maxBytesPerJob,
    remainders: 'per-run',
    // `measure` counts custom fields under their names (ids go out, and they are shorter) and dates
    // as they are before the field type is known; the vendor's limit applies to the body sent.
    wirePayload: (uploads, options) => {
      const envelope = jsonOverheadBytes(options as never);
      return sum(uploads.map((bytes) => bytes - envelope));
    },
    exportEndpoints: ['sendgrid.upsert', 'sendgrid.importCreate', 'sendgrid.upload', 'sendgrid.delete'],
    minimumCalls: (input) => {
      const jobs = minimumJobs(input);
      return {
        calls: 1 + jobs * 2,
        jobs,
        how: `1 field definitions + ${jobs} × (upsert + status)`,
      };
    },
  },
];

// ---- child processes ---------------------------------------------------------------------------

interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  readonly usage: ChildUsage | undefined;
}

let usageSeq = 0;

/** Runs `node <args>` with the usage hook preloaded; wall time is from spawn to exit. */
const runNode = (args: readonly string[], env: Record<string, string> = {}): Promise<ChildRun> => {
  usageSeq += 1;
  // The first measurement (start-up) runs before any profile file exists: on a fresh clone the
  // git-ignored folder is not there yet.
  mkdirSync(BENCH_DATA_DIR, { recursive: true });
  const usageFile = join(BENCH_DATA_DIR, `.usage-${process.pid}-${usageSeq}.json`);
  rmSync(usageFile, { force: true });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', USAGE_HOOK, ...args], {
      cwd: APP_DIR,
      env: { ...process.env, ...env, FERRY_BENCH_USAGE_FILE: usageFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const usage = existsSync(usageFile)
        ? (JSON.parse(readFileSync(usageFile, 'utf8')) as ChildUsage)
        : undefined;
      rmSync(usageFile, { force: true });
      resolve({ code, stdout, stderr, wallMs, usage });
    });
  });
};

interface Sandbox {
  readonly url: string;
  readonly requests: () => Promise<{ requests: readonly ServedRequest[]; maxRssKb: number }>;
  readonly stats: () => Promise<Record<string, number>>;
  readonly contacts: () => Promise<number>;
  readonly stop: () => Promise<void>;
}

const startSandboxProcess = async (vendor: 'eloqua' | 'sendgrid'): Promise<Sandbox> => {
  const child: ChildProcess = fork(SANDBOX, [vendor], {
    cwd: APP_DIR,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const next = <T extends SandboxMessage['type']>(type: T) =>
    new Promise<Extract<SandboxMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (message: SandboxMessage) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as Extract<SandboxMessage, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the sandbox exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const { url } = await next('ready');
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    if (!response.ok) throw new Error(`sandbox ${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    url,
    requests: async () => {
      const answer = next('requests');
      child.send({ type: 'requests' });
      return answer;
    },
    stats: async () => (await get<{ requests: Record<string, number> }>('/__sandbox/stats')).requests,
    contacts: async () => (await get<{ count: number }>('/__sandbox/contacts/count')).count,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
};

// ---- measurements ------------------------------------------------------------------------------

interface ParseResult {
  readonly wallMs: number[];
  readonly parseMs: number[];
  readonly cpuMs: number[];
  readonly maxRssMb: number;
  readonly command: string;
}

interface SyncFigures {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly peak: ChildUsage['peak'];
  readonly exitCode: number | null;
  readonly calls: Record<string, number>;
  readonly totalCalls: number;
  readonly exportCalls: number;
  readonly summary: SyncSummary | undefined;
  readonly stderr: string;
}

interface SyncSummary {
  readonly durationMs: number;
  readonly source: { readonly rows: number; readonly records: number; readonly badRows: number };
  readonly destinations: readonly {
    readonly exported: number;
    readonly unchanged: number;
    readonly rejected: number;
    readonly jobsSubmitted: number;
    readonly statusChecks: number;
    readonly error?: string;
  }[];
}

interface JobRow {
  readonly member_count: number;
  readonly bytes: number;
  readonly state: string;
  readonly check_count: number;
  readonly planned_at: number;
  readonly submitted_at: number | null;
  readonly settled_at: number | null;
}

interface DestinationResult {
  readonly key: string;
  readonly description: string;
  readonly full: SyncFigures;
  readonly resync: SyncFigures;
  readonly contactsAtVendor: number;
  readonly minimum: MinimumCalls;
  readonly limits: Limits;
  readonly jobs: readonly JobRow[];
  readonly uploads: {
    readonly count: number;
    readonly avgBytes: number;
    readonly maxBytes: number;
    readonly limit: number | undefined;
    /** Uploads other than each job's last (the remainder): those the byte limit closed. */
    readonly fullCount: number;
    readonly fullAvgBytes: number | undefined;
  };
  readonly sandboxMaxRssMb: number;
  readonly commands: { readonly full: string; readonly resync: string };
}

interface StartupResult {
  readonly wallMs: number[];
  readonly cpuMs: number[];
  readonly maxRssMb: number;
  readonly command: string;
}

interface BenchResult {
  readonly startup: StartupResult;
  readonly sizes: readonly SizeResult[];
}

interface SizeResult {
  readonly file: ProfileFile;
  readonly parse: ParseResult;
  readonly destinations: readonly DestinationResult[];
}

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};
const cpuMsOf = (usage: ChildUsage | undefined): number =>
  usage === undefined ? Number.NaN : (usage.userUs + usage.systemUs) / 1000;
const rssMbOf = (usage: ChildUsage | undefined): number =>
  usage === undefined ? Number.NaN : usage.maxRssKb / 1024;

const rel = (path: string): string => relative(APP_DIR, path) || '.';

const measureParse = async (file: ProfileFile, runs: number): Promise<ParseResult> => {
  const wallMs: number[] = [];
  const parseMs: number[] = [];
  const cpuMs: number[] = [];
  let maxRssMb = 0;
  for (let run = 0; run < runs; run += 1) {
    const result = await runNode([PARSE_ONLY, file.path]);
    if (result.code !== 0) throw new Error(`parse-only failed: ${result.stderr}`);
    const parsed = JSON.parse(result.stdout) as { rows: number; ms: number };
    if (parsed.rows !== file.rows) throw new Error(`parse-only read ${parsed.rows} rows of ${file.rows}`);
    wallMs.push(result.wallMs);
    parseMs.push(parsed.ms);
    cpuMs.push(cpuMsOf(result.usage));
    maxRssMb = Math.max(maxRssMb, rssMbOf(result.usage));
  }
  return { wallMs, parseMs, cpuMs, maxRssMb, command: `node bench/parse-only.ts ${rel(file.path)}` };
};

/** What every `ferry` command pays before reading a row: Node, and loading (type-stripping) the modules. */
const measureStartup = async (runs: number): Promise<StartupResult> => {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let maxRssMb = 0;
  for (let run = 0; run < runs; run += 1) {
    const result = await runNode([CLI, '--version']);
    if (result.code !== 0) throw new Error(`ferry --version failed: ${result.stderr}`);
    wallMs.push(result.wallMs);
    cpuMs.push(cpuMsOf(result.usage));
    maxRssMb = Math.max(maxRssMb, rssMbOf(result.usage));
  }
  return { wallMs, cpuMs, maxRssMb, command: 'node src/cli.ts --version' };
};

const delta = (after: Record<string, number>, before: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const diff = count - (before[endpoint] ?? 0);
    if (diff > 0) out[endpoint] = diff;
  }
  return out;
};

const runSyncOnce = async (
  destination: BenchDestination,
  sandbox: Sandbox,
  configPath: string,
  statePath: string,
): Promise<SyncFigures & { command: string }> => {
  const args = [CLI, 'sync', '-c', configPath, '-d', destination.key, '--state', statePath, '--json', '-q'];
  const before = await sandbox.stats();
  const result = await runNode(args, {
    FERRY_BENCH_ELOQUA_PASSWORD: BENCH_ELOQUA_AUTH.password,
    FERRY_BENCH_SENDGRID_KEY: BENCH_SENDGRID_KEY,
  });
  const calls = delta(await sandbox.stats(), before);
  let summary: SyncSummary | undefined;
  try {
    summary = JSON.parse(result.stdout) as SyncSummary;
  } catch {
    summary = undefined;
  }
  return {
    wallMs: result.wallMs,
    cpuMs: cpuMsOf(result.usage),
    maxRssMb: rssMbOf(result.usage),
    peak: result.usage?.peak,
    exitCode: result.code,
    calls,
    totalCalls: sum(Object.values(calls)),
    exportCalls: sum(destination.exportEndpoints.map((endpoint) => calls[endpoint] ?? 0)),
    summary,
    stderr: result.stderr,
    command: `node src/cli.ts ${args
      .slice(1)
      .map((arg) => (arg.startsWith('/') ? rel(arg) : arg))
      .join(' ')}`,
  };
};

const readJobs = (statePath: string, key: string): JobRow[] => {
  const db = new DatabaseSync(statePath, { readOnly: true });
  try {
    return db
      .prepare(
        'SELECT member_count, bytes, state, check_count, planned_at, submitted_at, settled_at FROM jobs WHERE destination = ? ORDER BY planned_at, id',
      )
      .all(key) as unknown as JobRow[];
  } finally {
    db.close();
  }
};

const writeConfig = (dir: string, file: ProfileFile, destination: BenchDestination, url: string): string => {
  const path = join(dir, `${destination.key}.config.json`);
  const config = {
    source: { type: 'csv', path: file.path, idColumn: 'id', columns: SOURCE_COLUMNS },
    destinations: { [destination.key]: destination.config(url) },
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
};

const measureDestination = async (
  file: ProfileFile,
  destination: BenchDestination,
  log: (line: string) => void,
): Promise<DestinationResult> => {
  const dir = join(BENCH_DATA_DIR, `run-${file.rows}`);
  mkdirSync(dir, { recursive: true });
  const statePath = join(dir, `${destination.key}.state.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
  const sandbox = await startSandboxProcess(destination.vendor);
  try {
    const configPath = writeConfig(dir, file, destination, sandbox.url);
    const full = await runSyncOnce(destination, sandbox, configPath, statePath);
    log(
      `  ${destination.key}: first sync ${(full.wallMs / 1000).toFixed(1)} s, exit ${full.exitCode}, ` +
        `${full.totalCalls} calls, peak RSS ${full.maxRssMb.toFixed(0)} MB`,
    );
    if (full.exitCode !== 0)
      throw new Error(`${destination.key}: first sync exited ${full.exitCode}\n${full.stderr}`);
    const { requests: afterFull, maxRssKb } = await sandbox.requests();
    const contactsAtVendor = await sandbox.contacts();
    const resync = await runSyncOnce(destination, sandbox, configPath, statePath);
    log(
      `  ${destination.key}: unchanged re-sync ${(resync.wallMs / 1000).toFixed(1)} s, exit ${resync.exitCode}, ` +
        `${resync.totalCalls} calls`,
    );
    if (resync.exitCode !== 0) {
      throw new Error(`${destination.key}: re-sync exited ${resync.exitCode}\n${resync.stderr}`);
    }

    const options = createContext(destination.plugin, { options: destination.options(sandbox.url) })
      .options as Record<string, unknown>;
    const limits = destination.plugin.limits(options);
    const jobs = readJobs(statePath, destination.key);
    const overhead = limits.jobOverheadBytes ?? 0;
    const uploads = afterFull.filter(destination.isUpload).map((request) => request.bytes);
    const payloadBytes =
      destination.wirePayload?.(uploads, options) ?? sum(jobs.map((job) => job.bytes - overhead));
    const minimum = destination.minimumCalls({ profiles: file.rows, payloadBytes, limits, options });

    // The uploads holding a remainder are the smallest; the others were closed by the byte limit.
    const remainders = destination.remainders === 'per-job' ? jobs.length : 1;
    const fullUploads = [...uploads].sort((a, b) => b - a).slice(0, Math.max(0, uploads.length - remainders));
    return {
      key: destination.key,
      description: destination.description,
      full,
      resync,
      contactsAtVendor,
      minimum,
      limits,
      jobs,
      uploads: {
        count: uploads.length,
        avgBytes: uploads.length === 0 ? 0 : sum(uploads) / uploads.length,
        maxBytes: Math.max(0, ...uploads),
        limit: destination.uploadLimit(options),
        fullCount: fullUploads.length,
        fullAvgBytes: fullUploads.length === 0 ? undefined : sum(fullUploads) / fullUploads.length,
      },
      sandboxMaxRssMb: maxRssKb / 1024,
      commands: { full: full.command, resync: resync.command },
    };
  } finally {
    await sandbox.stop();
  }
};

// ---- reporting ---------------------------------------------------------------------------------

const fmtInt = (value: number): string => Math.round(value).toLocaleString('en');
const fmtSec = (ms: number): string => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const fmtBytes = (bytes: number): string =>
  bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(2)} MB`
    : bytes >= 1e3
      ? `${(bytes / 1e3).toFixed(1)} kB`
      : `${bytes} B`;
const fmtRatio = (value: number): string => `${value.toFixed(2)}×`;
const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;
const mark = (ok: boolean): string => (ok ? '✅' : '❌');
const min = (values: readonly number[]): number => Math.min(...values);

interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly ok: boolean;
}

const verdictsFor = (size: SizeResult, result: DestinationResult): Verdict[] => {
  const floor = min(size.parse.wallMs);
  const cpuFloor = min(size.parse.cpuMs);
  const fullRatio = result.full.wallMs / floor;
  const resyncRatio = result.resync.wallMs / floor;
  const callRatio = result.full.totalCalls / result.minimum.calls;
  const verdicts: Verdict[] = [
    {
      target: `full sync ≤ ${TARGETS.fullSyncVsParse}× parse-only`,
      measured: `${fmtRatio(fullRatio)} (CPU ${fmtRatio(result.full.cpuMs / cpuFloor)})`,
      ok: fullRatio <= TARGETS.fullSyncVsParse,
    },
    {
      target: `unchanged re-sync ≤ ${TARGETS.resyncVsParse}× parse-only, 0 export calls`,
      measured: `${fmtRatio(resyncRatio)} (CPU ${fmtRatio(result.resync.cpuMs / cpuFloor)}), ${result.resync.exportCalls} export calls`,
      ok: resyncRatio <= TARGETS.resyncVsParse && result.resync.exportCalls === 0,
    },
    {
      target: `peak RSS ≤ ${TARGETS.peakRssMb} MB`,
      measured: `${Math.max(result.full.maxRssMb, result.resync.maxRssMb).toFixed(0)} MB`,
      ok: Math.max(result.full.maxRssMb, result.resync.maxRssMb) <= TARGETS.peakRssMb,
    },
    {
      target: `API calls ≤ ${TARGETS.callsVsMinimum}× minimum`,
      measured: `${result.full.totalCalls} / ${result.minimum.calls} = ${fmtRatio(callRatio)}`,
      ok: callRatio <= TARGETS.callsVsMinimum,
    },
  ];
  const { limit, fullAvgBytes, fullCount } = result.uploads;
  if (limit !== undefined && fullAvgBytes !== undefined) {
    verdicts.push({
      target: `full uploads ≥ ${pct(TARGETS.uploadFill)} of ${fmtBytes(limit)}`,
      measured: `${pct(fullAvgBytes / limit)} (${fullCount} uploads)`,
      ok: fullAvgBytes / limit >= TARGETS.uploadFill,
    });
  }
  return verdicts;
};

const machine = (load: LoadSampler) => {
  const cores = cpus();
  return {
    cpu: `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores`,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    load: load.describe(),
  };
};

const renderMarkdown = ({ startup, sizes }: BenchResult, load: LoadSampler): string => {
  const m = machine(load);
  const lines: string[] = [];
  lines.push(
    `Measured ${m.date} UTC on ${m.cpu}, ${m.memory} RAM, Node ${m.node}. ` +
      `1-minute load average during the run: ${m.load} (the machine is shared: wall times are noisy; CPU times are the process's own).`,
    '',
    `Every \`ferry\` process first pays its start-up (Node, and loading and type-stripping the CLI's modules): ` +
      `\`${startup.command}\` takes ${fmtSec(min(startup.wallMs))} s (best of ${startup.wallMs.length}, ` +
      `${fmtSec(min(startup.cpuMs))} s CPU) and peaks at ${startup.maxRssMb.toFixed(0)} MB RSS.`,
    '',
    '| profiles | run | wall | × parse-only | profiles/s | CPU | peak RSS | API calls (minimum) | export calls | uploads: avg (full avg / limit) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |',
  );
  for (const size of sizes) {
    const n = size.file.rows;
    const floor = min(size.parse.wallMs);
    lines.push(
      `| ${fmtInt(n)} | parse-only (fast-csv), best of ${size.parse.wallMs.length} | ${fmtSec(floor)} s | 1.00× | ${fmtInt(
        n / (floor / 1000),
      )} | ${fmtSec(min(size.parse.cpuMs))} s | ${size.parse.maxRssMb.toFixed(0)} MB | — | — | — |`,
    );
    for (const result of size.destinations) {
      const { uploads } = result;
      const uploadCell =
        uploads.count === 0
          ? '—'
          : `${uploads.count} × ${fmtBytes(uploads.avgBytes)}` +
            (uploads.limit === undefined
              ? ' (gzip; count-bound jobs)'
              : uploads.fullAvgBytes === undefined
                ? ` (no full upload / ${fmtBytes(uploads.limit)})`
                : ` (${fmtBytes(uploads.fullAvgBytes)} = ${pct(uploads.fullAvgBytes / uploads.limit)} of ${fmtBytes(uploads.limit)})`);
      lines.push(
        `| ${fmtInt(n)} | \`${result.key}\` first sync | ${fmtSec(result.full.wallMs)} s | ${fmtRatio(
          result.full.wallMs / floor,
        )} | ${fmtInt(n / (result.full.wallMs / 1000))} | ${fmtSec(result.full.cpuMs)} s | ${result.full.maxRssMb.toFixed(
          0,
        )} MB | ${result.full.totalCalls} (${result.minimum.calls}) | ${result.full.exportCalls} | ${uploadCell} |`,
        `| ${fmtInt(n)} | \`${result.key}\` unchanged re-sync | ${fmtSec(result.resync.wallMs)} s | ${fmtRatio(
          result.resync.wallMs / floor,
        )} | ${fmtInt(n / (result.resync.wallMs / 1000))} | ${fmtSec(result.resync.cpuMs)} s | ${result.resync.maxRssMb.toFixed(
          0,
        )} MB | ${result.resync.totalCalls} (0) | ${result.resync.exportCalls} | — |`,
      );
    }
  }

  lines.push(
    '',
    '**Targets**',
    '',
    '| profiles | destination | target | measured | met |',
    '| ---: | --- | --- | --- | :-: |',
  );
  for (const size of sizes) {
    for (const result of size.destinations) {
      for (const verdict of verdictsFor(size, result)) {
        lines.push(
          `| ${fmtInt(size.file.rows)} | \`${result.key}\` | ${verdict.target} | ${verdict.measured} | ${mark(verdict.ok)} |`,
        );
      }
    }
  }
  if (sizes.length >= 2) {
    const [small, large] = [sizes[0]!, sizes.at(-1)!];
    for (const result of large.destinations) {
      const before = small.destinations.find((d) => d.key === result.key);
      if (before === undefined) continue;
      const growth = result.full.maxRssMb / before.full.maxRssMb - 1;
      lines.push(
        `| ${fmtInt(small.file.rows)} → ${fmtInt(large.file.rows)} | \`${result.key}\` | peak RSS grows < ${pct(
          TARGETS.rssGrowth,
        )} | ${before.full.maxRssMb.toFixed(0)} → ${result.full.maxRssMb.toFixed(0)} MB (${growth >= 0 ? '+' : ''}${pct(
          growth,
        )}) | ${mark(growth < TARGETS.rssGrowth)} |`,
      );
    }
  }

  lines.push('', '**Calls, jobs and bytes**', '');
  for (const size of sizes) {
    for (const result of size.destinations) {
      const calls = Object.entries(result.full.calls)
        .map(([endpoint, count]) => `${endpoint} ${count}`)
        .join(', ');
      const jobs = result.jobs;
      const members = jobs.map((job) => job.member_count);
      const bytes = jobs.map((job) => job.bytes);
      const d = result.full.summary?.destinations[0];
      lines.push(
        `- ${fmtInt(size.file.rows)} \`${result.key}\` (${result.description}): ${jobs.length} jobs of ` +
          `${fmtInt(Math.min(...members))}–${fmtInt(Math.max(...members))} profiles (limit ${fmtInt(
            result.limits.maxProfilesPerJob,
          )}) and ${fmtBytes(Math.min(...bytes))}–${fmtBytes(Math.max(...bytes))} (limit ${fmtBytes(
            result.limits.maxBytesPerJob,
          )}); calls: ${calls}; minimum ${result.minimum.calls} = ${result.minimum.how}. ` +
          `Exported ${fmtInt(d?.exported ?? 0)}, rejected ${fmtInt(d?.rejected ?? 0)}, ${d?.statusChecks ?? 0} status checks; ` +
          `the sandbox holds ${fmtInt(result.contactsAtVendor)} contacts (sandbox peak RSS ${result.sandboxMaxRssMb.toFixed(0)} MB, not counted).`,
      );
    }
  }

  lines.push(
    '',
    '**What the peak RSS of each first sync was made of** (the 100 ms memory sample with the highest RSS)',
    '',
    '| profiles | destination | RSS | V8 heap reserved | of which young generation | V8 heap used | external | rest (Node, code, SQLite cache, malloc) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const mb = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
  for (const size of sizes) {
    for (const result of size.destinations) {
      const peak = result.full.peak;
      if (peak === undefined) continue;
      lines.push(
        `| ${fmtInt(size.file.rows)} | \`${result.key}\` | ${mb(peak.rss)} | ${mb(peak.heapTotal)} | ${mb(peak.newSpace)} | ${mb(
          peak.heapUsed,
        )} | ${mb(peak.external)} | ${mb(peak.rss - peak.heapTotal - peak.external)} |`,
      );
    }
  }

  lines.push(
    '',
    '**Commands** (from `apps/sync-runner`; each measured command runs as its own process)',
    '',
    '```sh',
  );
  lines.push(
    'pnpm bench        # all of the below, for 100,000 and 1,000,000 profiles; rewrites this section',
    startup.command,
  );
  for (const size of sizes) {
    lines.push(`node bench/profiles.ts ${size.file.rows}`, size.parse.command);
    for (const result of size.destinations) {
      lines.push(
        `node bench/sandbox-server.ts ${DESTINATIONS.find((d) => d.key === result.key)?.vendor}   # zero delay, free port; the config holds its URL`,
      );
      lines.push(`${result.commands.full}   # first sync`, `${result.commands.resync}   # unchanged re-sync`);
    }
  }
  lines.push('```');
  return lines.join('\n');
};

const START = '<!-- sync-bench:start -->';
const END = '<!-- sync-bench:end -->';

const writeDoc = (section: string): void => {
  const generated = `${START}\n<!-- written by apps/sync-runner/bench/sync.bench.ts; edit outside these markers -->\n\n${section}\n\n${END}`;
  const existing = existsSync(DOC) ? readFileSync(DOC, 'utf8') : `# Benchmarks\n\n${START}\n${END}\n`;
  const start = existing.indexOf(START);
  const end = existing.indexOf(END);
  const next =
    start === -1 || end === -1
      ? `${existing.trimEnd()}\n\n${generated}\n`
      : `${existing.slice(0, start)}${generated}${existing.slice(end + END.length)}`;
  mkdirSync(dirname(DOC), { recursive: true });
  writeFileSync(DOC, next);
  // Tables as Biome lays them out, so `pnpm lint` passes on the file as written.
  const biome = spawnSync(join(REPO_DIR, 'node_modules/.bin/biome'), ['format', '--write', DOC], {
    encoding: 'utf8',
  });
  if (biome.status !== 0) console.warn(`biome format ${DOC} failed: ${biome.stderr || biome.error?.message}`);
};

interface LoadSampler {
  readonly stop: () => void;
  readonly describe: () => string;
}

const sampleLoad = (): LoadSampler => {
  const samples: number[] = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), 5000);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    describe: () =>
      `${min(samples).toFixed(1)}–${Math.max(...samples).toFixed(1)} (mean ${(sum(samples) / samples.length).toFixed(1)})`,
  };
};

// ---- main --------------------------------------------------------------------------------------

export interface BenchOptions {
  readonly rows: readonly number[];
  readonly destinations?: readonly string[];
  readonly parseRuns?: number;
  readonly log?: (line: string) => void;
}

/** Runs the benchmark and returns the figures; throws when a sync fails or loses profiles. */
export const runSyncBench = async (options: BenchOptions): Promise<BenchResult> => {
  const log = options.log ?? ((line: string) => console.log(line));
  const startup = await measureStartup(3);
  log(
    `ferry --version (start-up): ${startup.wallMs.map((ms) => `${fmtSec(ms)} s`).join(', ')}, ${startup.maxRssMb.toFixed(0)} MB`,
  );
  const selected = DESTINATIONS.filter(
    (destination) => options.destinations === undefined || options.destinations.includes(destination.key),
  );
  const sizes: SizeResult[] = [];
  for (const rows of options.rows) {
    const file = await ensureProfileFile(rows);
    log(
      `${fmtInt(rows)} profiles: ${rel(file.path)}, ${fmtBytes(file.bytes)}` +
        (file.generated ? ` (generated in ${file.seconds.toFixed(1)} s)` : ' (reused)'),
    );
    const parse = await measureParse(file, options.parseRuns ?? 3);
    log(`  parse-only: ${parse.wallMs.map((ms) => `${fmtSec(ms)} s`).join(', ')}`);
    const destinations: DestinationResult[] = [];
    for (const destination of selected) {
      const result = await measureDestination(file, destination, log);
      const d = result.full.summary?.destinations[0];
      if (d?.exported !== rows || result.contactsAtVendor !== rows) {
        throw new Error(
          `${destination.key}: exported ${d?.exported}, the sandbox holds ${result.contactsAtVendor}, expected ${rows}`,
        );
      }
      destinations.push(result);
    }
    sizes.push({ file, parse, destinations });
  }
  return { startup, sizes };
};

const parseArgs = (argv: readonly string[]) => {
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(name);
    return index === -1 ? undefined : argv[index + 1];
  };
  const smoke = argv.includes('--smoke');
  const rows = (value('--rows') ?? (smoke ? '10000' : '100000,1000000')).split(',').map(Number);
  if (rows.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error('--rows: comma-separated counts');
  return {
    smoke,
    rows,
    destinations: value('--destinations')?.split(','),
    parseRuns: Number(value('--parse-runs') ?? (smoke ? 1 : 3)),
    write: !smoke && !argv.includes('--no-write'),
  };
};

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  const load = sampleLoad();
  const started = performance.now();
  const result = await runSyncBench(args);
  load.stop();
  const markdown = renderMarkdown(result, load);
  console.log(`\n${markdown}\n`);
  if (args.smoke) {
    for (const size of result.sizes) {
      for (const result of size.destinations) {
        if (result.resync.exportCalls !== 0)
          throw new Error(`${result.key}: the unchanged re-sync sent data`);
      }
    }
    console.log('smoke: every destination exported every profile; unchanged re-syncs sent nothing');
  }
  if (args.write) {
    writeDoc(markdown);
    console.log(`wrote ${relative(process.cwd(), DOC)}`);
  }
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
