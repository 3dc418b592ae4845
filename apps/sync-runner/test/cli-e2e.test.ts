import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/*
 * The real `ferry` process, spawned the way a user runs it, with a JSON config using the memory
 * destination. The memory vendor lives in the process, so each run starts with an empty vendor:
 * these tests assert exit codes, output and the state file, not what the vendor holds (the engine
 * tests do that).
 */

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const CRASH_PRELOAD = fileURLToPath(new URL('./helpers/crash-preload.ts', import.meta.url));
const API_KEY = 'memory-secret-key-0042';
// The config's own environment syntax, not a template literal.
// biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is read by the config loader
const API_KEY_REFERENCE = '${MEMORY_API_KEY}';

interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const runCli = (cwd: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    // Crash tests preload the hook that kills the process at an exact store write.
    const preload = env.FERRY_TEST_CRASH_AFTER_WRITES === undefined ? [] : ['--import', CRASH_PRELOAD];
    const child = spawn(process.execPath, [...preload, CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', MEMORY_API_KEY: API_KEY, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });

const config = (overrides: Record<string, unknown> = {}) => ({
  source: { type: 'csv', path: './people.csv', idColumn: 'id' },
  destinations: {
    mem: {
      plugin: 'memory',
      options: {
        apiKey: API_KEY_REFERENCE,
        namespace: 'cli',
        processing: { perJobMs: 5 },
        limits: { maxProfilesPerJob: 10, maxJobsInFlight: 2 },
      },
      identity: 'email',
      fields: { email: 'email', firstName: 'first_name' },
      polling: { initialIntervalMs: 5, maxIntervalMs: 50 },
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
      ...overrides,
    },
  },
});

const csv = (count: number, extra = ''): string => {
  let text = 'id,email,first_name\n';
  for (let i = 0; i < count; i += 1) text += `p${i},person${i}@example.com,Name${i}\n`;
  return text + extra;
};

describe('the ferry CLI', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    writeFileSync(join(dir, 'ferry.config.json'), JSON.stringify(config(), null, 2));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const json = (result: CliResult) =>
    JSON.parse(result.stdout) as Record<string, unknown> & { exitCode: number };

  it('syncs, then finds nothing to send; --json is one stable document', async () => {
    writeFileSync(join(dir, 'people.csv'), csv(35));
    const first = await runCli(dir, ['sync', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const summary = json(first);
    expect(summary).toMatchObject({
      schemaVersion: 1,
      command: 'sync',
      exitCode: 0,
      status: 'completed',
      dryRun: false,
      source: { rows: 35, records: 35, badRows: 0, duplicates: 0 },
      destinations: [
        { destination: 'mem', plugin: 'memory', queued: 35, exported: 35, jobsSubmitted: 4, pending: 0 },
      ],
    });
    expect(Object.keys(summary)).toEqual([
      'schemaVersion',
      'command',
      'exitCode',
      'runId',
      'status',
      'dryRun',
      'startedAt',
      'finishedAt',
      'durationMs',
      'source',
      'destinations',
    ]);

    const second = await runCli(dir, ['sync', '--json']);
    expect(second.code).toBe(0);
    expect(json(second)).toMatchObject({ destinations: [{ unchanged: 35, queued: 0, jobsSubmitted: 0 }] });

    const table = await runCli(dir, ['sync']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^destination\s+plugin\s+unchanged\s+sent\s+exported/m);
    expect(table.stdout).toContain('Exit 0');

    const status = await runCli(dir, ['status', '--json']);
    expect(status.code).toBe(0);
    expect(json(status)).toMatchObject({
      command: 'status',
      destinations: [
        {
          destination: 'mem',
          profiles: { exported: 35 },
          jobsInFlight: { planned: 0, submitting: 0, submitted: 0 },
        },
      ],
    });
    expect((json(status).runs as unknown[]).length).toBe(3);
  }, 60_000);

  it('exits 2 with rejects and bad rows, and `errors --csv` is safe to open in a spreadsheet', async () => {
    const evil = `p90,"=HYPERLINK(""http://evil.example"")@x",Evil\n`;
    writeFileSync(join(dir, 'people.csv'), csv(5, `p91,short-row\n${evil}p2,dup@example.com,Dup\n`));
    const result = await runCli(dir, ['sync']);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stdout).toContain('2 bad rows (1 duplicate ids)');

    const errors = await runCli(dir, ['errors', '--csv']);
    expect(errors.code).toBe(0);
    const lines = errors.stdout
      .replace(/^\ufeff/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe('kind,destination,profile_id,identity,row,code,field,message,attempts,updated_at');
    const rejected = lines.find((line) => line.startsWith('rejected,'));
    expect(rejected).toContain(`"'=HYPERLINK(""http://evil.example"")@x"`);
    expect(lines.some((line) => line.startsWith('bad_row,,,,7,bad_row,,'))).toBe(true);
    expect(lines.some((line) => line.startsWith('bad_row,,p2,,9,'))).toBe(true);
    for (const line of lines) expect(line).not.toMatch(/(^|,)[=+@-]/);

    const table = await runCli(dir, ['errors']);
    expect(table.stdout).toContain('MEM-EMAIL');
    expect(table.stdout).toContain('2 bad rows in run');

    const retry = await runCli(dir, ['retry', '--json']);
    expect(json(retry)).toMatchObject({ command: 'retry', requeued: { rejected: 1, waiting: 0 } });
  }, 60_000);

  it('exits 1 with a message naming the problem when the config is wrong, in text and JSON', async () => {
    writeFileSync(join(dir, 'people.csv'), csv(2));
    writeFileSync(join(dir, 'ferry.config.json'), JSON.stringify(config({ mode: 'sideways' })));
    const result = await runCli(dir, ['sync']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('destinations.mem.mode');

    const unknown = await runCli(dir, ['sync', '--json', '--destination', 'nope']);
    expect(unknown.code).toBe(1);
    writeFileSync(join(dir, 'ferry.config.json'), JSON.stringify(config()));
    const again = await runCli(dir, ['sync', '--json', '--destination', 'nope']);
    expect(again.code).toBe(1);
    expect(json(again)).toMatchObject({ schemaVersion: 1, command: 'sync', exitCode: 1 });
    expect(json(again).error).toContain('no destination named "nope"');
  }, 60_000);

  it('never prints or stores the secrets it reads from the environment', async () => {
    writeFileSync(join(dir, 'people.csv'), csv(12));
    const outputs = [
      await runCli(dir, ['sync', '--verbose']),
      await runCli(dir, ['sync', '--json', '--full', '--verbose']),
      await runCli(dir, ['status', '--json']),
      await runCli(dir, ['errors', '--csv']),
      await runCli(dir, ['verify', '--json']),
    ];
    for (const output of outputs) {
      expect(output.stdout + output.stderr).not.toContain(API_KEY);
    }
    // A wrong key is reported without being echoed.
    const wrong = await runCli(dir, ['sync'], { MEMORY_API_KEY: 'short' });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout + wrong.stderr).toContain('apiKey');
    for (const file of readdirSync(join(dir, '.ferry'))) {
      expect(readFileSync(join(dir, '.ferry', file)).includes(API_KEY)).toBe(false);
    }
  }, 60_000);

  it('resumes after kill -9 at any point and ends with every profile exported exactly once in the state', async () => {
    writeFileSync(join(dir, 'people.csv'), csv(25));
    // Each process starts with an empty in-process vendor, so jobs submitted before the kill are
    // "forgotten" (404) after it: the restart resubmits them, which is the JOB_NOT_FOUND path.
    for (const crashAt of [4, 6, 8, 11, 14]) {
      rmSync(join(dir, '.ferry'), { recursive: true, force: true });
      const killed = await runCli(dir, ['sync', '--quiet'], {
        FERRY_TEST_CRASH_AFTER_WRITES: String(crashAt),
      });
      expect(killed.signal, `crash after ${crashAt} writes`).toBe('SIGKILL');
      // It says which write it died before, so harnesses can tell the step it interrupted.
      expect(killed.stderr).toMatch(new RegExp(`killed before write ${crashAt + 1} \\(\\w+\\)`));
      const resumed = await runCli(dir, ['sync', '--json']);
      expect(resumed.code, `${resumed.stderr} (crash after ${crashAt})`).toBe(0);
      const status = json(await runCli(dir, ['status', '--json']));
      expect(status.destinations).toEqual([
        {
          destination: 'mem',
          profiles: { exported: 25, pending: 0, retry_wait: 0, rejected: 0, deleted: 0 },
          jobsInFlight: { planned: 0, submitting: 0, submitted: 0 },
        },
      ]);
      expect((status.runs as { status: string }[]).map((run) => run.status)).toEqual([
        'completed',
        'interrupted',
      ]);
    }
  }, 120_000);

  it('stops gracefully on Ctrl-C, leaving its jobs to the next run', async () => {
    writeFileSync(join(dir, 'people.csv'), csv(40));
    writeFileSync(
      join(dir, 'ferry.config.json'),
      JSON.stringify(
        config({
          options: {
            apiKey: API_KEY_REFERENCE,
            processing: { perJobMs: 400 },
            limits: { maxProfilesPerJob: 10, maxJobsInFlight: 2 },
          },
        }),
      ),
    );
    const child = spawn(process.execPath, [CLI, 'sync', '--json', '--no-progress'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', MEMORY_API_KEY: API_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // The first progress line comes once reading is under way and jobs are being submitted.
    while (!stderr.includes('[ferry]')) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 150));
    child.kill('SIGINT');
    const code = await exited;
    expect(stderr).toContain('stopping gracefully');
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'aborted', exitCode: 3 });

    const resumed = await runCli(dir, ['sync', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const status = json(await runCli(dir, ['status', '--json']));
    expect(status.destinations).toMatchObject([{ profiles: { exported: 40, pending: 0 } }]);
    expect((status.runs as { status: string }[]).map((run) => run.status)).toEqual(['completed', 'aborted']);
  }, 60_000);

  it('writes a starter config with init, and refuses to overwrite it', async () => {
    rmSync(join(dir, 'ferry.config.json'));
    const first = await runCli(dir, ['init']);
    expect(first.code).toBe(0);
    expect(existsSync(join(dir, 'ferry.config.ts'))).toBe(true);
    expect(readFileSync(join(dir, 'ferry.config.ts'), 'utf8')).toContain('defineConfig');
    const second = await runCli(dir, ['init']);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('already exists');
  }, 30_000);
});
