import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Runs the real `ferry` CLI as a child process, the way a user runs it (Node 24 strips the types of
 * src/cli.ts), and keeps every stdout/stderr capture as a file under the work directory: the
 * secrets check scans them all at the end.
 */

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const CRASH_PRELOAD = fileURLToPath(new URL('../../test/helpers/crash-preload.ts', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** The harness killed it for running longer than `timeoutMs`. */
  readonly timedOut: boolean;
}

export interface CliRun {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
}

let captureSeq = 0;

export interface CliOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Directory for the stdout/stderr captures. */
  readonly logDir: string;
  /** Short name for the capture files. */
  readonly name: string;
  /** A run that takes longer is killed and reported as hung (default 5 minutes). */
  readonly timeoutMs?: number;
}

export const startCli = (args: readonly string[], options: CliOptions): CliRun => {
  const started = performance.now();
  // Crash triggers preload the test hook that kills the process at an exact store write.
  const crash =
    options.env.FERRY_TEST_CRASH_AFTER_WRITES !== undefined ||
    options.env.FERRY_TEST_CRASH_BEFORE !== undefined ||
    options.env.FERRY_TEST_CRASH_AFTER !== undefined;
  const child = spawn(process.execPath, [...(crash ? ['--import', CRASH_PRELOAD] : []), CLI, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 300_000);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      captureSeq += 1;
      const base = join(options.logDir, `${String(captureSeq).padStart(4, '0')}-${options.name}`);
      mkdirSync(options.logDir, { recursive: true });
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err);
      writeFileSync(`${base}.stdout`, stdout);
      writeFileSync(`${base}.stderr`, stderr);
      resolve({
        code,
        signal,
        stdout: stdout.toString('utf8'),
        stderr: stderr.toString('utf8'),
        ms: performance.now() - started,
        timedOut,
      });
    });
  });
  return { child, done };
};

export const runCli = (args: readonly string[], options: CliOptions): Promise<CliResult> =>
  startCli(args, options).done;

/** The one JSON document a `--json` command prints. */
export const parseJson = <T = Record<string, unknown>>(result: CliResult, what: string): T => {
  if (result.timedOut)
    throw new Error(`${what}: hung, killed after its time limit:\n${result.stderr.slice(-4000)}`);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(
      `${what}: stdout is not one JSON document (exit ${result.code}, signal ${result.signal}):\n` +
        `${result.stdout.slice(0, 2000)}\n--- stderr ---\n${result.stderr.slice(-4000)}`,
    );
  }
};
