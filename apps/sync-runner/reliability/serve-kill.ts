import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { verifyWebhook } from '../src/service/verify-webhook.ts';
import { reportComparison, reportStates } from './lib/checks.ts';
import { type CliRun, parseJson, runCli, startCli } from './lib/cli.ts';
import { harnessConfig, SECRET_ENV, writeConfig } from './lib/config.ts';
import { compareEloqua, compareSendgrid } from './lib/expect.ts';
import { CSV_HEADER, type Profile, profileAt, profileRow } from './lib/profiles.ts';
import { randomInt, seededRandom } from './lib/random.ts';
import type { Report } from './lib/report.ts';
import { startHarnessSandbox } from './lib/sandbox.ts';
import { finalStates, leftovers, withStore } from './lib/store.ts';

/*
 * Server kill: `ferry serve` takes CSV uploads (each with `Ferry-Async-Callback-Url` and an
 * Idempotency-Key) and is killed with SIGKILL at random moments — after a random delay, in the
 * middle of an upload, once a job of a run has settled — then started again, over and over. A
 * POST that got no answer is sent again, with the same key, to the next server. The receiver in
 * this process verifies every callback and fails 40 % of them (500), so deliveries are retried,
 * and killed while a callback is pending, too. At the end every accepted run must have ended, once, every
 * profile be at both vendors and in one final state, and every run's callback have arrived at
 * least once, always with the same `webhook-id`.
 */

const SCENARIO = 'serve';
/** Waits between callback attempts: short, and many, so a 25 % failure rate cannot exhaust them. */
const RETRIES = '700,700,1000,1500,2000,2000,2000,2000,2000,2000,2000,2000,2000,2000,2000,2000,2000,2000';
/** The share of callbacks the receiver refuses with a 500. */
const REFUSED = 0.4;

export type ServeTrigger = 'delay' | 'upload' | 'job settled' | 'callback pending';

export interface ServeKill {
  readonly life: number;
  readonly trigger: ServeTrigger;
  readonly afterMs: number;
  /** Accepted runs that had not ended when the server was killed. */
  readonly runsInFlight: number;
  /** Callbacks of ended runs not delivered yet at the kill. */
  readonly callbacksPending: number;
}

export interface ServeFigures {
  readonly runs: number;
  readonly profiles: number;
  readonly kills: ServeKill[];
  readonly lives: number;
  /** POSTs that got no answer (the server died) and were sent again with their key. */
  readonly postsRetried: number;
  readonly callbacksReceived: number;
  /** Callbacks received more than once (at least once is the promise). */
  readonly callbacksRepeated: number;
  /** Deliveries the receiver answered 500 on purpose. */
  readonly callbacksRefused: number;
  readonly lost: number;
  readonly ms: number;
}

export interface ServeOptions {
  readonly dir: string;
  readonly report: Report;
  readonly log: (line: string) => void;
  readonly seed: number;
  /** Kills to survive; one run is posted per life, so also about the number of runs. */
  readonly kills: number;
  readonly profilesPerRun: number;
  readonly profilesPerJob: number;
}

interface PlannedRun {
  readonly index: number;
  readonly key: string;
  readonly csv: string;
  readonly profiles: Profile[];
  id?: string;
  attempts: number;
}

