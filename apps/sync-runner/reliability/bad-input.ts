import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningSandbox } from '@ferry/sandbox';
import { type CliResult, parseJson, runCli } from './lib/cli.ts';
import { harnessConfig, SECRET_ENV, writeConfig } from './lib/config.ts';
import { parseCsvStrict } from './lib/csv.ts';
import { eloquaHolding, sendgridHolding } from './lib/expect.ts';
import { csvCell } from './lib/profiles.ts';
import type { Report } from './lib/report.ts';
import { startHarnessSandbox } from './lib/sandbox.ts';
import { withStore } from './lib/store.ts';

/*
 * Bad input: the broken CSV/JSONL corpus of test/fixtures/bad-input (its cases.json says what each
 * file yields) plus a generated hostile file (100 KB values, a row over the 4 MiB limit, values
 * that spreadsheets run as formulas). For each: the process does not crash (exit 0 or 2; 1 only
 * for a file cases.json calls wholly unusable), every bad row is reported with its row number and
 * reason, every good row reaches both destinations, and `ferry errors --csv` is safe to open in a
 * spreadsheet.
 */

const SCENARIO = 'bad-input';
const CORPUS = fileURLToPath(new URL('../test/fixtures/bad-input/', import.meta.url));

interface CorpusItem {
  readonly kind: 'record' | 'bad';
  readonly row: number;
  readonly line: number;
  readonly id?: string;
  readonly reason?: string;
}

interface CorpusCase {
  readonly source: Record<string, unknown>;
  readonly items?: readonly CorpusItem[];
  readonly throws?: string;
}

interface BadRowOut {
  readonly row: number;
  readonly profileId?: string;
  readonly reason: string;
}

interface ProblemOut {
  readonly destination: string;
  readonly profileId: string;
  readonly identity: string;
  readonly status: string;
  readonly code: string | null;
}

