import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BadInputFigures, badInputScenario } from './bad-input.ts';
import { type CrashFigures, crashScenario } from './crash.ts';
import { type FaultFigures, faultScenario } from './faults.ts';
import { formatMs, Report } from './lib/report.ts';
import { ELOQUA_PASSWORD, ELOQUA_SITE, ELOQUA_USER, SECRETS } from './lib/sandbox.ts';
import { type SecretScan, scanForSecrets } from './lib/secrets.ts';
import { type ServeFigures, serveScenario } from './serve-kill.ts';

/*
 * `pnpm test:reliability`: the crash, faults, bad-input and secrets scenarios against the real
 * `ferry` CLI and the in-process sandbox. Prints every check, the figures, and one summary line;
 * exits 1 when any check failed. See docs/reliability.md.
 */

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    seed: { type: 'string', default: '20250301' },
    profiles: { type: 'string', default: '100000' },
    kills: { type: 'string', default: '30' },
    'fault-profiles': { type: 'string', default: '30000' },
    'serve-kills': { type: 'string', default: '12' },
    'serve-profiles': { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
    'update-docs': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  process.stdout.write(
    [
      'usage: node reliability/run.ts [options]',
      '  --only <list>          scenarios to run, comma-separated: crash,faults,bad-input,serve (secrets always runs)',
      '  --seed <n>             seed of every random choice (default 20250301)',
      '  --profiles <n>         profiles in the crash scenario (default 100000)',
      '  --kills <n>            kills to survive in the crash scenario (default 30)',
      '  --fault-profiles <n>   profiles in the faults scenario (default 30000)',
      '  --serve-kills <n>      kills of ferry serve in the serve scenario, one run posted per life (default 12)',
      '  --serve-profiles <n>   profiles per posted run in the serve scenario (default 2000)',
      '  --keep                 keep the work directory (it is always kept when a check fails)',
      '  --update-docs          write the figures into docs/reliability.md',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const seed = Number(args.seed);
const only = new Set((args.only ?? 'crash,faults,bad-input,serve').split(',').map((s) => s.trim()));
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const report = new Report(log);
const work = mkdtempSync(join(tmpdir(), 'ferry-reliability-'));
const started = performance.now();
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 1024 ** 3)} GB RAM, Node ${process.version}, ${process.platform}`;

log(`ferry reliability harness — seed ${seed}, work directory ${work}`);
log(`machine: ${machine} (${Math.round(freemem() / 1024 ** 3)} GB free)`);

const scenario = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
  if (!only.has(name)) return undefined;
  log(`\n== ${name}`);
  const t = performance.now();
  try {
    return await run();
  } catch (error) {
    report.crashed(name, error);
    return undefined;
  } finally {
    log(`  (${name}: ${formatMs(performance.now() - t)})`);
  }
};

const crash: CrashFigures | undefined = await scenario('crash', () =>
  crashScenario({
    dir: join(work, 'crash'),
    report,
    log,
    seed,
    profiles: Number(args.profiles),
    kills: Number(args.kills),
    profilesPerJob: 2500,
  }),
);
const faults: FaultFigures | undefined = await scenario('faults', () =>
  faultScenario({
    dir: join(work, 'faults'),
    report,
    log,
    seed,
    profiles: Number(args['fault-profiles']),
    profilesPerJob: 500,
  }),
);
const badInput: BadInputFigures | undefined = await scenario('bad-input', () =>
  badInputScenario({ dir: join(work, 'bad-input'), report, log }),
);

const serve: ServeFigures | undefined = await scenario('serve', () =>
  serveScenario({
    dir: join(work, 'serve'),
    report,
    log,
    seed,
    kills: Number(args['serve-kills']),
    profilesPerRun: Number(args['serve-profiles']),
    profilesPerJob: 500,
  }),
);

// Secrets, after all of the above: first prove the scanner finds what it looks for.
log('\n== secrets');
let secrets: SecretScan | undefined;
try {
  const canary = mkdtempSync(join(tmpdir(), 'ferry-reliability-canary-'));
  try {
    const basic = Buffer.from(`${ELOQUA_SITE}\\${ELOQUA_USER}:${ELOQUA_PASSWORD}`).toString('base64');
    writeFileSync(join(canary, 'a.log'), `Authorization: Basic ${basic}\n`);
    writeFileSync(join(canary, 'b.log'), `GET /x?key=${encodeURIComponent(SECRETS[0])}\n`);
    const selfTest = scanForSecrets(canary, SECRETS);
    report.check(
      'secrets',
      'the scanner finds a planted Basic header and a URL-encoded key (self-test)',
      new Set(selfTest.findings.map((f) => f.file)).size === 2,
      selfTest.findings.map((f) => `${f.file}: ${f.form}`).join(', '),
    );
  } finally {
    rmSync(canary, { recursive: true, force: true });
  }
  secrets = scanForSecrets(work, SECRETS);
  report.check(
    'secrets',
    'no log, stdout/stderr capture, report or state file (WAL included) holds the API key or password, raw, base64 or URL-encoded',
    secrets.findings.length === 0 && secrets.files > 0,
    `${secrets.files} files (${JSON.stringify(secrets.kinds)}), ${(secrets.bytes / 1024 ** 2).toFixed(1)} MB, ${secrets.needles} patterns` +
      (secrets.findings.length > 0
        ? `; found: ${secrets.findings
            .slice(0, 10)
            .map((f) => `${f.file} @${f.offset}: secret ${f.secret + 1} ${f.form}`)
            .join(', ')}`
        : ''),
  );
} catch (error) {
  report.crashed('secrets', error);
}

// Figures.
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const faultsInjected = faults === undefined ? 0 : sum(Object.values(faults.faultsFired));
const rowsTried =
  (crash === undefined ? 0 : crash.profiles * crash.versions) +
  (faults?.profiles ?? 0) +
  (badInput?.rows ?? 0) +
  (serve?.profiles ?? 0);
const lost = (crash?.lost ?? 0) + (faults?.lost ?? 0) + (badInput?.lost ?? 0) + (serve?.lost ?? 0);
const duplicates = (
  figures: { received: Record<string, number>; minimum: Record<string, number> } | undefined,
) =>
  figures === undefined
    ? 0
    : sum(Object.keys(figures.received).map((k) => (figures.received[k] ?? 0) - (figures.minimum[k] ?? 0)));
const duplicatesSent = duplicates(crash) + duplicates(faults);
const elapsed = performance.now() - started;
const failures = report.failures();

const n = (value: number): string => value.toLocaleString('en-US');
const figures = {
  date: new Date().toISOString(),
  machine,
  seed,
  durationMs: Math.round(elapsed),
  checks: report.checks.length,
  failed: failures.length,
  killsSurvived: crash?.kills.length ?? 0,
  killsByPhase: crash === undefined ? {} : countBy(crash.kills.map((k) => k.phase)),
  serverKillsSurvived: serve?.kills.length ?? 0,
  faultsInjected,
  faultsByKind: faults?.faultsFired ?? {},
  rowsTried,
  profilesLost: lost,
  duplicatesSent,
  crash:
    crash === undefined
      ? undefined
      : {
          profiles: crash.profiles,
          versions: crash.versions,
          changed: crash.changed,
          runs: crash.runs,
          missedTriggers: crash.missed,
          received: crash.received,
          minimum: crash.minimum,
          ms: Math.round(crash.ms),
        },
  faults:
    faults === undefined
      ? undefined
      : {
          profiles: faults.profiles,
          planted: faults.planted,
          requests: faults.requests,
          statusChecks: faults.statusChecks,
          statusChecksFailed: faults.statusChecksFailed,
          runs: faults.runs,
          exitCode: faults.exitCode,
          byVendor: faults.faultsByVendor,
          received: faults.received,
          minimum: faults.minimum,
          ms: Math.round(faults.ms),
        },
  badInput:
    badInput === undefined
      ? undefined
      : {
          files: badInput.files,
          rows: badInput.rows,
          badRows: badInput.badRows,
          exported: badInput.exported,
          rejected: badInput.rejected,
          csvCells: badInput.csvCells,
          exitCodes: badInput.exitCodes,
          ms: Math.round(badInput.ms),
        },
  serve:
    serve === undefined
      ? undefined
      : {
          runs: serve.runs,
          profiles: serve.profiles,
          lives: serve.lives,
          killsByTrigger: countBy(serve.kills.map((k) => k.trigger)),
          killsWithRunsInFlight: serve.kills.filter((k) => k.runsInFlight > 0).length,
          killsWithCallbacksPending: serve.kills.filter((k) => k.callbacksPending > 0).length,
          postsRetried: serve.postsRetried,
          callbacksReceived: serve.callbacksReceived,
          callbacksRepeated: serve.callbacksRepeated,
          callbacksRefused: serve.callbacksRefused,
          ms: Math.round(serve.ms),
        },
  secrets:
    secrets === undefined
      ? undefined
      : {
          files: secrets.files,
          bytes: secrets.bytes,
          kinds: secrets.kinds,
          findings: secrets.findings.length,
        },
};
writeFileSync(join(work, 'figures.json'), `${JSON.stringify(figures, null, 2)}\n`);

log('\n== figures');
log(`  kills survived:     ${n(figures.killsSurvived)} ${JSON.stringify(figures.killsByPhase)}`);
if (figures.serve !== undefined)
  log(
    `  server kills:       ${n(figures.serverKillsSurvived)} ${JSON.stringify(figures.serve.killsByTrigger)}; ` +
      `${figures.serve.runs} runs, ${n(figures.serve.callbacksReceived)} callbacks received (` +
      `${figures.serve.callbacksRepeated} repeated, ${figures.serve.callbacksRefused} refused on purpose), ` +
      `${figures.serve.postsRetried} POSTs sent again`,
  );
log(`  faults injected:    ${n(faultsInjected)} ${JSON.stringify(figures.faultsByKind)}`);
log(`  rows tried:         ${n(rowsTried)}`);
log(`  profiles lost:      ${n(lost)}`);
log(
  `  duplicates sent:    ${n(duplicatesSent)} profile sends beyond the minimum` +
    ` (${[crash === undefined ? '' : `crash ${n(duplicates(crash))}`, faults === undefined ? '' : `faults ${n(duplicates(faults))}`].filter(Boolean).join(', ')})`,
);
if (secrets !== undefined)
  log(
    `  secrets scanned:    ${n(secrets.files)} files, ${(secrets.bytes / 1024 ** 2).toFixed(1)} MB, ${secrets.findings.length} found`,
  );
log(`  time:               ${formatMs(elapsed)} on ${machine}`);

if (args['update-docs']) updateDocs(figures);

if (failures.length > 0) {
  log(`\nFailed checks:`);
  for (const failure of failures)
    log(
      `  [${failure.scenario}] ${failure.name}${failure.detail === undefined ? '' : ` — ${failure.detail.slice(0, 2000)}`}`,
    );
}
log(
  `\nreliability: ${failures.length === 0 ? 'PASS' : 'FAIL'} — ${report.checks.length} checks, ${failures.length} failed; ` +
    `kills survived ${n(figures.killsSurvived)}, server kills survived ${n(figures.serverKillsSurvived)}, faults injected ${n(faultsInjected)}, rows tried ${n(rowsTried)}, ` +
    `profiles lost ${n(lost)}, duplicates sent ${n(duplicatesSent)} (${formatMs(elapsed)})`,
);
// The plain closing line CI reads, alone on its line.
log(`reliability: ${report.checks.length - failures.length} passed, ${failures.length} failed`);
if (failures.length === 0 && !args.keep) rmSync(work, { recursive: true, force: true });
else log(`work directory kept: ${work}`);
process.exit(failures.length === 0 ? 0 : 1);

function countBy(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

/** A Markdown table with padded columns, as Biome formats it. */
function markdownTable(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(3, ...all.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)];
}

/** Replaces the figures block of docs/reliability.md with this run's. */
function updateDocs(f: typeof figures): void {
  const path = new URL('../../../docs/reliability.md', import.meta.url);
  const doc = readFileSync(path, 'utf8');
  const start = '<!-- figures:start -->';
  const end = '<!-- figures:end -->';
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to === -1) throw new Error('docs/reliability.md has no figures block');
  const list = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const rows: [string, string][] = [
    ['kills survived', `${n(f.killsSurvived)} (${list(f.killsByPhase)})`],
    [
      'faults injected',
      `${n(f.faultsInjected)} (${list(f.faultsByKind)}) in ${n(f.faults?.requests ?? 0)} requests`,
    ],
    ['rows tried', n(f.rowsTried)],
    ['profiles lost', n(f.profilesLost)],
    ['duplicates sent', `${n(f.duplicatesSent)} profile sends beyond the minimum`],
  ];
  if (f.crash !== undefined)
    rows.push([
      'crash',
      `${n(f.crash.profiles)} profiles, ${f.crash.versions} source versions (${n(f.crash.changed)} changed values), ` +
        `${f.crash.runs} runs; SendGrid received ${n(f.crash.received.sendgrid)} (minimum ${n(f.crash.minimum.sendgrid)}), ` +
        `Eloqua ${n(f.crash.received.eloqua)} (minimum ${n(f.crash.minimum.eloqua)}); ${formatMs(f.crash.ms)}`,
    ]);
  if (f.serve !== undefined)
    rows.push([
      'server kill',
      `${n(f.serverKillsSurvived)} kills of \`ferry serve\` (${list(f.serve.killsByTrigger)}; ${f.serve.killsWithRunsInFlight} with runs in flight, ` +
        `${f.serve.killsWithCallbacksPending} with callbacks pending), ${f.serve.runs} runs of ${n(f.serve.profiles / f.serve.runs)} profiles, ` +
        `${f.serve.postsRetried} POSTs sent again; ${n(f.serve.callbacksReceived)} callbacks received ` +
        `(${f.serve.callbacksRepeated} repeats, ${f.serve.callbacksRefused} refused on purpose); ${formatMs(f.serve.ms)}`,
    ]);
  if (f.faults !== undefined)
    rows.push([
      'faults',
      `${n(f.faults.profiles)} profiles, ${f.faults.planted} planted invalid, ${f.faults.runs} run, exit ${f.faults.exitCode}; ` +
        `${n(f.faults.statusChecks)} status checks, ${n(f.faults.statusChecksFailed)} faulted; ` +
        `SendGrid received ${n(f.faults.received.sendgrid)} (minimum ${n(f.faults.minimum.sendgrid)}), ` +
        `Eloqua ${n(f.faults.received.eloqua)} (minimum ${n(f.faults.minimum.eloqua)}); ${formatMs(f.faults.ms)}`,
    ]);
  if (f.badInput !== undefined)
    rows.push([
      'bad input',
      `${f.badInput.files} files, ${n(f.badInput.rows)} rows, ${f.badInput.badRows} bad rows reported, ` +
        `${f.badInput.exported} good rows exported, ${f.badInput.rejected} rejects, ` +
        `${n(f.badInput.csvCells)} CSV cells checked; ${formatMs(f.badInput.ms)}`,
    ]);
  if (f.secrets !== undefined)
    rows.push([
      'secrets',
      `${f.secrets.findings} found in ${n(f.secrets.files)} files, ${(f.secrets.bytes / 1024 ** 2).toFixed(1)} MB (${list(f.secrets.kinds)})`,
    ]);
  const block = [
    start,
    '',
    `Measured ${f.date.slice(0, 10)} on ${f.machine}; seed ${f.seed}; ${formatMs(f.durationMs)} in all; ` +
      `${f.checks} checks, ${f.failed} failed.`,
    '',
    ...markdownTable(['figure', 'value'], rows),
    '',
    end,
  ].join('\n');
  writeFileSync(path, doc.slice(0, from) + block + doc.slice(to + end.length));
  log('figures written to docs/reliability.md');
}
