// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config's interpolation syntax, tested here
// biome-ignore-all lint/suspicious/noExplicitAny: the tests build invalid configs on purpose
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@ferry/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigLoadError, loadConfig, parseConfig } from '../src/config/index.ts';

const root = mkdtempSync(join(tmpdir(), 'ferry-config-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const CONFIG_MODULE = fileURLToPath(new URL('../src/config/index.ts', import.meta.url));

let dirCount = 0;
const project = (files: Record<string, string>): string => {
  dirCount += 1;
  const dir = join(root, `project-${dirCount}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
};

const SECRET = 'sk-live-THIS-MUST-NEVER-BE-PRINTED';

const valid = () => ({
  source: { type: 'csv', path: 'contacts.csv', idColumn: 'id' },
  destinations: {
    sendgrid: {
      plugin: 'sendgrid',
      identity: 'email',
      options: { apiKey: { env: 'SENDGRID_API_KEY' } },
      fields: { email: 'email', first_name: 'first_name' },
    },
  },
});

/** The error `parseConfig` throws for `raw`. */
const errorOf = (
  raw: unknown,
  env: Record<string, string> = { SENDGRID_API_KEY: SECRET },
): ConfigLoadError => {
  try {
    parseConfig(raw, { env, file: '/project/ferry.config.json' });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigLoadError);
    return error as ConfigLoadError;
  }
  throw new Error('expected the config to be refused');
};

const lines = (error: ConfigLoadError): string[] =>
  error.issues.map((issue) => `${issue.path}: ${issue.message}`);

const loadError = async (dir: string, env: Record<string, string> = {}): Promise<ConfigLoadError> => {
  try {
    await loadConfig(undefined, { cwd: dir, env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigLoadError);
    return error as ConfigLoadError;
  }
  throw new Error('expected the config to be refused');
};

describe('config errors name the key and the problem', () => {
  it('is a core ConfigError listing every issue, with the file', () => {
    const raw = valid();
    (raw.destinations.sendgrid.fields as Record<string, unknown>).first_name = 42;
    (raw.source as Record<string, unknown>).idColumn = undefined;
    const error = errorOf(raw);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.kind).toBe('config');
    expect(error.file).toBe('/project/ferry.config.json');
    expect(error.message).toBe(
      '[ferry] [config] invalid configuration in /project/ferry.config.json:\n' +
        '  - source.idColumn: required (expected string)\n' +
        '  - destinations.sendgrid.fields.first_name: expected a column name, { column, transform?, format? } or { constant }, received number',
    );
  });

  it('reports wrong types, unknown keys, bad enum values and bounds', () => {
    const raw = valid() as Record<string, any>;
    raw.source.delimiter = ';;';
    raw.source.encoding = 'ascii';
    raw.destinations.sendgrid.mode = 'sync';
    raw.destinations.sendgrid.feilds = {};
    raw.destinations.sendgrid.mirror = { maxDeleteFraction: 2 };
    raw.destinations.sendgrid.concurrency = 0;
    raw.destinations.sendgrid.lists = { add: 'newsletter' };
    raw.extra = true;
    expect(lines(errorOf(raw))).toEqual([
      'source.delimiter: expected exactly one character',
      'source.encoding: expected one of "utf8"|"latin1"|"utf16le"',
      'destinations.sendgrid.lists.add: expected array, received string',
      'destinations.sendgrid.mode: expected one of "upsert"|"mirror"',
      'destinations.sendgrid.mirror.maxDeleteFraction: expected number to be <=1',
      'destinations.sendgrid.concurrency: expected number to be >0',
      'destinations.sendgrid.feilds: unknown key',
      'extra: unknown key',
    ]);
  });

  it('points into field mappings: transforms, format, constants', () => {
    const raw = valid() as Record<string, any>;
    raw.destinations.sendgrid.fields = {
      email: { column: 'email', transform: 'rot13' },
      name: { column: 'name', transform: ['trim', 'titlecase'] },
      since: { column: 'since', format: 'iso' },
      source: { constant: ['a'] },
      __proto__: 'x',
    };
    expect(lines(errorOf(raw))).toEqual([
      'destinations.sendgrid.fields.email.transform: expected one of "trim"|"lowercase"|"uppercase"|"date"|"number"|"boolean"',
      'destinations.sendgrid.fields.name.transform.1: expected one of "trim"|"lowercase"|"uppercase"|"date"|"number"|"boolean"',
      'destinations.sendgrid.fields.since.format: `format` applies to the `date` transform only',
      'destinations.sendgrid.fields.source.constant: expected a string, number, boolean or null, received array',
    ]);
  });

  it('reports the source type, destination names and an empty destination list', () => {
    expect(lines(errorOf({ source: { type: 'xml', path: 'a' }, destinations: {} }))).toEqual([
      "source.type: Invalid discriminator value. Expected 'csv' | 'jsonl' | 'export'",
      'destinations: expected at least one destination',
    ]);
    const raw = valid() as Record<string, any>;
    raw.destinations['my destination'] = raw.destinations.sendgrid;
    expect(lines(errorOf(raw))).toEqual([
      'destinations.my destination: invalid name: destination names use letters, digits, - and _',
    ]);
    expect(lines(errorOf([]))).toEqual(['(root): expected object, received array']);
  });

  it('checks that polling and retry intervals are ordered', () => {
    const raw = valid() as Record<string, any>;
    raw.destinations.sendgrid.polling = { initialIntervalMs: 5000, maxIntervalMs: 1000 };
    raw.destinations.sendgrid.retry = { initialDelayMs: 10, maxDelayMs: 1 };
    expect(lines(errorOf(raw))).toEqual([
      'destinations.sendgrid.polling.initialIntervalMs: initialIntervalMs must not exceed maxIntervalMs',
      'destinations.sendgrid.retry.initialDelayMs: initialDelayMs must not exceed maxDelayMs',
    ]);
  });
});

describe('environment errors name the key and the variable', () => {
  it('reports unset and empty variables once each, without a second schema error', () => {
    const raw = valid() as Record<string, any>;
    raw.destinations.sendgrid.options.region = '${REGION}';
    raw.source.path = { env: 'DATA_FILE' };
    expect(lines(errorOf(raw, { REGION: '' }))).toEqual([
      'source.path: environment variable DATA_FILE is not set',
      'destinations.sendgrid.options.apiKey: environment variable SENDGRID_API_KEY is not set',
      'destinations.sendgrid.options.region: environment variable REGION is empty',
    ]);
  });

  it('reports references that are not variable names', () => {
    const raw = valid() as Record<string, any>;
    raw.destinations.sendgrid.options.url = 'https://${api-host}/';
    raw.destinations.sendgrid.options.token = { env: 'not a name' };
    expect(lines(errorOf(raw))).toEqual([
      'destinations.sendgrid.options.url: "${api-host}" is not an environment reference (write $${ for a literal ${)',
      'destinations.sendgrid.options.token: "not a name" is not an environment variable name',
    ]);
  });
});

describe('files that cannot be read', () => {
  it('says when there is no config, or the given file is missing', async () => {
    const empty = project({});
    const none = await loadError(empty);
    expect(none.message).toContain(`no config file in ${empty}`);
    expect(none.message).toContain('ferry init');
    await expect(loadConfig('custom.yaml', { cwd: empty })).rejects.toThrow(
      `config file not found: ${join(empty, 'custom.yaml')}`,
    );
    await expect(loadConfig(undefined, { cwd: empty, envFile: 'nope.env' })).rejects.toThrow(ConfigLoadError);
  });

  it('refuses other file types and a missing explicit env file', async () => {
    const dir = project({ 'ferry.toml': '', 'ferry.config.json': JSON.stringify(valid()) });
    await expect(loadConfig('ferry.toml', { cwd: dir })).rejects.toThrow(
      'unsupported config file type ".toml"',
    );
    await expect(loadConfig(undefined, { cwd: dir, env: {}, envFile: 'missing.env' })).rejects.toThrow(
      `.env file not found: ${join(dir, 'missing.env')}`,
    );
  });

  it('reports invalid JSON by position, without quoting the file', async () => {
    const dir = project({ 'ferry.config.json': `{\n  "apiKey": "${SECRET}" x\n}` });
    const error = await loadError(dir);
    expect(lines(error)).toEqual(["(root): Expected ',' or '}' after property value at line 2, column 50"]);
    expect(error.message).not.toContain(SECRET);
    const quoting = await loadError(project({ 'ferry.config.json': `{"k": ${SECRET}}` }));
    expect(quoting.message).not.toContain(SECRET);
  });

  it('reports invalid YAML by position, without quoting the file', async () => {
    const dir = project({ 'ferry.config.yaml': `source:\n  apiKey: ${SECRET}: nested: bad\n` });
    const error = await loadError(dir);
    expect(error.message).toContain('invalid YAML');
    expect(error.issues[0]?.message).toMatch(/at line 2, column \d+$/);
    expect(error.message).not.toContain(SECRET);
  });

  it('reports a TypeScript config that throws or has no default export', async () => {
    const throws = await loadError(
      project({ 'ferry.config.ts': "throw new Error('boom');\nexport default {};\n" }),
    );
    expect(throws.message).toBe('[ferry] [config] cannot load ferry.config.ts: boom');
    expect(throws.cause).toBeInstanceOf(Error);
    const noDefault = await loadError(
      project({
        'ferry.config.ts': `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE)};\nexport const config = 1;\n`,
      }),
    );
    expect(noDefault.message).toContain(
      'ferry.config.ts has no default export: write `export default defineConfig({ ... })`',
    );
  });

  it('validates a TypeScript config like any other', async () => {
    const dir = project({
      'ferry.config.ts': `export default { source: { type: 'csv', path: 'a.csv' }, destinations: { d: { plugin: 'memory' } } };\n`,
    });
    expect(lines(await loadError(dir))).toEqual([
      'source.idColumn: required (expected string)',
      'destinations.d.identity: required (expected string)',
    ]);
  });
});

describe('secrets are never echoed', () => {
  it('keeps resolved environment values out of every message', () => {
    const raw = valid() as Record<string, any>;
    // The secret lands where a number is expected, in a list, and next to other errors.
    raw.destinations.sendgrid.concurrency = { env: 'SENDGRID_API_KEY' };
    raw.destinations.sendgrid.lists = { add: '${SENDGRID_API_KEY}' };
    raw.destinations.sendgrid.identity = { env: 'SENDGRID_API_KEY' };
    raw.source.idColumn = 7;
    const error = errorOf(raw);
    expect(error.issues.length).toBeGreaterThan(2);
    expect(error.message).not.toContain(SECRET);
    expect(JSON.stringify(error.issues)).not.toContain(SECRET);
    expect(String(error.stack)).not.toContain(SECRET);
  });

  it('keeps values written in the file out of messages too', () => {
    const raw = valid() as Record<string, any>;
    raw.destinations.sendgrid.mode = SECRET;
    raw.destinations.sendgrid.plugin = { key: SECRET };
    raw.destinations.sendgrid.fields.email = { column: SECRET, transform: SECRET };
    const error = errorOf(raw);
    expect(error.message).not.toContain(SECRET);
  });

  it('returns the substituted values so output can be redacted of them', () => {
    const { secrets } = parseConfig(valid(), { env: { SENDGRID_API_KEY: SECRET } });
    expect(secrets).toEqual([SECRET]);
  });
});
