import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_VERSION, ConfigError } from '@ferry/core';
import { memory } from '@ferry/plugin-memory';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPlugin, loadPluginInfo } from '../src/wiring/load-plugin.ts';
import { plugins } from '../src/wiring/plugins.ts';

// Fake installed packages in a temp folder outside the workspace. They stamp the contract key the way
// their own copy of @ferry/core's defineDestination would, since @ferry/core is not installed there.
const root = mkdtempSync(join(tmpdir(), 'ferry-load-plugin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const destinationSource = (name: string, contract = CONTRACT_VERSION): string => `
const stamp = (value) => Object.defineProperty(value, Symbol.for('ferry.destination.contract'), { value: ${JSON.stringify(contract)} });
export const make = (name) => stamp({
  name, displayName: name, options: { parse: (v) => v },
  capabilities: { delete: false, lists: false, callbacks: false },
  limits: () => ({ maxProfilesPerJob: 1, maxBytesPerJob: 1024, maxJobsInFlight: 1 }),
  measure: () => 1, verify: async () => ({ ok: true, problems: [] }),
  exportProfiles: async () => ({ job: null, rejected: [] }),
  checkStatus: async () => ({ state: 'completed', outcomes: [] }),
});
export const destination = make(${JSON.stringify(name)});
`;

const installPackage = (
  dir: string,
  name: string,
  files: Record<string, string>,
  manifest: Record<string, unknown> = {},
): void => {
  const packageDir = join(dir, 'node_modules', ...name.split('/'));
  mkdirSync(packageDir, { recursive: true });
  writeFileSync(
    join(packageDir, 'package.json'),
    JSON.stringify({
      name,
      version: '3.1.4',
      type: 'module',
      exports: { '.': { import: './dist/index.js' } },
      ...manifest,
    }),
  );
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(packageDir, file, '..'), { recursive: true });
    writeFileSync(join(packageDir, file), text);
  }
};

const app = join(root, 'app');
const nested = join(app, 'configs', 'prod');
mkdirSync(nested, { recursive: true });
installPackage(app, '@acme/ferry-plugin-hubspot', {
  'dist/index.js': `${destinationSource('hubspot')}export default destination;\n`,
});
installPackage(app, 'ferry-plugin-named', { 'dist/index.js': destinationSource('named') });
installPackage(app, 'ferry-plugin-nothing', {
  'dist/index.js': 'export const helper = () => 1;\nexport const settings = { a: 1, b: 2 };\n',
});
installPackage(app, 'ferry-plugin-unbranded', {
  'dist/index.js':
    'export const hubspot = { name: "x", exportProfiles: async () => ({}), checkStatus: async () => ({}) };\n',
});
installPackage(app, 'ferry-plugin-future', {
  'dist/index.js': `${destinationSource('future', '2.0.0')}export default destination;\n`,
});
installPackage(app, 'ferry-plugin-two', {
  'dist/index.js': `${destinationSource('one')}export const second = make('two');\n`,
});
installPackage(app, 'ferry-plugin-broken', {
  'dist/index.js': 'import "some-dependency-that-is-not-installed";\n',
});
installPackage(app, 'ferry-plugin-no-main', { 'lib/x.js': '' }, { exports: { './x': './lib/x.js' } });

const options = (fromDir: string) => ({ destination: 'crm', fromDir, builtins: plugins });

const configError = async (spec: string, fromDir = app): Promise<ConfigError> => {
  const error = await loadPlugin(spec, options(fromDir)).then(
    () => new Error(`loading ${spec} should have failed`),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
};

describe('loadPlugin', () => {
  it('resolves built-in short names first, with their package and version', async () => {
    expect(await loadPlugin('memory', options(app))).toBe(memory);
    const info = await loadPluginInfo('sendgrid', options(app));
    expect(info).toMatchObject({
      source: 'builtin',
      packageName: '@ferry/plugin-sendgrid',
      contractVersion: CONTRACT_VERSION,
    });
    expect(info.packageVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("loads a package by name from the config's folder, through its exports map", async () => {
    const info = await loadPluginInfo('@acme/ferry-plugin-hubspot', options(app));
    expect(info.destination.name).toBe('hubspot');
    expect(info).toMatchObject({
      source: 'package',
      packageName: '@acme/ferry-plugin-hubspot',
      packageVersion: '3.1.4',
    });
    expect(info.file).toBe(join(app, 'node_modules', '@acme', 'ferry-plugin-hubspot', 'dist', 'index.js'));
  });

  it('finds packages installed in a folder above the config, as Node would', async () => {
    expect((await loadPlugin('@acme/ferry-plugin-hubspot', options(nested))).name).toBe('hubspot');
  });

  it('takes the only destination among named exports, or the one named after #', async () => {
    expect((await loadPlugin('ferry-plugin-named', options(app))).name).toBe('named');
    expect((await loadPlugin('ferry-plugin-two#second', options(app))).name).toBe('two');
    const error = await configError('ferry-plugin-two');
    expect(error.message).toContain('exports 2 destinations (destination, second)');
    expect(error.message).toContain('"ferry-plugin-two#destination"');
  });

  it('loads a module by path relative to the config file, made with defineDestination', async () => {
    const fixtures = join(import.meta.dirname, 'fixtures');
    const info = await loadPluginInfo('./plugins/path-plugin.ts', options(fixtures));
    expect(info).toMatchObject({ source: 'path', contractVersion: CONTRACT_VERSION });
    expect(info.destination.name).toBe('path-plugin');
  });

  it('says a package is not installed, with the install command and the built-ins', async () => {
    const error = await configError('@acme/ferry-plugin-salesforce');
    expect(error.message).toBe(
      `[ferry] [crm] plugin "@acme/ferry-plugin-salesforce" is not installed where the config is (${app}); install it there: npm install @acme/ferry-plugin-salesforce (built-in plugins: eloqua, memory, sendgrid)`,
    );
    expect((await configError('@acme/ferry-plugin-salesforce/sub')).message).toContain(
      'npm install @acme/ferry-plugin-salesforce ',
    );
  });

  it('says what a package exports instead of a destination', async () => {
    const error = await configError('ferry-plugin-nothing');
    expect(error.message).toBe(
      '[ferry] [crm] plugin "ferry-plugin-nothing" exports no destination made with defineDestination; found: helper (function), settings (object with a, b)',
    );
    const unbranded = await configError('ferry-plugin-unbranded');
    expect(unbranded.message).toContain(
      'hubspot looks like a destination but was not made with defineDestination',
    );
    const missingExport = await configError('ferry-plugin-named#nope');
    expect(missingExport.message).toContain('export "nope" is missing; found: destination (object with');
  });

  it('names both contract versions when they are incompatible', async () => {
    const error = await configError('ferry-plugin-future');
    expect(error.message).toContain(
      `plugin "ferry-plugin-future" 3.1.4 was built for destination contract 2.0.0, but this ferry speaks contract ${CONTRACT_VERSION}`,
    );
  });

  it('reports a missing path, a module that fails to load, a package without a main entry and nonsense', async () => {
    expect((await configError('./plugins/nope.js')).message).toContain(
      `no module at ${join(app, 'plugins', 'nope.js')}`,
    );
    const broken = await configError('ferry-plugin-broken');
    expect(broken.message).toContain('plugin "ferry-plugin-broken" failed to load: ');
    expect(broken.message).toContain('some-dependency-that-is-not-installed');
    expect((await configError('ferry-plugin-no-main')).message).toContain(
      'is installed but its package.json exports no main entry',
    );
    expect((await configError('sales force')).message).toContain(
      'is neither a built-in (eloqua, memory, sendgrid), a package name nor a relative path',
    );
  });
});