interface Received {
  readonly webhookId: string;
  readonly runId: string;
  readonly type: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const serveScenario = async (options: ServeOptions): Promise<ServeFigures> => {
  const { dir, report, log, seed } = options;
  const started = performance.now();
  const random = seededRandom(seed ^ 0x5e7e);
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  const statePath = join(dir, 'state', 'ferry.db');
  const sandbox = await startHarnessSandbox({ startDelayMs: 150, recordsPerSecond: 50_000, seed });
  const receiver = createServer();
  try {
    // The configured source is never read: every run is an upload.
    writeFileSync(join(dir, 'profiles.csv'), `${CSV_HEADER}\n`);
    writeConfig(
      dir,
      harnessConfig({
        sandbox,
        source: { type: 'csv', path: './profiles.csv', idColumn: 'id' },
        profilesPerJob: options.profilesPerJob,
      }),
    );
    const cli = { cwd: dir, env: SECRET_ENV, logDir };
    const { token } = parseJson<{ token: string }>(
      await runCli(['tokens', 'create', '--scope', 'write', '--json'], { ...cli, name: 'tokens' }),
      'ferry tokens create',
    );
    const { secret } = parseJson<{ secret: string }>(
      await runCli(['webhooks', 'secret', '--json'], { ...cli, name: 'webhooks-secret' }),
      'ferry webhooks secret',
    );

    // The application's receiver: verifies every delivery, refuses some of them.
    const received: Received[] = [];
    let forged = 0;
    let refused = 0;
    receiver.on('request', (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        try {
          const event = verifyWebhook<{ type: string; data: { runId: string } }>(
            secret,
            request.headers,
            body,
          );
          if (random() < REFUSED) {
            refused += 1;
            response.writeHead(500).end();
            return;
          }
          received.push({
            webhookId: String(request.headers['webhook-id']),
            runId: event.data.runId,
            type: event.type,
          });
          response.writeHead(204).end();
        } catch {
          forged += 1;
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done`;

    const runs: PlannedRun[] = Array.from({ length: options.kills }, (_, index) => {
      const profiles = Array.from({ length: options.profilesPerRun }, (_, i) =>
        profileAt(index * options.profilesPerRun + i, seed),
      );
      return {
        index,
        key: `serve-run-${index}`,
        csv: `${[CSV_HEADER, ...profiles.map(profileRow)].join('\n')}\n`,
        profiles,
        attempts: 0,
      };
    });

    const serve = async (name: string): Promise<{ run: CliRun; url: string }> => {
      const run = startCli(
        [
          'serve',
          '--port',
          '0',
          '--allow-private-webhooks',
          '--webhook-retries',
          RETRIES,
          '--rate-limit',
          '100000',
        ],
        { ...cli, name, timeoutMs: 10 * 60_000 },
      );
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        run.child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          const found = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
          if (found !== undefined) resolve(found);
        });
        void run.done.then((result) =>
          reject(new Error(`ferry serve exited ${result.code}: ${result.stderr}`)),
        );
      });
      return { run, url };
    };
    const api = async <T>(url: string, path: string): Promise<T> => {
      const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
      return (await response.json()) as T;
    };
    const post = async (url: string, run: PlannedRun): Promise<void> => {
      run.attempts += 1;
      try {
        const response = await fetch(`${url}/v1/runs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'text/csv',
            'idempotency-key': run.key,
            'ferry-async-callback-url': callbackUrl,
          },
          body: run.csv,
        });
        const body = (await response.json()) as { id?: string };
        // 409: a dead server's claim on the key is still recent; the next life sends it again.
        if (response.status === 202) run.id = body.id;
      } catch {
        // The server died before answering: the next life sends the request again, same key.
      }
    };
    const state = async (url: string) => {
      let inFlight = 0;
      let pending = 0;
      for (const run of runs) {
        if (run.id === undefined) continue;
        const view = await api<{ finishedAt: string | null }>(url, `/v1/runs/${run.id}`);
        if (view.finishedAt === null) {
          inFlight += 1;
          continue;
        }
        const { items } = await api<{ items: { state: string }[] }>(url, `/v1/runs/${run.id}/deliveries`);
        if (!items.some((d) => d.state === 'delivered')) pending += 1;
      }
      return { inFlight, pending };
    };

    const kills: ServeKill[] = [];
    const triggers: ServeTrigger[] = ['delay', 'upload', 'job settled', 'callback pending'];
    for (let life = 0; kills.length < options.kills; life += 1) {
      const { run: server, url } = await serve(`serve-${life}`);
      const lifeStarted = performance.now();
      const trigger = triggers[life % triggers.length]!;
      // Runs whose POST got no answer go first, then one new run.
      const waiting = runs.filter((run) => run.id === undefined && run.attempts > 0);
      const next = runs.find((run) => run.id === undefined && run.attempts === 0);
      const batch = [...waiting, ...(next === undefined ? [] : [next])];
      const posting = Promise.all(batch.map((run) => post(url, run)));
      if (trigger === 'upload') await sleep(randomInt(random, 2, 60));
      else if (trigger === 'delay') await sleep(randomInt(random, 300, 2500));
      else if (trigger === 'job settled') {
        await posting;
        const deadline = Date.now() + 8000;
        for (;;) {
          const ids = runs.flatMap((run) => (run.id === undefined ? [] : [run.id]));
          const views = await Promise.all(
            ids.map((id) =>
              api<{ finishedAt: string | null; destinations: { exported: number }[] }>(url, `/v1/runs/${id}`),
            ),
          );
          const settling = views.some(
            (view) => view.finishedAt === null && view.destinations.some((d) => d.exported > 0),
          );
          if (settling || Date.now() > deadline) break;
          await sleep(20);
        }
      } else {
        // Once a run has ended and its callback is not delivered yet (refused, or not sent).
        await posting;
        const deadline = Date.now() + 15_000;
        while ((await state(url)).pending === 0 && Date.now() < deadline) await sleep(30);
      }
      const at =
        trigger === 'upload' ? { inFlight: -1, pending: -1 } : await state(url).catch(() => undefined);
      server.child.kill('SIGKILL');
      await server.done;
      await posting;
      kills.push({
        life,
        trigger,
        afterMs: Math.round(performance.now() - lifeStarted),
        runsInFlight: at?.inFlight ?? -1,
        callbacksPending: at?.pending ?? -1,
      });
    }

