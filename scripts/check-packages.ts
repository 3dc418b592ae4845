import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Every publishable package, as npm would publish it: packed with pnpm (publishConfig applied,
 * workspace: ranges replaced), then checked by publint (--strict: warnings fail) and by
 * arethetypeswrong (ESM-only profile: Ferry ships no CommonJS). `pnpm check:packages` builds first;
 * the packaging test calls packWorkspace/checkTarball on its own tarballs.
 *
 *   node scripts/check-packages.ts [--keep <dir>]
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Workspace folders of the packages that are published (not `private`). */
export const publishableDirs = (): string[] =>
  ['packages', 'apps']
    .flatMap((group) => readdirSync(join(ROOT, group)).map((name) => join(ROOT, group, name)))
    .filter((dir) => {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { private?: boolean };
        return manifest.private !== true;
      } catch {
        return false;
      }
    })
    .sort();

/** Packs each package into `destination`; returns package name → tarball path. */
export const packWorkspace = (
  destination: string,
  dirs: readonly string[] = publishableDirs(),
): Map<string, string> => {
  const tarballs = new Map<string, string>();
  for (const dir of dirs) {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
    const output = execFileSync('pnpm', ['pack', '--json', '--pack-destination', destination], {
      cwd: dir,
      encoding: 'utf8',
    });
    const parsed = JSON.parse(output) as { filename: string } | { filename: string }[];
    const filename = Array.isArray(parsed) ? parsed[0]?.filename : parsed.filename;
    if (filename === undefined) throw new Error(`pnpm pack printed no file name for ${name}`);
    tarballs.set(name, filename.startsWith('/') ? filename : join(destination, filename));
  }
  return tarballs;
};

export interface TarballCheck {
  readonly tool: 'publint' | 'attw';
  readonly ok: boolean;
  readonly output: string;
}

const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);

export const checkTarball = (tarball: string): TarballCheck[] => {
  const run = (tool: TarballCheck['tool'], command: string, args: string[]): TarballCheck => {
    const result = spawnSync(command, args, {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    return { tool, ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
  };
  return [
    run('publint', bin('publint'), ['run', tarball, '--strict']),
    run('attw', bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-emoji']),
  ];
};

if (import.meta.main) {
  const keep = process.argv.indexOf('--keep');
  const destination =
    keep > 0 ? (process.argv[keep + 1] ?? '') : mkdtempSync(join(tmpdir(), 'ferry-packages-'));
  let failed = 0;
  try {
    for (const [name, tarball] of packWorkspace(destination)) {
      for (const check of checkTarball(tarball)) {
        if (!check.ok) failed += 1;
        process.stdout.write(`${check.ok ? 'ok  ' : 'FAIL'}  ${check.tool.padEnd(8)} ${name}\n`);
        if (!check.ok) process.stdout.write(`${check.output.replace(/^/gm, '        ')}\n`);
      }
    }
  } finally {
    if (keep < 0) rmSync(destination, { recursive: true, force: true });
  }
  process.stdout.write(
    failed === 0 ? 'every package passes publint and arethetypeswrong\n' : `${failed} check(s) failed\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}
