import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultRule } from '@ferry/sandbox';
import { reportComparison, reportStates } from './lib/checks.ts';
import { parseJson, runCli } from './lib/cli.ts';
import { harnessConfig, SECRET_ENV, writeConfig } from './lib/config.ts';
import {
  compareContacts,
  eloquaExpected,
  eloquaHolding,
  sendgridExpected,
  sendgridHolding,
} from './lib/expect.ts';
import { CSV_HEADER, type Profile, profileAt, profileRow } from './lib/profiles.ts';
import { seededRandom, shuffle } from './lib/random.ts';
import type { Report } from './lib/report.ts';
import {
  eloquaRecordsReceived,
  faultsByKind,
  sendgridRecordsReceived,
  startHarnessSandbox,
  stats,
} from './lib/sandbox.ts';
import { finalStates, leftovers, withStore } from './lib/store.ts';

/*
 * Faults: both sandbox vendors answer 10 % of requests with 429 (Retry-After), 5 % with 503, drop
 * 2 % of connections, hold 2 % past the client's timeout, fail 5 % of status checks, and forget one
 * job each. The profiles include a known set of genuinely invalid records. One `ferry sync` must
 * export every valid profile, reject exactly the planted ones, and lose nothing.
 */

const SCENARIO = 'faults';

/** The client's per-attempt timeout, and how long a `slow` response is held: past it. */
const HTTP_TIMEOUT_MS = 1000;
const SLOW_MS = 2000;

const STATUS_ENDPOINTS = ['sendgrid.importStatus', 'eloqua.syncStatus'] as const;

/**
 * Rules are tried in order and the first that fires wins, so each later probability is divided by
 * what the earlier ones leave: every kind then fires at its nominal share of requests.
 */
export const FAULT_RULES: readonly FaultRule[] = [
  // 5 % of status checks fail (on top of the faults every request may get).
  ...STATUS_ENDPOINTS.map((endpoint) => ({ endpoint, kind: 'server_error' as const, probability: 0.05 })),
  { endpoint: '*', kind: 'rate_limit', probability: 0.1, retryAfterSeconds: 1 },
  { endpoint: '*', kind: 'unavailable', probability: 0.05 / 0.9 },
  { endpoint: '*', kind: 'reset', probability: 0.02 / 0.85 },
  { endpoint: '*', kind: 'slow', probability: 0.02 / 0.83, delayMs: SLOW_MS },
  // One job per vendor is forgotten (404 from then on) after a few status checks went through.
  ...STATUS_ENDPOINTS.map((endpoint) => ({ endpoint, kind: 'vanish' as const, count: 1, skip: 6 })),
];

/** Kinds of planted invalid records, and which destinations must reject them. */
const PLANTED = {
  // No @ at all: the SendGrid plugin refuses it at submission, Eloqua at completion.
  noAt: { count: 15, sendgrid: true, eloqua: true },
  // Passes the plugin's lenient shape check; both vendors refuse it (a double dot) at completion.
  doubleDot: { count: 15, sendgrid: true, eloqua: true },
  // 60 characters: over SendGrid's 50 for first_name, within Eloqua's 100.
  longFirstName: { count: 10, sendgrid: true, eloqua: false },
  // 150 characters: over both limits (Eloqua imports the rest of the contact, ELQ-00040).
  longLastName: { count: 10, sendgrid: true, eloqua: true },
} as const;

type PlantKind = keyof typeof PLANTED;

const plant = (profile: Profile, kind: PlantKind, index: number): Profile => {
  switch (kind) {
    case 'noAt':
      return { ...profile, email: `not-an-address-${index}.example.test` };
    case 'doubleDot':
      return { ...profile, email: `double..dot.${index}@example.test` };
    case 'longFirstName':
      return { ...profile, firstName: `${profile.firstName}${'x'.repeat(60)}`.slice(0, 60) };
    case 'longLastName':
      return { ...profile, lastName: `${profile.lastName}${'y'.repeat(150)}`.slice(0, 150) };
  }
};

export interface FaultFigures {
  readonly profiles: number;
  readonly planted: number;
  readonly faultsFired: Record<string, number>;
  readonly faultsByVendor: {
    readonly sendgrid: Record<string, number>;
    readonly eloqua: Record<string, number>;
  };
  readonly requests: number;
  /** Status checks the vendors answered (or failed on purpose). */
  readonly statusChecks: number;
  /** Of those, how many got an injected fault (5 % server errors, plus the faults any request may get). */
  readonly statusChecksFailed: number;
  readonly exitCode: number | null;
  readonly runs: number;
  readonly lost: number;
  readonly received: { readonly sendgrid: number; readonly eloqua: number };
  readonly minimum: { readonly sendgrid: number; readonly eloqua: number };
  readonly ms: number;
}

