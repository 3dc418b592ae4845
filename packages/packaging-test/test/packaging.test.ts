import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { type FakeBulkVendor, startFakeBulkVendor } from '@ferry/core/testing/fake-vendor';
import { type RunningSandbox, startSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTarball, packWorkspace } from '../../../scripts/check-packages.ts';

/*
 * The packages as users get them. Every publishable package is packed (turbo builds them before
 * this task, see turbo.json); the tarballs are installed with npm into a fresh folder outside the
 * monorepo; `npx ferry create destination` scaffolds a plugin there, which installs core from its
 * tarball, passes its own tests and is packed in turn; then `npx ferry verify` and `npx ferry sync`
 * run — compiled JavaScript on Node without type stripping — with that plugin loaded by package
 * name next to a built-in, against the fake vendor and the SendGrid sandbox, to completion.
 */

const work = mkdtempSync(join(tmpdir(), 'ferry-packaging-'));
const tarballDir = join(work, 'tarballs');
const app = join(work, 'app');
const pluginDir = join(work, 'acme-plugin');
const PLUGIN = '@acme/ferry-destination-acme';
const SENDGRID_KEY = 'SG.packaging-key-0042';
const ACME_KEY = 'acme-packaging-key-77';

// The "user's" shell: the machine's environment (CA certificates, proxies) without the workspace's
// npm, pnpm, turbo and vitest settings, plus Node without type stripping — a `.ts` file anywhere on
// the runtime path fails to load.
const env: Record<string, string | undefined> = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !/^(npm_|PNPM_|TURBO_|VITEST|FORCE_COLOR$)/i.test(key)),
);
Object.assign(env, {
  // FERRY_PACKAGING_NODE_BIN: a folder with another `node` (e.g. a Node 22 install) to run it all on.
  PATH: [process.env.FERRY_PACKAGING_NODE_BIN ?? dirname(process.execPath), process.env.PATH ?? ''].join(
    delimiter,
  ),
  NODE_OPTIONS: '--no-experimental-strip-types',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  npm_config_loglevel: 'error',
  // Packages already in npm's cache are not fetched again: the registry is only asked for new ones.
  npm_config_prefer_offline: 'true',
  ACME_API_KEY: ACME_KEY,
  SENDGRID_API_KEY: SENDGRID_KEY,
  NO_COLOR: '1',
});

interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// Asynchronous on purpose: the sandbox and the fake vendor answer from this process's event loop.
const run = (cwd: string, command: string, args: readonly string[]): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

const ok = async (cwd: string, command: string, args: readonly string[]): Promise<string> => {
  const result = await run(cwd, command, args);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
};

let tarballs: Map<string, string>;
let sandbox: RunningSandbox;
let vendor: FakeBulkVendor;

beforeAll(async () => {
  mkdirSync(tarballDir, { recursive: true });
  tarballs = packWorkspace(tarballDir);
  [sandbox, vendor] = await Promise.all([
    startSandbox({ startDelayMs: 100, eloqua: false, sendgrid: { apiKey: SENDGRID_KEY } }),
    startFakeBulkVendor({ processingMs: 150 }),
  ]);
});

afterAll(async () => {
  await Promise.all([sandbox?.close(), vendor?.close()]);
  rmSync(work, { recursive: true, force: true });
});

const fileSpec = (name: string): string => {
  const tarball = tarballs.get(name);
  if (tarball === undefined) throw new Error(`no tarball for ${name}`);
  return `file:${tarball}`;
};

/** vitest's summary of a generated package's `npm test`: everything passed, nothing failed. */
const expectGreen = (output: string): void => {
  expect(output).toMatch(/Tests\s+\d+ passed/);
  expect(output).not.toMatch(/failed/);
};

