import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { reportComparison, reportStates } from './lib/checks.ts';
import { type CliResult, parseJson, runCli, startCli } from './lib/cli.ts';
import { harnessConfig, SECRET_ENV, writeConfig } from './lib/config.ts';
import { compareEloqua, compareSendgrid } from './lib/expect.ts';
import { changesIn, type Profile, writeProfilesCsv } from './lib/profiles.ts';
import { randomInt, seededRandom, shuffle } from './lib/random.ts';
import type { Report } from './lib/report.ts';
import { eloquaRecordsReceived, sendgridRecordsReceived, startHarnessSandbox } from './lib/sandbox.ts';
import { count, finalStates, leftovers, openReadOnly, withStore } from './lib/store.ts';

/*
 * Crash: the real CLI syncs 100,000 profiles to both sandbox destinations and is killed with SIGKILL
 * again and again — at exact store writes (FERRY_TEST_CRASH_AFTER_WRITES), when the store shows it
 * reading, packing, submitting, polling or settling, and after random delays — then restarted until
 * it finishes. Part-way, the source file changes, so "the latest values" means something. Then the
 * sandbox must hold exactly the expected contacts, and the store exactly one final state per profile.
 */

const SCENARIO = 'crash';

export type Phase = 'reading' | 'packing' | 'submitting' | 'polling' | 'settling' | 'start/finish';

type Trigger =
  | { readonly kind: 'writes'; readonly writes: number }
  | { readonly kind: 'delay'; readonly delayMs: number }
  | { readonly kind: 'reading'; readonly seen: number }
  | { readonly kind: 'packing'; readonly planned: number }
  | { readonly kind: 'submitting' }
  | { readonly kind: 'polling'; readonly checks: number }
  | { readonly kind: 'settling'; readonly settled: number };

export interface Kill {
  readonly attempt: number;
  readonly trigger: string;
  /** The step the process was in, as far as the harness can tell. */
  readonly phase: Phase | 'random';
  readonly afterMs: number;
  readonly sourceVersion: number;
}

export interface CrashFigures {
  readonly profiles: number;
  readonly kills: Kill[];
  readonly missed: number;
  readonly runs: number;
  /** Versions of the source synced, and profiles whose values changed between them. */
  readonly versions: number;
  readonly changed: number;
  readonly lost: number;
  readonly received: { readonly sendgrid: number; readonly eloqua: number };
  readonly minimum: { readonly sendgrid: number; readonly eloqua: number };
  readonly walSnapshots: string[];
  readonly ms: number;
}

export interface CrashOptions {
  readonly dir: string;
  readonly report: Report;
  readonly log: (line: string) => void;
  readonly seed: number;
  readonly profiles: number;
  /** Kills to survive. */
  readonly kills: number;
  readonly profilesPerJob: number;
}

const WRITE_PHASES: Record<string, Phase> = {
  markSeen: 'reading',
  addBadRows: 'reading',
  planJob: 'packing',
  addJobMembers: 'packing',
  markSubmitting: 'submitting',
  markSubmitted: 'submitting',
  recordCheck: 'polling',
  settleJob: 'settling',
  failJob: 'settling',
  requeueJob: 'settling',
  recordRejects: 'settling',
};

const describe = (trigger: Trigger): string => {
  switch (trigger.kind) {
    case 'writes':
      return `FERRY_TEST_CRASH_AFTER_WRITES=${trigger.writes}`;
    case 'delay':
      return `SIGKILL after ${trigger.delayMs} ms`;
    case 'reading':
      return `SIGKILL once ${trigger.seen} rows are read`;
    case 'packing':
      return `SIGKILL once ${trigger.planned} job(s) are planned`;
    case 'submitting':
      return 'SIGKILL while a job is being submitted';
    case 'polling':
      return `SIGKILL after ${trigger.checks} status check(s) recorded`;
    case 'settling':
      return `SIGKILL once ${trigger.settled} job(s) settled`;
  }
};

/**
 * A seeded mix: every block of eight attempts holds two exact write counts, one trigger per store
 * phase and one random delay, shuffled within the block, so every phase comes up early.
 */
