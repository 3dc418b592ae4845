import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type FaultRule, type RunningSandbox, startSandbox } from '@ferry/sandbox';

/*
 * End-to-end support: the real `ferry` process (spawned as a user runs it, in a temporary project
 * directory) against the vendor emulators running in the test process over real HTTP. The sandbox
 * keeps its state across runner processes, so tests assert what the vendors hold at the end.
 */

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
export const CRASH_PRELOAD = fileURLToPath(new URL('./crash-preload.ts', import.meta.url));

export const ELOQUA_SANDBOX = { site: 'E2eSite', username: 'e2e.user', password: 'e2e-eloqua-password-77' };
export const SENDGRID_KEY = 'SG.e2e-sendgrid-key-0099';

/** The secrets as a user gives them: in the environment, read through references in the config. */
export const SECRETS_ENV: Readonly<Record<string, string>> = {
  ELOQUA_PASSWORD: ELOQUA_SANDBOX.password,
  SENDGRID_API_KEY: SENDGRID_KEY,
};

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** Output so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly done: Promise<CliResult>;
}

export const spawnCli = (
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): RunningCli => {
  const started = performance.now();
  // Crash tests preload the hook that kills the process at an exact store write.
  const crash =
    env.FERRY_TEST_CRASH_AFTER_WRITES !== undefined ||
    env.FERRY_TEST_CRASH_BEFORE !== undefined ||
    env.FERRY_TEST_CRASH_AFTER !== undefined;
  const child = spawn(process.execPath, [...(crash ? ['--import', CRASH_PRELOAD] : []), CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...SECRETS_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started) }),
    );
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
};