describe('the published packages', () => {
  it('pass publint (strict) and arethetypeswrong', () => {
    const failures = [...tarballs].flatMap(([name, tarball]) =>
      checkTarball(tarball)
        .filter((check) => !check.ok)
        .map((check) => `${name}: ${check.tool}\n${check.output}`),
    );
    expect(failures).toEqual([]);
    expect([...tarballs.keys()].sort()).toEqual([
      '@ferry/core',
      '@ferry/plugin-eloqua',
      '@ferry/plugin-memory',
      '@ferry/plugin-sendgrid',
      '@ferry/sandbox',
      '@ferry/sync-runner',
      'create-ferry-destination',
    ]);
  });

  it('install with npm, scaffold a plugin that passes its tests, and sync with it by package name', async () => {
    // 1. A user's project: the runner from npm (here: its tarball, and ours for its @ferry dependencies).
    mkdirSync(app);
    const ours = Object.fromEntries([...tarballs.keys()].map((name) => [name, fileSpec(name)]));
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'acme-sync',
          private: true,
          type: 'module',
          dependencies: { '@ferry/sync-runner': fileSpec('@ferry/sync-runner') },
          overrides: ours,
        },
        null,
        2,
      ),
    );
    await ok(app, 'npm', ['install']);

    // 2. `ferry create destination`, outside any workspace.
    const created = await ok(app, 'npx', [
      'ferry',
      'create',
      'destination',
      'acme',
      '--template',
      'bulk-json',
      '--package-name',
      PLUGIN,
      '--dir',
      pluginDir,
      '--yes',
    ]);
    expect(created).toContain(`Created ${PLUGIN} (bulk-json)`);

    // 3. The scaffolded package as its author gets it: install, typecheck, its own tests, build, pack.
    const manifestPath = join(pluginDir, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    expect(manifest.peerDependencies).toEqual({ '@ferry/core': '^0.1.0' });
    manifest.devDependencies['@ferry/core'] = fileSpec('@ferry/core');
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    await ok(pluginDir, 'npm', ['install']);
    await ok(pluginDir, 'npm', ['run', 'typecheck']);
    const tested = await ok(pluginDir, 'npm', ['test']);
    expectGreen(tested);
    await ok(pluginDir, 'npm', ['run', 'build']);
    const packed = JSON.parse(
      await ok(pluginDir, 'npm', ['pack', '--json', '--pack-destination', tarballDir]),
    ) as {
      filename: string;
    }[];
    const pluginTarball = join(tarballDir, packed[0]?.filename ?? '');
    expect(checkTarball(pluginTarball).filter((check) => !check.ok)).toEqual([]);

    // 4. The user installs the plugin and configures it by package name, next to a built-in.
    await ok(app, 'npm', ['install', pluginTarball]);
    writeFileSync(
      join(app, 'people.csv'),
      'id,email,first_name,score\np1,ada@example.com,Ada,42\np2,grace@example.com,Grace,7.5\np3,katherine@example.com,Katherine,0\n',
    );
    const polling = { polling: { initialIntervalMs: 100, maxIntervalMs: 300 } };
    writeFileSync(
      join(app, 'ferry.config.json'),
      JSON.stringify(
        {
          source: { type: 'csv', path: './people.csv', idColumn: 'id' },
          destinations: {
            acme: {
              plugin: PLUGIN,
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's environment syntax
              options: { baseUrl: vendor.url, account: 'packaging', apiKey: '${ACME_API_KEY}' },
              identity: 'email',
              fields: {
                email: 'email',
                firstName: 'first_name',
                score: { column: 'score', transform: 'number' },
              },
              ...polling,
            },
            sendgrid: {
              plugin: 'sendgrid',
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's environment syntax
              options: { baseUrl: sandbox.sendgrid?.url, apiKey: '${SENDGRID_API_KEY}' },
              identity: 'email',
              fields: { email: 'email', first_name: 'first_name' },
              ...polling,
            },
          },
        },
        null,
        2,
      ),
    );

    const plugins = JSON.parse(await ok(app, 'npx', ['ferry', 'plugins', '--json']));
    expect(plugins.destinations).toEqual([
      expect.objectContaining({
        destination: 'acme',
        source: 'package',
        package: PLUGIN,
        version: '0.1.0',
        name: 'acme',
      }),
      expect.objectContaining({
        destination: 'sendgrid',
        source: 'builtin',
        package: '@ferry/plugin-sendgrid',
        version: '0.1.0',
      }),
    ]);

    const verify = await run(app, 'npx', ['ferry', 'verify']);
    expect(verify.status, `${verify.stdout}${verify.stderr}`).toBe(0);
    expect(verify.stdout).toContain('ok    acme (acme)');
    expect(verify.stdout).toContain('ok    sendgrid (sendgrid)');

    const sync = await run(app, 'npx', ['ferry', 'sync', '--json']);
    expect(sync.status, `${sync.stdout}${sync.stderr}`).toBe(0);
    const summary = JSON.parse(sync.stdout);
    expect(summary).toMatchObject({ status: 'completed', exitCode: 0 });
    for (const destination of summary.destinations) {
      expect(destination, JSON.stringify(destination)).toMatchObject({
        exported: 3,
        rejected: 0,
        pending: 0,
      });
    }
    // What the vendors hold, read back from them: typed values arrived as numbers.
    expect(
      vendor.contacts('packaging', ['ada@example.com', 'grace@example.com', 'katherine@example.com']),
    ).toEqual({
      'ada@example.com': { fields: { email: 'ada@example.com', firstName: 'Ada', score: 42 }, lists: [] },
      'grace@example.com': {
        fields: { email: 'grace@example.com', firstName: 'Grace', score: 7.5 },
        lists: [],
      },
      'katherine@example.com': {
        fields: { email: 'katherine@example.com', firstName: 'Katherine', score: 0 },
        lists: [],
      },
    });
    // No secret in anything the CLI printed.
    for (const output of [verify.stdout, verify.stderr, sync.stdout, sync.stderr]) {
      expect(output).not.toContain(ACME_KEY);
      expect(output).not.toContain(SENDGRID_KEY);
    }
  });

  it('scaffold the other two templates with the npm create bin; each passes its own tests', async () => {
    // `npm create ferry-destination` runs this bin; the runner's install already has it.
    const results = await Promise.all(
      (['bulk-csv', 'batch'] as const).map(async (template) => {
        const dir = join(work, `plugin-${template}`);
        await ok(app, 'npx', [
          'create-ferry-destination',
          `acme-${template}`,
          '--template',
          template,
          '--dir',
          dir,
          '--core',
          fileSpec('@ferry/core'),
          '--yes',
        ]);
        await ok(dir, 'npm', ['install']);
        await ok(dir, 'npm', ['run', 'typecheck']);
        return ok(dir, 'npm', ['test']);
      }),
    );
    for (const output of results) expectGreen(output);
  });
});
