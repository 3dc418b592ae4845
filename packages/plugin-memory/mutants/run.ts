import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Mutant, mutants } from './mutants.ts';

/*
 * Measures the conformance kit: applies each bug in mutants.ts to its own copy of plugin-memory
 * (src/ and the conformance test, under .mutants/), runs the kit against every copy in one vitest
 * run, and reports which bugs it caught. An unmodified copy runs too and must pass, so a broken
 * setup cannot pass for a perfect score. Exit 0 when the control passes and ≥ 90% are caught.
 *
 *   pnpm --filter @ferry/plugin-memory mutants          (or: node mutants/run.ts [--json])
 */

const TARGET = 0.9;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = join(root, '.mutants');

const prepare = (id: string, mutant: Mutant | undefined): void => {
  const dir = join(work, id);
  cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'test'), { recursive: true });
  cpSync(join(root, 'test', 'conformance.test.ts'), join(dir, 'test', 'conformance.test.ts'));
  for (const edit of mutant?.edits ?? []) {
    const file = join(dir, edit.file);
    const text = readFileSync(file, 'utf8');
    const count = text.split(edit.find).length - 1;
    if (count !== 1) {
      throw new Error(
        `mutant ${id}: expected the text to replace once in ${edit.file}, found it ${count} times`,
      );
    }
    writeFileSync(
      file,
      text.replace(edit.find, () => edit.replace),
    );
  }
};

rmSync(work, { recursive: true, force: true });
prepare('control', undefined);
for (const mutant of mutants) prepare(mutant.id, mutant);

const results = join(work, 'results.json');
const vitest = spawnSync(
  join(root, 'node_modules', '.bin', 'vitest'),
  ['run', '--config', 'mutants/vitest.config.ts', '--reporter=json', `--outputFile=${results}`],
  { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
);
if (!existsSync(results)) {
  process.stderr.write(`${vitest.stdout}\n${vitest.stderr}\nvitest wrote no results\n`);
  process.exit(2);
}

interface FileResult {
  readonly name: string;
  readonly status: string;
  readonly message?: string;
  readonly assertionResults: readonly { readonly title: string; readonly status: string }[];
}
const report = JSON.parse(readFileSync(results, 'utf8')) as { testResults: FileResult[] };
const failuresOf = (id: string): string[] | undefined => {
  const file = report.testResults.find((result) => relative(work, result.name).split(/[\\/]/)[0] === id);
  if (file === undefined) return undefined;
  const failed = file.assertionResults
    .filter((test) => test.status === 'failed')
    .map((test) => test.title.split(':')[0] ?? test.title);
  // A copy that does not even load (a syntax error in the mutant) fails as a file, not per test.
  return failed.length === 0 && file.status === 'failed' ? ['(file failed to load)'] : failed;
};

const control = failuresOf('control');
const rows = mutants.map((mutant) => {
  const failed = failuresOf(mutant.id) ?? ['(no result)'];
  return {
    id: mutant.id,
    bug: mutant.bug,
    expectedCase: mutant.expectedCase,
    caught: failed.length > 0,
    failedCases: failed,
  };
});
const caught = rows.filter((row) => row.caught).length;
const rate = caught / rows.length;

if (process.argv.includes('--json')) {
  process.stdout.write(
    `${JSON.stringify({ control: control ?? null, caught, total: rows.length, rate, mutants: rows }, null, 2)}\n`,
  );
} else {
  const width = Math.max(...rows.map((row) => row.id.length));
  for (const row of rows) {
    const cases = row.failedCases.slice(0, 3).join(', ') + (row.failedCases.length > 3 ? ', ...' : '');
    process.stdout.write(
      `${row.caught ? 'caught ' : 'MISSED '} ${row.id.padEnd(width)}  ${row.caught ? `by ${cases}` : row.bug}\n`,
    );
  }
  process.stdout.write(
    `\ncontrol (unmodified copy): ${control === undefined ? 'no result' : control.length === 0 ? 'passed' : `FAILED (${control.join(', ')})`}\n` +
      `conformance kit caught ${caught} of ${rows.length} bugs (${Math.round(rate * 100)}%; target ${TARGET * 100}%)\n`,
  );
}
process.exit(control !== undefined && control.length === 0 && rate >= TARGET ? 0 : 1);