export const runCli = (
  cwd: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> => spawnCli(cwd, args, env).done;

/** The single JSON document a `--json` command printed. */
export const jsonOf = <T = Record<string, unknown>>(result: CliResult): T & { exitCode: number } => {
  try {
    return JSON.parse(result.stdout) as T & { exitCode: number };
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
};

export const tempProject = (prefix: string): { dir: string; remove: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), `ferry-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export const waitFor = async <T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
};

// ---- the sandbox ------------------------------------------------------------------------------

export interface E2eSandboxOptions {
  readonly startDelayMs?: number;
  readonly recordsPerSecond?: number;
  readonly faults?: readonly FaultRule[];
  /** Also send Retry-After on 429s (the sandbox sends only the documented headers by default). */
  readonly retryAfterHeader?: boolean;
}

/** Both emulators on free ports, with small delays so jobs are pending for a moment. */
export const startE2eSandbox = (options: E2eSandboxOptions = {}): Promise<RunningSandbox> =>
  startSandbox({
    startDelayMs: options.startDelayMs ?? 150,
    recordsPerSecond: options.recordsPerSecond ?? 4000,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.retryAfterHeader === undefined ? {} : { retryAfterHeader: options.retryAfterHeader }),
    eloqua: {
      siteName: ELOQUA_SANDBOX.site,
      username: ELOQUA_SANDBOX.username,
      password: ELOQUA_SANDBOX.password,
    },
    sendgrid: {
      apiKey: SENDGRID_KEY,
      customFields: [
        { name: 'plan', field_type: 'Text' },
        { name: 'lifetime_value', field_type: 'Number' },
      ],
    },
  });

export const sandboxJson = async <T = unknown>(
  base: string,
  path: string,
  init?: { method?: string; body?: unknown },
): Promise<T> => {
  const response = await fetch(`${base}${path}`, {
    method: init?.method ?? 'GET',
    ...(init?.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
};

/** Calls per endpoint id (`sendgrid.upsert`, `eloqua.syncCreate`...) since the last reset. */
export const endpointCalls = async (base: string): Promise<Record<string, number>> =>
  (await sandboxJson<{ requests: Record<string, number> }>(base, '/__sandbox/stats')).requests;

export const faultsFired = async (base: string): Promise<Record<string, number>> =>
  (await sandboxJson<{ faultsFired: Record<string, number> }>(base, '/__sandbox/stats')).faultsFired;

export const setFaults = (base: string, faults: readonly FaultRule[]): Promise<unknown> =>
  sandboxJson(base, '/__sandbox/faults', { method: 'PUT', body: { faults } });

export const resetSandbox = async (sandbox: RunningSandbox): Promise<void> => {
  await sandboxJson(sandbox.eloqua!.url, '/__sandbox/reset', { method: 'POST', body: {} });
  await sandboxJson(sandbox.sendgrid!.url, '/__sandbox/reset', { method: 'POST', body: {} });
};

/** What a contact looks like at either vendor, reduced to the fields these tests map. */
export interface HeldContact {
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly city: string;
  readonly plan: string;
}

export const eloquaContacts = async (base: string): Promise<Map<string, HeldContact>> => {
  const held = new Map<string, HeldContact>();
  for (let offset = 0; ; offset += 1000) {
    const page = await sandboxJson<{
      items: { emailAddress: string; fields: Record<string, string | undefined> }[];
      hasMore?: boolean;
      total: number;
    }>(base, `/__sandbox/contacts?offset=${offset}&limit=1000`);
    for (const item of page.items) {
      held.set(item.emailAddress, {
        email: item.emailAddress,
        firstName: item.fields.C_FirstName ?? '',
        lastName: item.fields.C_LastName ?? '',
        city: item.fields.C_City ?? '',
        plan: item.fields.C_Industry1 ?? '',
      });
    }
    if (page.items.length < 1000) return held;
  }
};

export const sendgridContacts = async (base: string): Promise<Map<string, HeldContact>> => {
  const held = new Map<string, HeldContact>();
  for (let offset = 0; ; offset += 1000) {
    const page = await sandboxJson<{
      contacts: {
        email: string;
        first_name: string;
        last_name: string;
        city: string;
        custom_fields: Record<string, unknown>;
      }[];
    }>(base, `/__sandbox/contacts?offset=${offset}&limit=1000`);
    for (const contact of page.contacts) {
      held.set(contact.email, {
        email: contact.email,
        firstName: contact.first_name,
        lastName: contact.last_name,
        city: contact.city,
        plan: String(contact.custom_fields.plan ?? ''),
      });
    }
    if (page.contacts.length < 1000) return held;
  }
};

// ---- profiles and the project ---------------------------------------------------------------------

export interface Person {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly city: string;
  readonly plan: string;
  readonly ltv: string;
}

const CITIES = ['Oslo', 'Lyon', 'Porto', 'Gdańsk', 'Kyoto', 'Austin', 'Recife', 'Cork'];
const PLANS = ['free', 'pro', 'team', 'enterprise'];

export const person = (i: number, changes: Partial<Person> = {}): Person => ({
  id: `p${String(i).padStart(4, '0')}`,
  email: `person${i}@example.com`,
  firstName: `First${i}`,
  lastName: `Last${i}`,
  city: CITIES[i % CITIES.length]!,
  plan: PLANS[i % PLANS.length]!,
  ltv: String((i * 37) % 1000),
  ...changes,
});

export const people = (count: number, from = 0): Person[] =>
  Array.from({ length: count }, (_, k) => person(from + k));

const cell = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export const CSV_HEADER = 'id,email,first_name,last_name,city,plan,ltv';

export const toCsv = (list: readonly Person[], extraLines: readonly string[] = []): string =>
  `${[
    CSV_HEADER,
    ...list.map((p) => [p.id, p.email, p.firstName, p.lastName, p.city, p.plan, p.ltv].map(cell).join(',')),
    ...extraLines,
  ].join('\n')}\n`;

/** What a vendor should hold for a person, the way the config below maps it. */
export const expectedContact = (p: Person): HeldContact => ({
  email: p.email.trim().toLowerCase(),
  firstName: p.firstName,
  lastName: p.lastName,
  city: p.city,
  plan: p.plan,
});

export const expectedContacts = (list: readonly Person[]): Map<string, HeldContact> =>
  new Map(list.map((p) => [p.email.trim().toLowerCase(), expectedContact(p)]));

export interface ProjectOptions {
  /** Profiles per job (both destinations). Default 100. */
  readonly perJob?: number;
  /** Jobs in flight at once per destination. Default 2. */
  readonly inFlight?: number;
  readonly eloqua?: boolean | Record<string, unknown>;
  readonly sendgrid?: boolean | Record<string, unknown>;
  /** Extra settings for both destinations (polling, retry...). */
  readonly common?: Record<string, unknown>;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config's own environment syntax
const SENDGRID_KEY_REFERENCE = '${SENDGRID_API_KEY}';

/** A JSON config syncing `people.csv` to both sandbox destinations, secrets from the environment. */
export const projectConfig = (sandbox: RunningSandbox, options: ProjectOptions = {}) => {
  const perJob = options.perJob ?? 100;
  const inFlight = options.inFlight ?? 2;
  const common = {
    polling: { initialIntervalMs: 100, maxIntervalMs: 400 },
    retry: { initialDelayMs: 50, maxDelayMs: 400 },
    ...options.common,
  };
  const extra = (value: boolean | Record<string, unknown> | undefined) =>
    typeof value === 'object' ? value : {};
  const destinations: Record<string, unknown> = {};
  if (options.eloqua !== false) {
    destinations.eloqua = {
      plugin: 'eloqua',
      options: {
        loginUrl: sandbox.eloqua!.url,
        auth: {
          type: 'basic',
          site: ELOQUA_SANDBOX.site,
          username: ELOQUA_SANDBOX.username,
          password: { env: 'ELOQUA_PASSWORD' },
        },
        limits: { maxProfilesPerJob: perJob, maxJobsInFlight: inFlight },
      },
      identity: 'C_EmailAddress',
      fields: {
        C_EmailAddress: { column: 'email', transform: ['trim', 'lowercase'] },
        C_FirstName: 'first_name',
        C_LastName: 'last_name',
        C_City: 'city',
        C_Industry1: 'plan',
      },
      ...common,
      ...extra(options.eloqua),
    };
  }
  if (options.sendgrid !== false) {
    destinations.sendgrid = {
      plugin: 'sendgrid',
      options: {
        baseUrl: sandbox.sendgrid!.url,
        apiKey: SENDGRID_KEY_REFERENCE,
        csv: { maxProfilesPerJob: perJob },
        maxJobsInFlight: inFlight,
      },
      identity: 'email',
      fields: {
        email: { column: 'email', transform: ['trim', 'lowercase'] },
        first_name: 'first_name',
        last_name: 'last_name',
        city: 'city',
        plan: 'plan',
        lifetime_value: { column: 'ltv', transform: 'number' },
      },
      ...common,
      ...extra(options.sendgrid),
    };
  }
  return { source: { type: 'csv', path: './people.csv', idColumn: 'id' }, destinations };
};

export const writeProject = (
  dir: string,
  sandbox: RunningSandbox,
  list: readonly Person[],
  options: ProjectOptions & { readonly extraLines?: readonly string[] } = {},
): void => {
  writeFileSync(
    join(dir, 'ferry.config.json'),
    `${JSON.stringify(projectConfig(sandbox, options), null, 2)}\n`,
  );
  writeSource(dir, list, options.extraLines);
};

export const writeSource = (
  dir: string,
  list: readonly Person[],
  extraLines: readonly string[] = [],
): void => {
  writeFileSync(join(dir, 'people.csv'), toCsv(list, extraLines));
};

// ---- the state, as the CLI reports it ---------------------------------------------------------------

export interface StatusDestination {
  readonly destination: string;
  readonly profiles: Record<'exported' | 'pending' | 'retry_wait' | 'rejected' | 'deleted', number>;
  readonly jobsInFlight: Record<'planned' | 'submitting' | 'submitted', number>;
}

export const statusOf = async (
  dir: string,
): Promise<{ destinations: StatusDestination[]; runs: { status: string; exitCode: number | null }[] }> => {
  const result = await runCli(dir, ['status', '--json']);
  if (result.code !== 0) throw new Error(`ferry status failed: ${result.stderr}`);
  return jsonOf(result);
};

export interface SyncSummaryJson {
  readonly exitCode: number;
  readonly status: string;
  readonly source: { rows: number; records: number; badRows: number; duplicates: number };
  readonly destinations: (Record<string, number> & {
    destination: string;
    error?: string;
    mirror?: { confirmed: number; absent: number; refused: boolean; reason?: string };
  })[];
}

export const destinationOf = (summary: SyncSummaryJson, name: string) => {
  const found = summary.destinations.find((d) => d.destination === name);
  if (found === undefined) throw new Error(`no destination ${name} in the summary`);
  return found;
};
