/*
 * `pnpm demo`: the README's main job, end to end and offline. Starts local emulators of Eloqua and
 * SendGrid in this process, writes a project into `.ferry-demo/` at the repository root (2,000
 * generated profiles with a few broken ones, a ferry.config.ts, secrets in a .env file), then runs
 * the real `ferry` CLI there the way a user would: verify, sync, errors, a sync after a few profiles
 * changed, and a sync with nothing to do. Between runs it prints the API calls each vendor saw.
 * Exits 1 if the runs did not behave as described, so it doubles as a smoke test.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import { startSandbox } from '@ferry/sandbox';
import { SANDBOX_ELOQUA_CREDENTIALS } from '../src/config/index.ts';
import { csvRow, generateProfiles, type SampleProfile, sampleCsv } from './sample-profiles.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, '.ferry-demo');
const PROFILES = 2000;
const SENDGRID_KEY = 'SG.sandbox';

const started = performance.now();
const out = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};
const bold = (text: string): string => styleText('bold', text);
const dim = (text: string): string => styleText('dim', text);
const step = (n: number, text: string): void => out(`\n${bold(`${n}. ${text}`)}`);
const problems: string[] = [];
const check = (ok: boolean, good: string, bad: string): void => {
  if (ok) out(styleText('green', `   ✓ ${good}`));
  else {
    out(styleText('red', `   ✗ ${bad}`));
    problems.push(bad);
  }
};

// The secrets come from .ferry-demo/.env, as they would for a user; a real key in the caller's
// environment would win over the file (and be refused by the sandbox), so the runs do not inherit one.
const { ELOQUA_PASSWORD: _password, SENDGRID_API_KEY: _key, ...inherited } = process.env;
const ferry = (...args: string[]): Promise<number> => {
  out(styleText('cyan', `\n$ ferry ${args.join(' ')}`));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: DIR, stdio: 'inherit', env: inherited });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
};

// ---- the vendors ------------------------------------------------------------------------------------

step(1, 'Starting the vendor sandbox');
const sandbox = await startSandbox({
  // Small delays: jobs stay pending for a moment, so the runner has something to poll.
  startDelayMs: 700,
  recordsPerSecond: 2000,
  eloqua: {
    siteName: SANDBOX_ELOQUA_CREDENTIALS.site,
    username: SANDBOX_ELOQUA_CREDENTIALS.username,
    password: SANDBOX_ELOQUA_CREDENTIALS.password,
  },
  sendgrid: {
    apiKey: SENDGRID_KEY,
    customFields: [
      { name: 'plan', field_type: 'Text' },
      { name: 'lifetime_value', field_type: 'Number' },
      { name: 'signed_up', field_type: 'Date' },
    ],
  },
});
const eloquaUrl = sandbox.eloqua!.url;
const sendgridUrl = sandbox.sendgrid!.url;
out(`   Eloqua Bulk API 2.0      ${eloquaUrl}`);
out(`   SendGrid Marketing API   ${sendgridUrl}`);
out(dim('   Jobs start 0.7 s after they are submitted and process 2,000 records per second.'));

type Calls = Record<string, number>;
const callsAt = async (base: string): Promise<Calls> =>
  ((await (await fetch(`${base}/__sandbox/stats`)).json()) as { requests: Calls }).requests;
const snapshot = async () => ({ eloqua: await callsAt(eloquaUrl), sendgrid: await callsAt(sendgridUrl) });

// What each endpoint id is, singular and plural.
const LABELS: Record<string, readonly [string, string]> = {
  'eloqua.id': ['login', 'logins'],
  'eloqua.fields': ['field lookup', 'field lookups'],
  'eloqua.definitionList': ['definition lookup', 'definition lookups'],
  'eloqua.definitionCreate': ['definition created', 'definitions created'],
  'eloqua.definitionUpdate': ['definition updated', 'definitions updated'],
  'eloqua.syncList': ['sync lookup', 'sync lookups'],
  'eloqua.uploadDelete': ['staging cleanup', 'staging cleanups'],
  'eloqua.upload': ['CSV upload', 'CSV uploads'],
  'eloqua.syncCreate': ['sync started', 'syncs started'],
  'eloqua.syncStatus': ['status check', 'status checks'],
  'eloqua.rejects': ['page of rejects', 'pages of rejects'],
  'eloqua.logs': ['page of logs', 'pages of logs'],
  'sendgrid.fieldDefinitions': ['field definitions lookup', 'field definitions lookups'],
  'sendgrid.upsert': ['upsert', 'upserts'],
  'sendgrid.importCreate': ['import', 'imports'],
  'sendgrid.upload': ['CSV upload', 'CSV uploads'],
  'sendgrid.importStatus': ['status check', 'status checks'],
  'sendgrid.errorsFile': ['error file', 'error files'],
};

const diff = (before: Calls, after: Calls): Calls => {
  const calls: Calls = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const delta = count - (before[endpoint] ?? 0);
    if (delta > 0) calls[endpoint] = delta;
  }
  return calls;
};
const describeCalls = (calls: Calls): string => {
  const total = Object.values(calls).reduce((sum, n) => sum + n, 0);
  if (total === 0) return 'none';
  const parts = Object.entries(calls).map(([endpoint, n]) => {
    const label = LABELS[endpoint];
    return `${n} ${label === undefined ? endpoint : label[n === 1 ? 0 : 1]}`;
  });
  return `${total} (${parts.join(', ')})`;
};
const reportCalls = async (before: Awaited<ReturnType<typeof snapshot>>) => {
  const after = await snapshot();
  const eloqua = diff(before.eloqua, after.eloqua);
  const sendgrid = diff(before.sendgrid, after.sendgrid);
  out(dim('   API calls the vendors saw during this run:'));
  out(dim(`     Eloqua    ${describeCalls(eloqua)}`));
  out(dim(`     SendGrid  ${describeCalls(sendgrid)}`));
  return { eloqua, sendgrid };
};

try {
  // ---- the project --------------------------------------------------------------------------------

  step(2, `Writing a sample project to ${relative(process.cwd(), DIR) || '.'}/`);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  let profiles: SampleProfile[] = generateProfiles(PROFILES);
  const sample = sampleCsv(profiles);
  writeFileSync(join(DIR, 'profiles.csv'), sample.csv);
  out(
    `   profiles.csv     ${PROFILES.toLocaleString('en')} generated customer profiles, and a few mistakes:`,
  );
  for (const reject of sample.rejects) out(dim(`                    - ${reject.id} has ${reject.what}`));
  for (const bad of sample.badRows) out(dim(`                    - ${bad}`));
  writeFileSync(join(DIR, '.env'), envFile());
  out('   .env             the two secrets (the sandbox accepts these); never in the config itself');
  writeFileSync(join(DIR, 'ferry.config.ts'), configFile(eloquaUrl, sendgridUrl));
  out('   ferry.config.ts  both destinations, field mappings, 500 profiles per job, 2 jobs at a time');

  // ---- first sync ----------------------------------------------------------------------------------

  step(3, 'Checking the connections, then the first sync: every profile is new');
  const verified = await ferry('verify');
  check(verified === 0, 'both destinations verified', `ferry verify exited ${verified}`);
  let before = await snapshot();
  const first = await ferry('sync');
  let calls = await reportCalls(before);
  check(
    first === 2,
    'exit code 2: everything was sent, and the vendors rejected the two bad profiles',
    `the first sync exited ${first}, expected 2 (some rejects)`,
  );
  check(
    (calls.eloqua['eloqua.syncStatus'] ?? 0) > 0 && (calls.sendgrid['sendgrid.importStatus'] ?? 0) > 0,
    'jobs were submitted, then polled until the vendors finished them',
    'no status checks were made',
  );

  step(4, 'What went wrong, per profile and per row');
  const errors = await ferry('errors');
  check(errors === 0, 'the vendor codes, messages and fields are in the state store', 'ferry errors failed');

  // ---- a few changes -----------------------------------------------------------------------------

  step(5, 'Four profiles change in the source (one is the corrected e-mail); sync again');
  const changes: [number, Partial<SampleProfile>, string][] = [
    [411, { email: 'maria.garcia412@example.com' }, 'e-mail corrected (was rejected)'],
    [10, { city: 'Bergen', country: 'Norway' }, 'moved to Bergen'],
    [
      20,
      { plan: 'enterprise', lifetimeValue: '18250.00' },
      'upgraded: plan and lifetime_value, SendGrid only',
    ],
    [40, { lastOrder: '2025-06-28' }, 'ordered again: last_order, mapped for Eloqua only'],
  ];
  profiles = profiles.map((p, i) => {
    const change = changes.find(([index]) => index === i);
    return change === undefined ? p : { ...p, ...change[1] };
  });
  // The same file with the same mistakes, four rows edited.
  const changed = sampleCsv(profiles).csv.split('\n');
  for (const [index] of changes) {
    const id = profiles[index]!.id;
    const at = changed.findIndex((line) => line.startsWith(`${id},`));
    changed[at] = csvRow(profiles[index]!);
  }
  writeFileSync(join(DIR, 'profiles.csv'), changed.join('\n'));
  for (const [index, , what] of changes) out(dim(`   ${profiles[index]!.id}: ${what}`));
  out(dim('   Each destination compares the fields it maps with what it last confirmed, so each sends 3.'));
  before = await snapshot();
  const second = await ferry('sync');
  calls = await reportCalls(before);
  check(
    calls.eloqua['eloqua.upload'] === 1 &&
      calls.sendgrid['sendgrid.upsert'] === 1 &&
      (second === 0 || second === 2),
    'one small job per destination, holding only the changed profiles',
    `unexpected second sync (exit ${second}): ${JSON.stringify(calls)}`,
  );

  step(6, 'Nothing changed since: sync once more');
  before = await snapshot();
  const third = await ferry('sync');
  calls = await reportCalls(before);
  check(
    Object.keys(calls.eloqua).length === 0 && Object.keys(calls.sendgrid).length === 0,
    'not a single API call: unchanged profiles cost nothing',
    `the unchanged sync still called the vendors: ${JSON.stringify(calls)}`,
  );
  check(
    third === 2,
    'exit code 2 again: the SendGrid reject and the bad rows are still there',
    `exit ${third}`,
  );
} finally {
  await sandbox.close();
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
const where = relative(process.cwd(), DIR) || '.';
out(`\n${bold(problems.length === 0 ? `Done in ${seconds} s.` : `Finished in ${seconds} s with problems.`)}`);
out(`The project stays in ${where}/ (config, .env, profiles.csv, state in .ferry/state.db). The`);
out('sandbox has stopped, but the state is local — look at it with the same CLI:');
// `pnpm ferry` runs from the repository root (where `pnpm demo` is run), so the path is the root's.
const state = relative(join(dirname(CLI), '..', '..', '..'), join(DIR, '.ferry', 'state.db'));
out(dim(`  pnpm ferry status --state ${state}`));
out(dim(`  pnpm ferry errors --state ${state} --csv`));
out('Next: docs/cli.md (every command), docs/configuration.md (the config file).');
if (problems.length > 0) process.exitCode = 1;

// ---- files the demo writes ------------------------------------------------------------------------

function envFile(): string {
  return [
    '# Secrets for ferry.config.ts, read automatically from the .env next to it.',
    '# Variables set in the real environment win over these.',
    `ELOQUA_PASSWORD=${SANDBOX_ELOQUA_CREDENTIALS.password}`,
    `SENDGRID_API_KEY=${SENDGRID_KEY}`,
    '',
  ].join('\n');
}

function configFile(eloqua: string, sendgrid: string): string {
  const { site, username } = SANDBOX_ELOQUA_CREDENTIALS;
  return `// Written by \`pnpm demo\` (apps/sync-runner/demo/demo.ts). Every key: docs/configuration.md.
import { defineConfig } from '@ferry/sync-runner';

export default defineConfig({
  source: {
    type: 'csv',
    path: './profiles.csv',
    idColumn: 'id',
    // Checked while reading: a value that is not a number or a date makes a bad row.
    columns: { lifetime_value: 'number', signed_up: 'date', last_order: 'date' },
  },
  destinations: {
    eloqua: {
      plugin: 'eloqua',
      options: {
        loginUrl: '${eloqua}', // the demo's emulator; by default https://login.eloqua.com
        auth: { type: 'basic', site: '${site}', username: '${username}', password: { env: 'ELOQUA_PASSWORD' } },
        limits: { maxProfilesPerJob: 500, maxJobsInFlight: 2 },
      },
      identity: 'C_EmailAddress',
      fields: {
        C_EmailAddress: { column: 'email', transform: ['trim', 'lowercase'] },
        C_FirstName: 'first_name',
        C_LastName: 'last_name',
        C_Company: 'company',
        C_City: 'city',
        C_Country: 'country',
        C_Last_Purchase_Date1: { column: 'last_order', transform: 'date', format: 'date-only' },
        C_Lead_Source___Most_Recent1: { constant: 'ferry demo' },
      },
      polling: { initialIntervalMs: 250, maxIntervalMs: 1000 },
    },
    sendgrid: {
      plugin: 'sendgrid',
      options: {
        baseUrl: '${sendgrid}', // the demo's emulator; by default https://api.sendgrid.com
        apiKey: '\${SENDGRID_API_KEY}',
        csv: { maxProfilesPerJob: 500 },
        maxJobsInFlight: 2,
      },
      identity: 'email',
      fields: {
        email: { column: 'email', transform: ['trim', 'lowercase'] },
        first_name: 'first_name',
        last_name: 'last_name',
        city: 'city',
        country: 'country',
        // Custom fields, by name:
        plan: 'plan',
        lifetime_value: 'lifetime_value',
        signed_up: { column: 'signed_up', transform: 'date', format: 'date-only' },
      },
      polling: { initialIntervalMs: 250, maxIntervalMs: 1000 },
    },
  },
});
`;
}
