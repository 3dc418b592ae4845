// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config's interpolation syntax, tested here
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// The sandbox package's own CLI defaults (`pnpm sandbox`), which `ferry sandbox` and the starter follow.
import { DEFAULT_ELOQUA_PORT, DEFAULT_SENDGRID_PORT } from '../../../packages/sandbox/src/cli.ts';
import {
  DEFAULT_SANDBOX_ELOQUA_URL,
  DEFAULT_SANDBOX_SENDGRID_URL,
  loadConfig,
  starterConfig,
} from '../src/config/index.ts';

const root = mkdtempSync(join(tmpdir(), 'ferry-starter-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG_MODULE = fileURLToPath(new URL('../src/config/index.ts', import.meta.url));
const PACKAGE_ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const IMPORT_LINE = "import { defineConfig } from '@ferry/sync-runner';";

describe('starterConfig', () => {
  it('imports defineConfig from the package and keeps secrets in the environment', () => {
    const text = starterConfig();
    expect(text).toContain(IMPORT_LINE);
    expect(text).toContain('export default defineConfig({');
    expect(text).toContain("apiKey: '${SENDGRID_API_KEY:-SG.sandbox}'");
    expect(text).toContain(`baseUrl: '\${SENDGRID_BASE_URL:-${DEFAULT_SANDBOX_SENDGRID_URL}}'`);
    expect(starterConfig({ sandboxUrl: 'http://127.0.0.1:9999' })).toContain('http://127.0.0.1:9999');
  });

  it('points at the ports the sandbox listens on by default (Eloqua 4010, SendGrid 4011)', () => {
    expect(new URL(DEFAULT_SANDBOX_ELOQUA_URL).port).toBe(String(DEFAULT_ELOQUA_PORT));
    expect(new URL(DEFAULT_SANDBOX_SENDGRID_URL).port).toBe(String(DEFAULT_SENDGRID_PORT));
    expect(starterConfig()).toContain(`\${ELOQUA_LOGIN_URL:-${DEFAULT_SANDBOX_ELOQUA_URL}}`);
  });

  it('loads as a valid config that writes to the sandbox unless the environment says otherwise', async () => {
    const dir = mkdtempSync(join(root, 'project-'));
    writeFileSync(
      join(dir, 'ferry.config.ts'),
      starterConfig().replace(IMPORT_LINE, `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE)};`),
    );
    const sandbox = await loadConfig(undefined, { cwd: dir, env: {} });
    expect(sandbox.config.source).toMatchObject({
      type: 'csv',
      path: join(dir, 'contacts.csv'),
      idColumn: 'id',
    });
    expect(sandbox.config.destinations.sendgrid).toMatchObject({
      plugin: 'sendgrid',
      identity: 'email',
      mode: 'upsert',
      options: { apiKey: 'SG.sandbox', baseUrl: DEFAULT_SANDBOX_SENDGRID_URL },
    });
    const real = await loadConfig(undefined, {
      cwd: dir,
      env: { SENDGRID_API_KEY: 'SG.real', SENDGRID_BASE_URL: 'https://api.sendgrid.com' },
    });
    expect(real.config.destinations.sendgrid?.options).toEqual({
      apiKey: 'SG.real',
      baseUrl: 'https://api.sendgrid.com',
    });
    expect(real.secrets).toContain('SG.real');
  });

  // Plain Node, outside vitest, from a directory with no node_modules: the way `ferry` runs for a
  // user. `import ... from '@ferry/sync-runner'` must resolve there too (to the running ferry).
  const entryExports =
    existsSync(PACKAGE_ENTRY) && readFileSync(PACKAGE_ENTRY, 'utf8').includes('defineConfig');
  if (!entryExports) {
    console.warn(
      'SKIPPED: src/index.ts does not export defineConfig yet, so the package import cannot be checked',
    );
  }
  it.skipIf(!entryExports)('loads in plain Node from a directory outside the workspace', () => {
    const dir = mkdtempSync(join(root, 'outside-'));
    writeFileSync(join(dir, 'ferry.config.ts'), starterConfig());
    const script = `
      const { loadConfig } = await import(${JSON.stringify(CONFIG_MODULE)});
      const { config } = await loadConfig(undefined, { cwd: ${JSON.stringify(dir)}, env: {} });
      process.stdout.write(JSON.stringify(config.destinations.sendgrid.options));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual({ apiKey: 'SG.sandbox', baseUrl: DEFAULT_SANDBOX_SENDGRID_URL });
  });
});