const planTriggers = (random: () => number, attempts: number, rows: number): Trigger[] => {
  const cycle = [
    'writes',
    'reading',
    'packing',
    'submitting',
    'writes',
    'polling',
    'settling',
    'delay',
  ] as const;
  const triggers: Trigger[] = [];
  while (triggers.length < attempts) {
    for (const kind of shuffle(random, [...cycle])) {
      switch (kind) {
        case 'writes':
          triggers.push({ kind: 'writes', writes: randomInt(random, 1, 200) });
          break;
        case 'delay':
          triggers.push({ kind: 'delay', delayMs: randomInt(random, 300, 3500) });
          break;
        case 'reading':
          triggers.push({ kind: 'reading', seen: randomInt(random, 1000, Math.max(1000, rows - 1000)) });
          break;
        case 'packing':
          triggers.push({ kind: 'packing', planned: randomInt(random, 1, 4) });
          break;
        case 'submitting':
          triggers.push({ kind: 'submitting' });
          break;
        case 'polling':
          triggers.push({ kind: 'polling', checks: randomInt(random, 1, 4) });
          break;
        case 'settling':
          triggers.push({ kind: 'settling', settled: randomInt(random, 1, 3) });
          break;
      }
    }
  }
  return triggers.slice(0, attempts);
};

const num = count;

/** What a store-phase trigger compares against: the store as the new process found it. */
interface Baseline {
  readonly checks: number;
  readonly submitting: ReadonlySet<string>;
}

const baselineOf = (db: DatabaseSync): Baseline => ({
  checks: num(db, 'SELECT sum(check_count) AS n FROM jobs'),
  submitting: new Set(
    (
      db.prepare("SELECT id, attempt FROM jobs WHERE state = 'submitting'").all() as {
        id: string;
        attempt: number;
      }[]
    ).map((row) => `${row.id}#${row.attempt}`),
  ),
});

