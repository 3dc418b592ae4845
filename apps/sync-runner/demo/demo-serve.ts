/*
 * `pnpm demo:serve`: `ferry serve` end to end and offline, the way an application uses it. Starts
 * the vendor emulators in this process, writes a project into a fresh temporary folder (config,
 * .env, no state yet), creates a write token and the callback signing secret with the real CLI,
 * starts `ferry serve`, and starts a local receiver for the completion callback. Then it posts a
 * CSV with mistakes with `Ferry-Async-Callback-Url`, gets its 202 at once, waits for the signed
 * callback, verifies it with `verifyWebhook`, and downloads and prints the rejects and bad rows.
 * Exits 1 if anything did not behave as described, so it doubles as a smoke test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { styleText } from 'node:util';
import { startSandbox } from '@ferry/sandbox';
import { SANDBOX_ELOQUA_CREDENTIALS } from '../src/config/index.ts';
import { verifyWebhook } from '../src/service/verify-webhook.ts';
import { generateProfiles, sampleCsv } from './sample-profiles.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const SENDGRID_KEY = 'SG.sandbox';
const keep = process.argv.includes('--keep');

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
const within = <T>(ms: number, what: string, promise: Promise<T>): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: nothing after ${ms / 1000} s`)), ms).unref(),
    ),
  ]);

const DIR = mkdtempSync(join(tmpdir(), 'ferry-demo-serve-'));
// The secrets come from the project's .env, as for a user; a real key in the caller's environment
// would win over the file (and be refused by the sandbox), so the children do not inherit one.
const { ELOQUA_PASSWORD: _password, SENDGRID_API_KEY: _key, ...inherited } = process.env;
const ferryJson = async <T>(...args: string[]): Promise<T> => {
  out(styleText('cyan', `\n$ ferry ${args.join(' ')}`));
  const child = spawn(process.execPath, [CLI, ...args], { cwd: DIR, env: inherited });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${code}: ${stderr}`);
  return JSON.parse(stdout) as T;
};

step(1, 'Starting the vendor sandbox');
const sandbox = await startSandbox({
  startDelayMs: 300,
  recordsPerSecond: 4000,
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
    ],
  },
});
out(`   Eloqua ${sandbox.eloqua!.url}   SendGrid ${sandbox.sendgrid!.url}`);

// The application's callback receiver: verifies each delivery before trusting it.
interface Callback {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
let secret = '';
let gotCallback: (callback: Callback) => void = () => {};
const callback = new Promise<Callback>((resolve) => {
  gotCallback = resolve;
});
const receiver = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk: Buffer) => {
    body += chunk.toString('utf8');
  });
  request.on('end', () => {
    try {
      verifyWebhook(secret, request.headers, body);
      response.writeHead(204).end();
      gotCallback({ headers: request.headers, body });
    } catch (error) {
      out(styleText('red', `   receiver: refused a delivery: ${(error as Error).message}`));
      response.writeHead(400).end();
    }
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ferry/done`;

let service: ChildProcess | undefined;
try {
  step(2, `Writing a project to ${DIR}`);
  const sample = sampleCsv(generateProfiles(2000));
  writeFileSync(join(DIR, 'ferry.config.json'), configFile(sandbox.eloqua!.url, sandbox.sendgrid!.url));
  writeFileSync(
    join(DIR, '.env'),
    `ELOQUA_PASSWORD=${SANDBOX_ELOQUA_CREDENTIALS.password}\nSENDGRID_API_KEY=${SENDGRID_KEY}\n`,
  );
  writeFileSync(join(DIR, 'contacts.csv'), `${sample.csv.split('\n')[0]}\n`);
  out(dim('   ferry.config.json (both destinations), .env (the sandbox secrets); the state store is new'));
  out('   The upload: 2,000 profiles with mistakes:');
  for (const reject of sample.rejects) out(dim(`     - ${reject.id} has ${reject.what}`));
  for (const bad of sample.badRows) out(dim(`     - ${bad}`));

  step(3, 'A write token for the application, and the secret that signs its callbacks (each shown once)');
  const { token } = await ferryJson<{ token: string }>(
    'tokens',
    'create',
    '--scope',
    'write',
    '--name',
    'demo app',
    '--json',
  );
  out(dim(`   ${token.slice(0, 19)}… (shown once; the application keeps it)`));
  ({ secret } = await ferryJson<{ secret: string }>('webhooks', 'secret', '--json'));
  out(dim('   whsec_… (shown once; the receiver keeps it)'));

  step(4, 'Starting the service');
  out(styleText('cyan', '\n$ ferry serve --port 0 --allow-private-webhooks'));
  out(dim('   (the receiver is on loopback, which callbacks may reach only when allowed)'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--allow-private-webhooks'], {
    cwd: DIR,
    env: inherited,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  service = child;
  let serviceLog = '';
  child.stderr.on('data', (chunk: Buffer) => {
    serviceLog += chunk.toString('utf8');
  });
  const base = await within(
    30_000,
    'ferry serve',
    new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
        if (url !== undefined) resolve(url);
      });
      child.on('close', (code) => reject(new Error(`ferry serve exited ${code}: ${serviceLog}`)));
    }),
  );
  out(`   listening on ${base}`);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

  step(5, 'POST /v1/runs: the CSV as the body, a callback URL in a header');
  out(dim(`   Ferry-Async-Callback-Url: ${callbackUrl}`));
  const posted = performance.now();
  const response = await api('/v1/runs', {
    method: 'POST',
    headers: {
      'content-type': 'text/csv',
      'idempotency-key': 'demo-import-1',
      'ferry-async-callback-url': callbackUrl,
    },
    body: sample.csv,
  });
  const accepted = (await response.json()) as { id: string; status: string };
  const ms = Math.round(performance.now() - posted);
  check(
    response.status === 202 && accepted.status === 'queued',
    `202 Accepted in ${ms} ms: run ${accepted.id}, ${response.headers.get('location')}; the app does not wait`,
    `POST /v1/runs answered ${response.status}: ${JSON.stringify(accepted)}`,
  );

  step(6, 'The signed callback arrives when the run ends');
  let last = '';
  const polling = setInterval(async () => {
    const run = (await (await api(`/v1/runs/${accepted.id}`)).json()) as { status: string };
    if (run.status === last) return;
    last = run.status;
    out(dim(`   GET /v1/runs/${accepted.id}: ${run.status}`));
  }, 300);
  const hook = await within(90_000, 'the callback', callback).finally(() => clearInterval(polling));
  const event = verifyWebhook<{
    type: string;
    data: { status: string; counts: Record<string, number>; links: Record<string, string> };
  }>(secret, hook.headers, hook.body);
  out(
    dim(
      `   webhook-id ${String(hook.headers['webhook-id'])}  webhook-signature ${String(hook.headers['webhook-signature']).slice(0, 16)}…`,
    ),
  );
  out(dim(`   ${hook.body}`));
  check(
    event.type === 'run.completed_with_errors' && event.data.counts.badRows === sample.badRows.length,
    `verified with the callback secret: ${event.type}, ${event.data.counts.records} records, ` +
      `${event.data.counts.rejected} rejected, ${event.data.counts.badRows} bad rows`,
    `unexpected callback: ${hook.body}`,
  );

  step(7, 'Downloading the rejects and the bad rows it links to');
  const csvOf = async (path: string) =>
    (await (await api(path, { headers: { accept: 'text/csv' } })).text()).replace(/^\uFEFF/, '');
  const rejects = await csvOf(event.data.links.records!);
  const badRows = await csvOf(event.data.links.badRows!);
  out(styleText('cyan', `\n$ curl -H 'accept: text/csv' ${base}${event.data.links.records}`));
  out(rejects.trimEnd());
  out(styleText('cyan', `\n$ curl -H 'accept: text/csv' ${base}${event.data.links.badRows}`));
  out(badRows.trimEnd());
  const rejectLines = rejects.trimEnd().split(/\r?\n/).length - 1;
  check(
    rejectLines === event.data.counts.rejected && sample.rejects.every((r) => rejects.includes(r.id)),
    `${rejectLines} rejected profiles with the vendors' codes, fields and messages`,
    `the rejects CSV has ${rejectLines} rows for ${event.data.counts.rejected} rejects`,
  );
  check(
    badRows.trimEnd().split(/\r?\n/).length - 1 === sample.badRows.length,
    `${sample.badRows.length} bad rows with their row numbers and reasons`,
    'the bad rows CSV does not list every bad row',
  );
  check(
    !serviceLog.includes(secret.slice(6)),
    'the secret is in no log line',
    'the service logged the secret',
  );
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
  out(styleText('red', `   ✗ ${problems.at(-1)}`));
} finally {
  if (service !== undefined && service.exitCode === null) {
    const stopped = new Promise((resolve) => service!.once('close', resolve));
    service.kill('SIGTERM');
    await stopped;
  }
  receiver.close();
  await sandbox.close();
  if (!keep) rmSync(DIR, { recursive: true, force: true });
}

const seconds = ((performance.now() - started) / 1000).toFixed(1);
out(`\n${bold(problems.length === 0 ? `Done in ${seconds} s.` : `Finished in ${seconds} s with problems.`)}`);
out(keep ? `The project stays in ${DIR} (--keep).` : 'The temporary project is removed (--keep keeps it).');
out('Next: docs/service.md (every route, tokens, webhooks and how to verify them).');
if (problems.length > 0) process.exitCode = 1;

function configFile(eloqua: string, sendgrid: string): string {
  const common = { polling: { initialIntervalMs: 200, maxIntervalMs: 800 } };
  return `${JSON.stringify(
    {
      source: {
        type: 'csv',
        path: './contacts.csv',
        idColumn: 'id',
        columns: { lifetime_value: 'number', signed_up: 'date', last_order: 'date' },
      },
      destinations: {
        eloqua: {
          plugin: 'eloqua',
          options: {
            loginUrl: eloqua,
            auth: {
              type: 'basic',
              site: SANDBOX_ELOQUA_CREDENTIALS.site,
              username: SANDBOX_ELOQUA_CREDENTIALS.username,
              password: { env: 'ELOQUA_PASSWORD' },
            },
            limits: { maxProfilesPerJob: 1000, maxJobsInFlight: 2 },
          },
          identity: 'C_EmailAddress',
          fields: {
            C_EmailAddress: { column: 'email', transform: ['trim', 'lowercase'] },
            C_FirstName: 'first_name',
            C_LastName: 'last_name',
            C_City: 'city',
          },
          ...common,
        },
        sendgrid: {
          plugin: 'sendgrid',
          options: {
            baseUrl: sendgrid,
            apiKey: { env: 'SENDGRID_API_KEY' },
            csv: { maxProfilesPerJob: 1000 },
          },
          identity: 'email',
          fields: {
            email: { column: 'email', transform: ['trim', 'lowercase'] },
            first_name: 'first_name',
            last_name: 'last_name',
            city: 'city',
            plan: 'plan',
            lifetime_value: 'lifetime_value',
          },
          ...common,
        },
      },
    },
    null,
    2,
  )}\n`;
}