export interface FaultOptions {
  readonly dir: string;
  readonly report: Report;
  readonly log: (line: string) => void;
  readonly seed: number;
  readonly profiles: number;
  readonly profilesPerJob: number;
}

interface Problem {
  readonly destination: string;
  readonly profileId: string;
  readonly status: string;
  readonly code: string | null;
  readonly message: string | null;
}

export const faultScenario = async (options: FaultOptions): Promise<FaultFigures> => {
  const { dir, report, log } = options;
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  const random = seededRandom(options.seed + 101);

  // The profiles, with the planted invalid records at seeded positions.
  const profiles: Profile[] = [];
  for (let i = 0; i < options.profiles; i += 1) profiles.push(profileAt(i, options.seed + 101));
  const positions = shuffle(
    random,
    profiles.map((_, i) => i),
  );
  const invalid = { sendgrid: new Set<string>(), eloqua: new Set<string>() };
  const longLastNames = new Set<string>();
  let cursor = 0;
  for (const [kind, spec] of Object.entries(PLANTED) as [PlantKind, (typeof PLANTED)[PlantKind]][]) {
    for (let n = 0; n < spec.count; n += 1) {
      const index = positions[cursor++]!;
      const profile = plant(profiles[index]!, kind, index);
      profiles[index] = profile;
      if (spec.sendgrid) invalid.sendgrid.add(profile.id);
      if (spec.eloqua) invalid.eloqua.add(profile.id);
      if (kind === 'longLastName') longLastNames.add(profile.id);
    }
  }
  const planted = cursor;
  const refusedBeforeSending = PLANTED.noAt.count + PLANTED.longFirstName.count + PLANTED.longLastName.count;
  writeFileSync(join(dir, 'profiles.csv'), `${[CSV_HEADER, ...profiles.map(profileRow)].join('\n')}\n`);

  const sandbox = await startHarnessSandbox({
    startDelayMs: 100,
    recordsPerSecond: 50_000,
    seed: options.seed,
    faults: FAULT_RULES,
  });
  try {
    writeConfig(
      dir,
      harnessConfig({
        sandbox,
        source: { type: 'csv', path: './profiles.csv', idColumn: 'id' },
        profilesPerJob: options.profilesPerJob,
        httpTimeoutMs: HTTP_TIMEOUT_MS,
      }),
    );

    // One sync is expected to do it all; a run that ends with retries still waiting (exit 3) is
    // followed by another, and counted.
    let runs = 0;
    let exitCode: number | null = null;
    for (; runs < 5; ) {
      runs += 1;
      const result = await runCli(['sync', '--json', '--no-progress'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: 'faults-sync',
      });
      exitCode = result.code;
      const summary = parseJson<{
        exitCode: number;
        status: string;
        destinations: {
          destination: string;
          rejected: number;
          pending: number;
          waitingRetry: number;
          error?: string;
        }[];
      }>(result, 'sync');
      log(
        `  sync ${runs}: exit ${result.code} in ${(result.ms / 1000).toFixed(1)} s — ` +
          summary.destinations
            .map(
              (d) =>
                `${d.destination}: ${d.rejected} rejected, ${d.pending} pending, ${d.waitingRetry} waiting${d.error === undefined ? '' : `, error ${d.error}`}`,
            )
            .join('; '),
      );
      if (result.code !== 3) break;
    }
    report.equal(
      SCENARIO,
      'the sync completes in one run, exit 2 (rejects only)',
      { runs, exitCode },
      { runs: 1, exitCode: 2 },
    );

    // Rejected: exactly the planted records, each for a validation reason.
    const errors = parseJson<{ problems: Problem[] }>(
      await runCli(['errors', '--json'], { cwd: dir, env: SECRET_ENV, logDir, name: 'faults-errors' }),
      'errors',
    );
    writeFileSync(join(dir, 'errors.json'), JSON.stringify(errors, null, 2));
    for (const destination of ['sendgrid', 'eloqua'] as const) {
      const problems = errors.problems.filter((p) => p.destination === destination);
      const rejected = new Set(problems.filter((p) => p.status === 'rejected').map((p) => p.profileId));
      const unexpected = [...rejected].filter((id) => !invalid[destination].has(id));
      const notRejected = [...invalid[destination]].filter((id) => !rejected.has(id));
      const waiting = problems.filter((p) => p.status !== 'rejected');
      report.check(
        SCENARIO,
        `${destination} rejected exactly the ${invalid[destination].size} planted invalid records`,
        unexpected.length === 0 && notRejected.length === 0 && waiting.length === 0,
        `${rejected.size} rejected, ${unexpected.length} unexpected, ${notRejected.length} planted not rejected, ${waiting.length} waiting` +
          (unexpected.length > 0
            ? `; e.g. ${problems
                .filter((p) => unexpected.includes(p.profileId))
                .slice(0, 3)
                .map((p) => `${p.profileId} ${p.code}: ${p.message}`)
                .join(' | ')}`
            : ''),
      );
      const reasons = new Set(problems.map((p) => p.code));
      log(`  ${destination} reject codes: ${[...reasons].join(', ')}`);
    }

    // What the vendors hold: every valid profile exactly; invalid e-mails nowhere.
    const sendgrid = compareContacts(
      await sendgridHolding(sandbox),
      profiles.filter((p) => !invalid.sendgrid.has(p.id)).map(sendgridExpected),
    );
    const eloquaExpectedContacts = profiles
      .filter((p) => !invalid.eloqua.has(p.id) || longLastNames.has(p.id))
      .map((p) => {
        const expected = eloquaExpected(p);
        if (!longLastNames.has(p.id)) return expected;
        // Eloqua imported the rest of the contact and dropped the value it could not hold.
        const { C_LastName: _dropped, ...fields } = expected.fields;
        return { ...expected, fields };
      });
    const eloqua = compareContacts(await eloquaHolding(sandbox), eloquaExpectedContacts);
    reportComparison(report, SCENARIO, 'sendgrid', sendgrid, profiles.length - invalid.sendgrid.size);
    reportComparison(report, SCENARIO, 'eloqua', eloqua, eloquaExpectedContacts.length);

    const ids = new Set(profiles.map((p) => p.id));
    let storeLost = 0;
    withStore(join(dir, 'state', 'ferry.db'), (db) => {
      for (const destination of ['sendgrid', 'eloqua'] as const) {
        const states = finalStates(db, destination, ids, invalid[destination]);
        storeLost += states.absent + states.notFinal;
        reportStates(report, SCENARIO, destination, states);
      }
      const left = leftovers(db);
      report.check(
        SCENARIO,
        'store: no job left in flight',
        left.jobs === 0 && left.members === 0 && left.running === 0,
        `${left.jobs} unfinished jobs, ${left.members} member pages, ${left.running} running runs`,
      );
    });

    const sendgridStats = await stats(sandbox.sendgrid!.url);
    const eloquaStats = await stats(sandbox.eloqua!.url);
    const faultsFired = faultsByKind({
      ...prefixed('sendgrid', sendgridStats.faultsFired),
      ...prefixed('eloqua', eloquaStats.faultsFired),
    });
    log(
      `  faults fired: ${JSON.stringify(faultsFired)} over ${sendgridStats.total + eloquaStats.total} requests`,
    );
    for (const kind of ['rate_limit', 'server_error', 'unavailable', 'reset', 'slow', 'vanish']) {
      report.check(
        SCENARIO,
        `the sandbox injected ${kind} faults`,
        (faultsFired[kind] ?? 0) > 0,
        `${faultsFired[kind] ?? 0}`,
      );
    }
    return {
      profiles: profiles.length,
      planted,
      faultsFired,
      faultsByVendor: {
        sendgrid: faultsByKind(sendgridStats.faultsFired),
        eloqua: faultsByKind(eloquaStats.faultsFired),
      },
      requests: sendgridStats.total + eloquaStats.total,
      statusChecksFailed: Object.entries({ ...sendgridStats.faultsFired, ...eloquaStats.faultsFired })
        .filter(
          ([key]) =>
            STATUS_ENDPOINTS.some((endpoint) => key.startsWith(`${endpoint} `)) && !key.endsWith(' vanish'),
        )
        .reduce((sum, [, count]) => sum + count, 0),
      statusChecks: STATUS_ENDPOINTS.reduce(
        (sum, endpoint) =>
          sum + (sendgridStats.requests[endpoint] ?? 0) + (eloquaStats.requests[endpoint] ?? 0),
        0,
      ),
      exitCode,
      runs,
      lost: sendgrid.missing + sendgrid.stale + eloqua.missing + eloqua.stale + storeLost,
      received: {
        sendgrid: await sendgridRecordsReceived(sandbox.sendgrid!.url),
        eloqua: await eloquaRecordsReceived(sandbox.eloqua!.url),
      },
      // SendGrid's plugin refuses some planted records before sending them; Eloqua's sends them all.
      minimum: { sendgrid: profiles.length - refusedBeforeSending, eloqua: profiles.length },
      ms: performance.now() - started,
    };
  } finally {
    await sandbox.close();
  }
};

const prefixed = (vendor: string, fired: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(fired).map(([key, value]) => [`${vendor}:${key}`, value]));