/** What one file must produce. */
interface Expectation {
  readonly file: string;
  readonly source: Record<string, unknown>;
  readonly throws?: string;
  /** Ids of the rows that must be exported to both destinations. */
  readonly exported: readonly string[];
  readonly badRows: readonly BadRowOut[];
  /** Profiles refused by a destination (not bad rows): destination → ids. */
  readonly rejected?: { readonly sendgrid: readonly string[]; readonly eloqua: readonly string[] };
  /** Values the destinations must hold exactly, by e-mail (SendGrid field names). */
  readonly values?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export interface BadInputFigures {
  readonly files: number;
  readonly rows: number;
  readonly badRows: number;
  readonly exported: number;
  readonly rejected: number;
  readonly lost: number;
  readonly exitCodes: Record<string, number | null>;
  readonly csvCells: number;
  readonly ms: number;
}

export interface BadInputOptions {
  readonly dir: string;
  readonly report: Report;
  readonly log: (line: string) => void;
}

// Cells a spreadsheet would run as a formula, or that hide one after a tab or line break.
const FORMULA_START = /^[=+\-@\t\r]/;

const corpusExpectations = (): Expectation[] => {
  const cases = JSON.parse(readFileSync(join(CORPUS, 'cases.json'), 'utf8')) as Record<string, CorpusCase>;
  return Object.entries(cases).map(([file, spec]) => ({
    file,
    source: spec.source,
    ...(spec.throws === undefined ? {} : { throws: spec.throws }),
    exported: (spec.items ?? []).filter((item) => item.kind === 'record').map((item) => item.id ?? ''),
    badRows: (spec.items ?? [])
      .filter((item) => item.kind === 'bad')
      .map((item) => ({
        row: item.row,
        ...(item.id === undefined ? {} : { profileId: item.id }),
        reason: item.reason ?? '',
      })),
  }));
};

const KB100 = 100 * 1024;
const FORMULAS = [
  '=HYPERLINK("http://evil.example","click")',
  "+cmd|' /C calc'!A0",
  '-1+1',
  '@SUM(A1:A9)',
  '\t=1+1',
];

/** A generated file of hostile but mostly valid rows, written to `path`, with what it must give. */
const hostileFile = (path: string): Expectation => {
  const header = ['id', 'email', 'first_name', 'notes', 'age'];
  const lines: string[] = [header.join(',')];
  const exported: string[] = [];
  const badRows: BadRowOut[] = [];
  const values: Record<string, Record<string, string>> = {};
  const rejected = { sendgrid: [] as string[], eloqua: [] as string[] };
  const add = (cells: readonly string[]): number => {
    lines.push(cells.map(csvCell).join(','));
    return lines.length; // the row number a spreadsheet shows (header = 1)
  };
  // Formula-looking values are data: exported exactly as written.
  FORMULAS.forEach((formula, i) => {
    const email = `formula${i}@example.test`;
    add([`f${i}`, email, formula, '', '']);
    exported.push(`f${i}`);
    values[email] = { first_name: formula };
  });
  // 100 KB in a column nobody maps: the row is fine.
  add(['big-notes', 'big.notes@example.test', 'Notes', 'n'.repeat(KB100), '']);
  exported.push('big-notes');
  // 100 KB in a mapped field: too long for both vendors' first name, so a reject, not a crash.
  add(['big-name', 'big.name@example.test', 'N'.repeat(KB100), '', '']);
  rejected.sendgrid.push('big-name');
  rejected.eloqua.push('big-name');
  // Hostile ids and identities that end up in the error report.
  add(['=1+2', '=HYPERLINK("http://evil.example")@x.test', 'Evil', '', '']);
  rejected.sendgrid.push('=1+2');
  rejected.eloqua.push('=1+2');
  add(['@SUM(A1:A9)', '', 'No Mail', '', '']);
  rejected.sendgrid.push('@SUM(A1:A9)');
  rejected.eloqua.push('@SUM(A1:A9)');
  add(['+cmd', 'plus.cmd@example.test', 'Plus', '', '']);
  exported.push('+cmd');
  const dupPlus = add(['+cmd', 'again@example.test', 'Again', '', '']);
  badRows.push({
    row: dupPlus,
    profileId: '+cmd',
    reason: 'duplicate id "+cmd": an earlier row has the same id; only the first one is synced',
  });
  add(['-1+1', 'minus@example.test', '-Minus', '', '']);
  exported.push('-1+1');
  values['minus@example.test'] = { first_name: '-Minus' };
  const dupMinus = add(['-1+1', 'minus.again@example.test', 'Again', '', '']);
  badRows.push({
    row: dupMinus,
    profileId: '-1+1',
    reason: 'duplicate id "-1+1": an earlier row has the same id; only the first one is synced',
  });
  // A typed column with a formula in it: a bad row whose reason quotes the formula.
  const typed = add(['age-formula', 'age@example.test', 'Age', '', '=1+1']);
  badRows.push({
    row: typed,
    profileId: 'age-formula',
    reason: 'column "age": expected a number, got "=1+1"',
  });
  // A short row whose first cell is a formula: bad, with no id to trust.
  lines.push('=cmd|x,short@example.test');
  badRows.push({ row: lines.length, reason: 'expected 5 columns (as in the header), found 2' });
  // One record over the reader's 4 MiB limit.
  lines.push(`huge,huge@example.test,Huge,${'h'.repeat(4 * 1024 * 1024 + 16)},`);
  badRows.push({ row: lines.length, reason: 'row longer than 4194304 characters; skipped to the next line' });
  add(['after-huge', 'after.huge@example.test', 'After', '', '41']);
  exported.push('after-huge');
  writeFileSync(path, `${lines.join('\r\n')}\r\n`);
  return {
    file: 'hostile.csv',
    source: { type: 'csv', idColumn: 'id', columns: { age: 'number' } },
    exported,
    badRows,
    rejected,
    values,
  };
};

const resetSandbox = async (sandbox: RunningSandbox): Promise<void> => {
  for (const url of [sandbox.sendgrid!.url, sandbox.eloqua!.url]) {
    const response = await fetch(`${url}/__sandbox/reset`, { method: 'POST' });
    if (!response.ok) throw new Error(`reset ${url}: HTTP ${response.status}`);
  }
};

const sorted = <T>(items: readonly T[]): T[] =>
  [...items]
    .map((item) => JSON.stringify(item))
    .sort()
    .map((text) => JSON.parse(text) as T);

export const badInputScenario = async (options: BadInputOptions): Promise<BadInputFigures> => {
  const { report, log } = options;
  const started = performance.now();
  const sandbox = await startHarnessSandbox({ startDelayMs: 50, recordsPerSecond: 100_000, seed: 7 });
  const figures = { files: 0, rows: 0, badRows: 0, exported: 0, rejected: 0, lost: 0, csvCells: 0 };
  const exitCodes: Record<string, number | null> = {};
  try {
    const expectations = corpusExpectations();
    const hostileDir = join(options.dir, 'hostile');
    mkdirSync(hostileDir, { recursive: true });
    expectations.push(hostileFile(join(hostileDir, 'hostile.csv')));

    for (const expected of expectations) {
      const name = expected.file.replace(/\W+/g, '-');
      const dir = join(options.dir, name);
      const logDir = join(options.dir, 'logs');
      mkdirSync(dir, { recursive: true });
      if (expected.file !== 'hostile.csv')
        copyFileSync(join(CORPUS, expected.file), join(dir, expected.file));
      else copyFileSync(join(hostileDir, 'hostile.csv'), join(dir, 'hostile.csv'));
      const fields = { sendgrid: { first_name: 'first_name' }, eloqua: { C_FirstName: 'first_name' } };
      const withNames = expected.file === 'hostile.csv';
      writeConfig(
        dir,
        harnessConfig({
          sandbox,
          source: { ...expected.source, path: `./${expected.file}` },
          sendgridFields: withNames ? fields.sendgrid : {},
          eloquaFields: withNames ? fields.eloqua : {},
        }),
      );
      await resetSandbox(sandbox);
      figures.files += 1;
      const at = `${expected.file}`;

      const sync = await runCli(['sync', '--json', '--no-progress'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: `bad-${name}`,
      });
      exitCodes[expected.file] = sync.code;
      const crashed = sync.signal !== null || /\n\s+at .+\(.*:\d+:\d+\)/.test(sync.stderr);
      report.check(
        SCENARIO,
        `${at}: no crash, no stack trace`,
        !crashed,
        crashed ? sync.stderr.slice(-800) : undefined,
      );

      if (expected.throws !== undefined) {
        const document = parseJson<{ exitCode: number; error?: string }>(sync, 'sync');
        report.check(
          SCENARIO,
          `${at}: wholly unusable, exit 1 naming the problem`,
          sync.code === 1 && (document.error ?? '').includes(expected.throws),
          `exit ${sync.code}: ${document.error ?? sync.stderr.slice(-300)}`,
        );
        const held = (await sendgridHolding(sandbox)).size + (await eloquaHolding(sandbox)).size;
        report.equal(SCENARIO, `${at}: nothing exported`, held, 0);
        continue;
      }

      const rejectedCount =
        (expected.rejected?.sendgrid.length ?? 0) + (expected.rejected?.eloqua.length ?? 0);
      const wantedExit = expected.badRows.length > 0 || rejectedCount > 0 ? 2 : 0;
      const summary = parseJson<{ source: { rows: number; badRows: number } }>(sync, 'sync');
      report.check(
        SCENARIO,
        `${at}: exit ${wantedExit}`,
        sync.code === wantedExit,
        `exit ${sync.code}${sync.code === 1 ? `: ${sync.stderr.slice(-500)}` : ''}`,
      );
      figures.rows += summary.source.rows;

      // Every bad row, with its row number and reason, and nothing else.
      const errors = await runCli(['errors', '--json'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: `bad-${name}-errors`,
      });
      const document = parseJson<{ problems: ProblemOut[]; badRows: { rows: BadRowOut[] } }>(
        errors,
        'errors',
      );
      writeFileSync(join(dir, 'errors.json'), errors.stdout);
      report.equal(
        SCENARIO,
        `${at}: every bad row reported with row number and reason`,
        sorted(document.badRows.rows),
        sorted(expected.badRows),
      );
      figures.badRows += document.badRows.rows.length;

      const rejected = {
        sendgrid: document.problems.filter((p) => p.destination === 'sendgrid').map((p) => p.profileId),
        eloqua: document.problems.filter((p) => p.destination === 'eloqua').map((p) => p.profileId),
      };
      report.equal(
        SCENARIO,
        `${at}: rejected exactly the invalid profiles`,
        sorted([...rejected.sendgrid, ...rejected.eloqua.map((id) => `eloqua:${id}`)]),
        sorted([
          ...(expected.rejected?.sendgrid ?? []),
          ...(expected.rejected?.eloqua ?? []).map((id) => `eloqua:${id}`),
        ]),
      );
      figures.rejected += rejected.sendgrid.length + rejected.eloqua.length;

      // Every good row at both destinations: its identity as the store recorded it, held by the vendor.
      const identities = withStore(join(dir, 'state', 'ferry.db'), (db) => {
        const rows = db
          .prepare("SELECT destination, profile_id, identity FROM profile_state WHERE status = 'exported'")
          .all() as { destination: string; profile_id: string; identity: string }[];
        return rows;
      });
      const sendgrid = await sendgridHolding(sandbox);
      const eloqua = await eloquaHolding(sandbox);
      let lost = 0;
      for (const [destination, held] of [
        ['sendgrid', sendgrid],
        ['eloqua', eloqua],
      ] as const) {
        const exported = identities.filter((row) => row.destination === destination);
        const exportedIds = exported.map((row) => row.profile_id);
        const missing = expected.exported.filter((id) => !exportedIds.includes(id));
        const notHeld = exported.filter((row) => !held.has(row.identity.toLowerCase()));
        lost += missing.length + notHeld.length;
        // Eloqua also holds the contact whose too-long first name it dropped (imported without it).
        const extra = held.size - exported.length - (destination === 'eloqua' ? dropped(expected) : 0);
        report.check(
          SCENARIO,
          `${at}: every good row exported to ${destination}`,
          missing.length === 0 &&
            notHeld.length === 0 &&
            exported.length === expected.exported.length &&
            extra === 0,
          `${exported.length} exported of ${expected.exported.length} good rows, ${missing.length} missing (${missing.slice(0, 3).join(', ')}), ${notHeld.length} not at the vendor, ${extra} unexpected at the vendor`,
        );
      }
      figures.exported += expected.exported.length;
      figures.lost += lost;
      for (const [email, fields] of Object.entries(expected.values ?? {})) {
        const contact = sendgrid.get(email);
        report.equal(
          SCENARIO,
          `${at}: ${email} holds its value exactly`,
          contact?.first_name,
          fields.first_name,
        );
        report.equal(
          SCENARIO,
          `${at}: ${email} holds its value exactly at eloqua`,
          eloqua.get(email)?.C_FirstName,
          fields.first_name,
        );
      }

      // The CSV report: well-formed, every bad row in it, and no cell a spreadsheet would run.
      const csv = await runCli(['errors', '--csv'], {
        cwd: dir,
        env: SECRET_ENV,
        logDir,
        name: `bad-${name}-csv`,
      });
      writeFileSync(join(dir, 'errors.csv'), csv.stdout);
      checkCsv(report, at, csv, expected, figures);
    }
    log(`  exit codes: ${JSON.stringify(exitCodes)}`);
    return { ...figures, exitCodes, ms: performance.now() - started };
  } finally {
    await sandbox.close();
  }
};

const dropped = (expected: Expectation): number => (expected.file === 'hostile.csv' ? 1 : 0);

const checkCsv = (
  report: Report,
  at: string,
  csv: CliResult,
  expected: Expectation,
  figures: { csvCells: number },
): void => {
  let rows: string[][];
  try {
    rows = parseCsvStrict(csv.stdout.replace(/^\ufeff/, ''));
  } catch (error) {
    report.check(SCENARIO, `${at}: errors --csv is well-formed CSV`, false, String(error));
    return;
  }
  const header = rows[0] ?? [];
  const body = rows.slice(1);
  report.check(
    SCENARIO,
    `${at}: errors --csv is well-formed CSV`,
    csv.code === 0 && body.every((row) => row.length === header.length),
    `${body.length} rows of ${header.length} columns`,
  );
  const unsafe: string[] = [];
  for (const row of rows) {
    for (const cell of row) {
      figures.csvCells += 1;
      if (FORMULA_START.test(cell)) unsafe.push(cell.slice(0, 40));
    }
  }
  report.check(
    SCENARIO,
    `${at}: errors --csv is safe to open in a spreadsheet (no cell starts with = + - @ tab CR)`,
    unsafe.length === 0,
    unsafe.length === 0
      ? `${rows.length * header.length} cells`
      : `unsafe cells: ${JSON.stringify(unsafe.slice(0, 5))}`,
  );
  // The bad rows are in it, row numbers and reasons intact (protected cells keep their text after the ').
  const kind = header.indexOf('kind');
  const rowColumn = header.indexOf('row');
  const message = header.indexOf('message');
  const reported = body
    .filter((row) => row[kind] === 'bad_row')
    .map((row) => `${row[rowColumn]} ${row[message]?.replace(/^'/, '')}`)
    .sort();
  report.equal(
    SCENARIO,
    `${at}: errors --csv lists every bad row`,
    reported,
    expected.badRows.map((r) => `${r.row} ${r.reason}`).sort(),
  );
};
