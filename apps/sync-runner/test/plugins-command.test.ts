import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CONTRACT_VERSION } from '@ferry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { pluginsCommand } from '../src/cli/commands/plugins.ts';
import type { CommandIO } from '../src/cli/io.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-plugins-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const commandIO = (): { io: CommandIO; out: () => string; err: () => string } => {
  let out = '';
  let err = '';
  const stdout = new PassThrough().on('data', (chunk) => {
    out += String(chunk);
  });
  const stderr = new PassThrough().on('data', (chunk) => {
    err += String(chunk);
  });
  return {
    io: { stdout, stderr, cwd: dir, env: {}, signal: new AbortController().signal },
    out: () => out,
    err: () => err,
  };
};

const writeConfig = (destinations: Record<string, unknown>): string => {
  const file = join(dir, `ferry.config.${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({ source: { type: 'csv', path: './people.csv', idColumn: 'id' }, destinations }),
  );
  return file;
};

const mem = (extra: Record<string, unknown> = {}) => ({
  plugin: 'memory',
  options: { apiKey: 'memory-key-123', limits: { maxProfilesPerJob: 500 }, ...extra },
  identity: 'email',
  fields: { email: 'email' },
});

describe('ferry plugins', () => {
  it('lists what each destination resolves to: name, package, version, capabilities, limits', async () => {
    const pathPlugin = join(import.meta.dirname, 'fixtures', 'plugins', 'path-plugin.ts');
    const config = writeConfig({
      crm: mem(),
      local: { plugin: pathPlugin, options: {}, identity: 'email', fields: { email: 'email' } },
    });
    const run = commandIO();
    expect(await pluginsCommand({ config, json: true }, run.io)).toBe(0);
    const document = JSON.parse(run.out());
    expect(document).toMatchObject({ command: 'plugins', exitCode: 0 });
    expect(document.destinations).toEqual([
      expect.objectContaining({
        destination: 'crm',
        plugin: 'memory',
        name: 'memory',
        source: 'builtin',
        package: '@ferry/plugin-memory',
        version: expect.stringMatching(/^\d+\.\d+\.\d+/),
        contractVersion: CONTRACT_VERSION,
        capabilities: { delete: true, lists: true, callbacks: false },
        limits: expect.objectContaining({ maxProfilesPerJob: 500, maxJobsInFlight: 4 }),
      }),
      expect.objectContaining({
        destination: 'local',
        name: 'path-plugin',
        source: 'path',
        file: pathPlugin,
      }),
    ]);

    const table = commandIO();
    expect(await pluginsCommand({ config }, table.io)).toBe(0);
    const lines = table.out().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^destination\s+plugin\s+package\s+version\s+contract\s+capabilities\s+limits$/);
    expect(lines[1]).toMatch(
      /^crm\s+memory \(Memory \(in-process\)\)\s+@ferry\/plugin-memory \(built-in\)\s+\d+\.\d+\.\d+\s+1\.\d+\.\d+\s+upsert, delete, lists\s+500 profiles\/job, 5 MiB\/job, 4 in flight$/,
    );
  });

  it('exits 1 naming options that do not parse, without printing secrets', async () => {
    const config = writeConfig({ crm: mem({ limits: { maxProfilesPerJob: -1 } }) });
    const run = commandIO();
    expect(await pluginsCommand({ config }, run.io)).toBe(1);
    expect(run.out()).toContain('options invalid');
    expect(run.err()).toContain('[ferry] [crm]');
    expect(run.err()).toContain('maxProfilesPerJob');
    expect(`${run.out()}${run.err()}`).not.toContain('memory-key-123');
  });

  it('exits 1 with the install command when a plugin package is missing', async () => {
    const config = writeConfig({ crm: { ...mem(), plugin: '@acme/ferry-plugin-nowhere' } });
    const run = commandIO();
    expect(await pluginsCommand({ config }, run.io)).toBe(1);
    expect(run.err()).toContain('install it there: npm install @acme/ferry-plugin-nowhere');
  });
});