    // The last life: every run is posted until accepted, then everything must end.
    const { run: last, url } = await serve('serve-final');
    const deadline = Date.now() + 5 * 60_000;
    let settled = false;
    while (Date.now() < deadline) {
      for (const run of runs) if (run.id === undefined) await post(url, run);
      const now = await state(url);
      if (runs.every((run) => run.id !== undefined) && now.inFlight === 0 && now.pending === 0) {
        settled = true;
        break;
      }
      await sleep(250);
    }
    const finalRuns = await api<{ items: { id: string; status: string }[] }>(url, '/v1/runs?limit=200');
    const deliveries = new Map<string, { id: string; state: string; source: string }[]>();
    for (const run of runs)
      if (run.id !== undefined)
        deliveries.set(
          run.id,
          (
            await api<{ items: { id: string; state: string; source: string }[] }>(
              url,
              `/v1/runs/${run.id}/deliveries`,
            )
          ).items,
        );
    last.child.kill('SIGTERM');
    const stopped = await last.done;

    // Checks.
    const accepted = runs.filter((run) => run.id !== undefined);
    report.check(
      SCENARIO,
      `every run was accepted and every accepted run ended (${runs.length} runs)`,
      settled && accepted.length === runs.length,
      `${accepted.length} accepted; ${settled ? 'all ended and delivered' : 'not all ended or delivered in 5 min'}`,
    );
    report.equal(
      SCENARIO,
      'each run exists once and completed (a POST sent again with its key did not start a second run)',
      finalRuns.items.map((run) => run.status).sort(),
      runs.map(() => 'completed'),
    );
    const profiles = runs.flatMap((run) => run.profiles);
    reportComparison(report, SCENARIO, 'SendGrid', await compareSendgrid(sandbox, profiles), profiles.length);
    reportComparison(report, SCENARIO, 'Eloqua', await compareEloqua(sandbox, profiles), profiles.length);
    const ids = new Set(profiles.map((p) => p.id));
    const states = withStore(statePath, (db) => ({
      sendgrid: finalStates(db, 'sendgrid', ids),
      eloqua: finalStates(db, 'eloqua', ids),
      left: leftovers(db),
    }));
    reportStates(report, SCENARIO, 'sendgrid', states.sendgrid);
    reportStates(report, SCENARIO, 'eloqua', states.eloqua);
    report.equal(SCENARIO, 'store: no job in flight, no member page left, no run running', states.left, {
      jobs: 0,
      members: 0,
      running: 0,
    });
    const unstable: string[] = [];
    for (const run of accepted) {
      const got = new Set(received.filter((r) => r.runId === run.id).map((r) => r.webhookId));
      const listed = deliveries.get(run.id!) ?? [];
      const [delivery] = listed;
      if (
        got.size !== 1 ||
        listed.length !== 1 ||
        delivery?.state !== 'delivered' ||
        delivery.source !== 'callback' ||
        !got.has(delivery.id)
      )
        unstable.push(
          `${run.id}: received ${[...got].join('/') || 'nothing'}, listed ${JSON.stringify(listed)}`,
        );
    }
    report.check(
      SCENARIO,
      "every run's callback arrived at least once, verified, always with the same webhook-id",
      unstable.length === 0 && forged === 0 && accepted.length > 0,
      `${received.length} received for ${accepted.length} runs, ${refused} refused on purpose, ${forged} failed verification` +
        (unstable.length > 0 ? `; ${unstable.slice(0, 5).join(' | ')}` : ''),
    );
    const interrupted = kills.filter((kill) => kill.runsInFlight > 0 || kill.trigger === 'upload').length;
    report.check(
      SCENARIO,
      `survived ${options.kills} kills, most of them with work in flight`,
      kills.length >= options.kills && interrupted * 2 >= kills.length,
      `${kills.length} kills: ${interrupted} with a run in flight or an upload under way; ` +
        `${kills.filter((kill) => kill.callbacksPending > 0).length} with callbacks pending`,
    );
    report.check(
      SCENARIO,
      'SIGTERM stops the last server with exit 0',
      stopped.code === 0,
      `exit ${stopped.code}`,
    );
    const leaked = readdirSync(logDir).filter(
      (file) =>
        file.includes('-serve-') &&
        readFileSync(join(logDir, file), 'utf8').includes(secret.slice('whsec_'.length)),
    );
    report.check(
      SCENARIO,
      'no server log line holds the callback signing secret',
      leaked.length === 0,
      leaked.length === 0 ? `${kills.length + 1} server captures` : leaked.join(', '),
    );

    const missing =
      states.sendgrid.absent + states.eloqua.absent + states.sendgrid.notFinal + states.eloqua.notFinal;
    const repeated = received.length - new Set(received.map((r) => r.webhookId)).size;
    log(
      `  ${kills.length} kills (${kills.map((k) => `${k.trigger} ${k.afterMs} ms`).join(', ')}), ` +
        `${received.length} callbacks for ${accepted.length} runs`,
    );
    return {
      runs: runs.length,
      profiles: profiles.length,
      kills,
      lives: kills.length + 1,
      postsRetried: runs.reduce((sum, run) => sum + run.attempts - 1, 0),
      callbacksReceived: received.length,
      callbacksRepeated: repeated,
      callbacksRefused: refused,
      lost: missing,
      ms: performance.now() - started,
    };
  } finally {
    receiver.closeAllConnections();
    receiver.close();
    await sandbox.close();
  }
};