const fired = (db: DatabaseSync, trigger: Trigger, since: number, baseline: Baseline): boolean => {
  switch (trigger.kind) {
    case 'reading':
      return (
        num(
          db,
          "SELECT count(*) AS n FROM run_seen WHERE run_id IN (SELECT id FROM runs WHERE status = 'running' AND started_at >= ?)",
          since,
        ) >= trigger.seen
      );
    case 'packing':
      return num(db, 'SELECT count(*) AS n FROM jobs WHERE planned_at >= ?', since) >= trigger.planned;
    case 'submitting':
      return (
        db.prepare("SELECT id, attempt FROM jobs WHERE state = 'submitting'").all() as {
          id: string;
          attempt: number;
        }[]
      ).some((row) => !baseline.submitting.has(`${row.id}#${row.attempt}`));
    case 'polling':
      return num(db, 'SELECT sum(check_count) AS n FROM jobs') - baseline.checks >= trigger.checks;
    case 'settling':
      return (
        num(
          db,
          "SELECT count(*) AS n FROM jobs WHERE state IN ('settled', 'failed') AND settled_at >= ?",
          since,
        ) >= trigger.settled
      );
    default:
      return false;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `ferry sync` once with a trigger; resolves with the result and, when it killed the process, how. */
const attemptWithTrigger = async (
  trigger: Trigger,
  context: { dir: string; statePath: string; logDir: string; name: string },
): Promise<{ result: CliResult; phase?: Phase | 'random' }> => {
  const env: Record<string, string> = { ...SECRET_ENV };
  if (trigger.kind === 'writes') env.FERRY_TEST_CRASH_AFTER_WRITES = String(trigger.writes);
  const since = Date.now();
  let db: DatabaseSync | undefined;
  let baseline: Baseline = { checks: 0, submitting: new Set() };
  if (existsSync(context.statePath)) {
    db = openReadOnly(context.statePath);
    baseline = baselineOf(db);
  }
  const run = startCli(['sync', '--json', '--no-progress'], {
    cwd: context.dir,
    env,
    logDir: context.logDir,
    name: context.name,
  });
  let ended = false;
  let phase: Phase | 'random' | undefined;
  const watching = (async () => {
    if (trigger.kind === 'writes') return;
    if (trigger.kind === 'delay') {
      await sleep(trigger.delayMs);
      if (!ended && run.child.kill('SIGKILL')) phase = 'random';
      return;
    }
    while (!ended) {
      await sleep(8);
      if (ended) return;
      try {
        db ??= existsSync(context.statePath) ? openReadOnly(context.statePath) : undefined;
        if (db !== undefined && fired(db, trigger, since, baseline)) {
          if (run.child.kill('SIGKILL')) phase = trigger.kind as Phase;
          return;
        }
      } catch {
        // The file is being created or migrated: look again.
      }
    }
  })();
  const result = await run.done;
  ended = true;
  await watching;
  db?.close();
  if (result.timedOut)
    throw new Error(`ferry sync hung (${describe(trigger)}):\n${result.stderr.slice(-3000)}`);
  if (result.signal !== 'SIGKILL') return { result };
  if (trigger.kind === 'writes') {
    const match = /killed before write \d+ \((\w+)\)/.exec(result.stderr);
    return { result, phase: WRITE_PHASES[match?.[1] ?? ''] ?? 'start/finish' };
  }
  return { result, ...(phase === undefined ? {} : { phase }) };
};

export const crashScenario = async (options: CrashOptions): Promise<CrashFigures> => {
  const { dir, report, log } = options;
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, 'logs');
  const statePath = join(dir, 'state', 'ferry.db');
  const walDir = join(dir, 'wal-snapshots');
  mkdirSync(walDir, { recursive: true });
  const random = seededRandom(options.seed);

  const sandbox = await startHarnessSandbox({
    startDelayMs: 150,
    recordsPerSecond: 50_000,
    seed: options.seed,
  });
  try {
    const csvPath = join(dir, 'profiles.csv');
    let expected: Profile[] = writeProfilesCsv(csvPath, options.profiles, options.seed, 1);
    writeConfig(
      dir,
      harnessConfig({
        sandbox,
        source: { type: 'csv', path: './profiles.csv', idColumn: 'id' },
        profilesPerJob: options.profilesPerJob,
      }),
    );
    const maxAttempts = Math.ceil(options.kills * 1.6);
    const triggers = planTriggers(random, maxAttempts, options.profiles);
    // The source changes once two thirds of the kills are done (right after a kill that left jobs
    // in flight, the worst moment), and again whenever a run finishes all the work there is.
    const switchAfterKills = Math.floor((options.kills * 2) / 3);
    const kills: Kill[] = [];
    const walSnapshots: string[] = [];
    let version = 1;
    let missed = 0;
    let runs = 0;
    let changed = 0;
    // The fewest profiles each destination must receive: every profile once, plus, at each change
    // of the source, those it had confirmed with the values that changed.
    const minimum = { sendgrid: options.profiles, eloqua: options.profiles };

    const unfinishedJobs = (): number =>
      withStore(statePath, (db) =>
        num(db, "SELECT count(*) AS n FROM jobs WHERE state NOT IN ('settled', 'failed')"),
      );

    const switchSource = (): void => {
      const next = version + 1;
      const confirmed = existsSync(statePath)
        ? withStore(
            statePath,
            (db) =>
              db
                .prepare("SELECT destination, profile_id FROM profile_state WHERE status = 'exported'")
                .all() as { destination: 'sendgrid' | 'eloqua'; profile_id: string }[],
          )
        : [];
      for (const row of confirmed) {
        if (changesIn(Number(row.profile_id.slice(1)), next)) minimum[row.destination] += 1;
      }
      expected = writeProfilesCsv(csvPath, options.profiles, options.seed, next);
      version = next;
      changed += expected.filter((_, i) => changesIn(i, next)).length;
      log(
        `  source changed (v${next}): ${expected.filter((_, i) => changesIn(i, next)).length} profiles have new values`,
      );
    };

    for (let index = 0; kills.length < options.kills && index < triggers.length; index += 1) {
      const trigger = triggers[index]!;
      const { result, phase } = await attemptWithTrigger(trigger, {
        dir,
        statePath,
        logDir,
        name: `crash-${index + 1}`,
      });
      runs += 1;
      if (phase !== undefined) {
        kills.push({
          attempt: index + 1,
          trigger: describe(trigger),
          phase,
          afterMs: result.ms,
          sourceVersion: version,
        });
        log(
          `  kill ${String(kills.length).padStart(2)}: ${phase.padEnd(12)} ${describe(trigger)} (${(result.ms / 1000).toFixed(1)} s, source v${version})`,
        );
        // The database and write-ahead log as a kill left them: the secrets check scans these copies too.
        if (kills.length % 5 === 1) {
          for (const suffix of ['-wal', '']) {
            if (!existsSync(statePath + suffix)) continue;
            const copy = join(walDir, `kill-${kills.length}.db${suffix}`);
            copyFileSync(statePath + suffix, copy);
            walSnapshots.push(copy);
          }
        }
        if (version === 1 && kills.length >= switchAfterKills && unfinishedJobs() > 0) switchSource();
        continue;
      }
      missed += 1;
      // Not killed: it must still have printed its summary (and not hung).
      if (result.code !== 1) parseJson(result, 'sync');
      log(`  run ${index + 1} finished before its trigger (${describe(trigger)}), exit ${result.code}`);
      if (result.code === 1) {
        report.check(SCENARIO, `run ${index + 1} could run`, false, result.stderr.slice(-1500));
        break;
      }
      // All the work there was is done: give the next kills something to interrupt.
      if (result.code === 0) switchSource();
    }
    if (version === 1) switchSource();

    // Restart until done.
    let finished: CliResult | undefined;
    let lastExit: number | null = null;
    for (let i = 0; i < 8; i += 1) {
      const result = await runCli(['sync', '--json', '--no-progress'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: 'crash-finish',
      });
      runs += 1;
      parseJson(result, 'sync');
      lastExit = result.code;
      if (result.code !== 3) {
        finished = result;
        break;
      }
    }
    report.check(
      SCENARIO,
      'restarted until it finished: the last run exits 0',
      finished?.code === 0,
      finished === undefined
        ? `still unfinished after 8 restarts (exit ${lastExit})`
        : `exit ${finished.code}`,
    );

    const resync = parseJson<{
      exitCode: number;
      destinations: { destination: string; queued: number; jobsSubmitted: number }[];
    }>(
      await runCli(['sync', '--json', '--no-progress'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: 'crash-resync',
      }),
      'sync',
    );
    runs += 1;
    report.equal(
      SCENARIO,
      'an unchanged re-sync sends nothing (the store confirmed the latest values)',
      resync.destinations.map((d) => [d.destination, d.queued, d.jobsSubmitted]),
      [
        ['sendgrid', 0, 0],
        ['eloqua', 0, 0],
      ],
    );

    // The sandbox holds exactly the expected contacts with the latest values.
    const sendgrid = await compareSendgrid(sandbox, expected);
    const eloqua = await compareEloqua(sandbox, expected);
    reportComparison(report, SCENARIO, 'sendgrid', sendgrid, expected.length);
    reportComparison(report, SCENARIO, 'eloqua', eloqua, expected.length);

    // Exactly one final state per profile in the store.
    const ids = new Set(expected.map((p) => p.id));
    let storeLost = 0;
    withStore(statePath, (db) => {
      for (const destination of ['sendgrid', 'eloqua']) {
        const states = finalStates(db, destination, ids);
        storeLost += states.absent + states.notFinal;
        reportStates(report, SCENARIO, destination, states);
      }
      const left = leftovers(db);
      report.check(
        SCENARIO,
        'store: no job left in flight, no member pages left, no run left running',
        left.jobs === 0 && left.members === 0 && left.running === 0,
        `${left.jobs} unfinished jobs, ${left.members} member pages, ${left.running} running runs`,
      );
    });

    const received = {
      sendgrid: await sendgridRecordsReceived(sandbox.sendgrid!.url),
      eloqua: await eloquaRecordsReceived(sandbox.eloqua!.url),
    };

    const byPhase = new Map<string, number>();
    for (const kill of kills) byPhase.set(kill.phase, (byPhase.get(kill.phase) ?? 0) + 1);
    report.check(
      SCENARIO,
      `at least 20 kills survived`,
      kills.length >= 20,
      `${kills.length} kills, ${missed} runs ended before their trigger`,
    );
    for (const phase of ['reading', 'packing', 'submitting', 'polling', 'settling'] as const) {
      report.check(
        SCENARIO,
        `killed while ${phase}`,
        (byPhase.get(phase) ?? 0) > 0,
        `${byPhase.get(phase) ?? 0} kill(s)`,
      );
    }
    return {
      profiles: options.profiles,
      kills,
      missed,
      runs,
      versions: version,
      changed,
      lost: sendgrid.missing + sendgrid.stale + eloqua.missing + eloqua.stale + storeLost,
      received,
      minimum,
      walSnapshots,
      ms: performance.now() - started,
    };
  } finally {
    await sandbox.close();
  }
};
