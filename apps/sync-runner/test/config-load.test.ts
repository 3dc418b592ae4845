// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config's interpolation syntax, tested here
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/index.ts';

const root = mkdtempSync(join(tmpdir(), 'ferry-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The config module by absolute path, so TypeScript configs in temp dirs can import it. */
const CONFIG_MODULE = fileURLToPath(new URL('../src/config/index.ts', import.meta.url));

let dirCount = 0;
/** A fresh directory holding the given files. */
const project = (files: Record<string, string>): string => {
  dirCount += 1;
  const dir = join(root, `project-${dirCount}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
};

const TS_CONFIG = `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE)};

const port: number = 4010;

export default defineConfig({
  source: { type: 'csv', path: './data/contacts.csv', idColumn: 'id', columns: { age: 'number' } },
  destinations: {
    sendgrid: {
      plugin: 'sendgrid',
      options: { apiKey: { env: 'SG_KEY' }, baseUrl: \`http://127.0.0.1:\${port}\` },
      identity: 'email',
      fields: { email: { column: 'email', transform: ['trim', 'lowercase'] }, first_name: 'first' },
    },
  },
});
`;

const JSON_CONFIG = JSON.stringify({
  $schema: './ferry.config.schema.json',
  source: { type: 'jsonl', path: 'contacts.jsonl', idField: 'id' },
  state: { path: 'state/ferry.db' },
  destinations: { mem: { plugin: 'memory', identity: 'email', fields: { email: 'email' } } },
});

const YAML_CONFIG = `# yaml-language-server: $schema=./ferry.config.schema.json
source:
  type: csv
  path: contacts.csv
  delimiter: ";"
  encoding: latin1
  idColumn: id
destinations:
  eloqua:
    plugin: eloqua
    identity: email
    options:
      password: { env: ELOQUA_PASSWORD }
    fields:
      EmailAddress: email
      C_Source: { constant: ferry }
    lists: { add: [newsletter] }
    mode: mirror
    mirror: { maxDeleteFraction: 0.05 }
`;

describe('loadConfig: file types and discovery', () => {
  it('loads ferry.config.ts (types stripped) with defaults applied and paths made absolute', async () => {
    const dir = project({ 'ferry.config.ts': TS_CONFIG });
    const loaded = await loadConfig(undefined, { cwd: dir, env: { SG_KEY: 'SG.test-key' } });
    expect(loaded.path).toBe(join(dir, 'ferry.config.ts'));
    expect(loaded.dir).toBe(dir);
    expect(loaded.config.source).toEqual({
      type: 'csv',
      path: join(dir, 'data/contacts.csv'),
      delimiter: ',',
      encoding: 'utf8',
      idColumn: 'id',
      columns: { age: 'number' },
    });
    expect(loaded.config.state).toEqual({ path: join(dir, '.ferry/state.db') });
    expect(loaded.config.destinations.sendgrid).toEqual({
      plugin: 'sendgrid',
      options: { apiKey: 'SG.test-key', baseUrl: 'http://127.0.0.1:4010' },
      identity: 'email',
      fields: { email: { column: 'email', transform: ['trim', 'lowercase'] }, first_name: 'first' },
      lists: { add: [], remove: [] },
      mode: 'upsert',
      mirror: { maxDeleteFraction: 0.1 },
      retry: { maxAttempts: 5, initialDelayMs: 5000, maxDelayMs: 900_000 },
      polling: { deadlineMinutes: 60, initialIntervalMs: 1000, maxIntervalMs: 60_000 },
    });
    expect(loaded.secrets).toEqual(['SG.test-key']);
  });

  it('loads ferry.config.json', async () => {
    const dir = project({ 'ferry.config.json': JSON_CONFIG });
    const { config } = await loadConfig(undefined, { cwd: dir, env: {} });
    expect(config.source).toEqual({
      type: 'jsonl',
      path: join(dir, 'contacts.jsonl'),
      encoding: 'utf8',
      idField: 'id',
      properties: {},
    });
    expect(config.state.path).toBe(join(dir, 'state/ferry.db'));
    expect(Object.keys(config.destinations)).toEqual(['mem']);
  });

  it('loads ferry.config.yaml and .yml', async () => {
    for (const name of ['ferry.config.yaml', 'ferry.config.yml']) {
      const dir = project({ [name]: YAML_CONFIG });
      const { config } = await loadConfig(undefined, { cwd: dir, env: { ELOQUA_PASSWORD: 'pw' } });
      expect(config.source).toMatchObject({ delimiter: ';', encoding: 'latin1' });
      expect(config.destinations.eloqua).toMatchObject({
        options: { password: 'pw' },
        fields: { EmailAddress: 'email', C_Source: { constant: 'ferry' } },
        lists: { add: ['newsletter'], remove: [] },
        mode: 'mirror',
        mirror: { maxDeleteFraction: 0.05 },
      });
    }
  });

  it('prefers ferry.config.ts, then .json, then .yaml', async () => {
    const all = project({
      'ferry.config.ts': TS_CONFIG,
      'ferry.config.json': JSON_CONFIG,
      'ferry.config.yaml': YAML_CONFIG,
    });
    expect((await loadConfig(undefined, { cwd: all, env: { SG_KEY: 'k' } })).path).toBe(
      join(all, 'ferry.config.ts'),
    );
    const two = project({ 'ferry.config.json': JSON_CONFIG, 'ferry.config.yaml': YAML_CONFIG });
    expect((await loadConfig(undefined, { cwd: two, env: {} })).path).toBe(join(two, 'ferry.config.json'));
  });

  it('loads an explicit path relative to cwd, resolving the config paths against its own directory', async () => {
    const dir = project({ 'configs/prod.yaml': YAML_CONFIG });
    const loaded = await loadConfig('configs/prod.yaml', { cwd: dir, env: { ELOQUA_PASSWORD: 'pw' } });
    expect(loaded.path).toBe(join(dir, 'configs/prod.yaml'));
    expect((loaded.config.source as { path: string }).path).toBe(join(dir, 'configs/contacts.csv'));
  });

  it('sees an edited TypeScript config when loaded again in the same process', async () => {
    const dir = project({ 'ferry.config.ts': TS_CONFIG });
    const first = await loadConfig(undefined, { cwd: dir, env: { SG_KEY: 'k' } });
    expect(first.config.destinations.sendgrid?.identity).toBe('email');
    writeFileSync(
      join(dir, 'ferry.config.ts'),
      TS_CONFIG.replace("identity: 'email'", "identity: 'first_name'"),
    );
    const later = new Date(Date.now() + 5000);
    utimesSync(join(dir, 'ferry.config.ts'), later, later);
    const second = await loadConfig(undefined, { cwd: dir, env: { SG_KEY: 'k' } });
    expect(second.config.destinations.sendgrid?.identity).toBe('first_name');
  });

  it('keeps the SQLite in-memory state path as it is', () => {
    const { config } = parseConfig(
      {
        source: { type: 'csv', path: 'x.csv', idColumn: 'id' },
        state: { path: ':memory:' },
        destinations: { m: { plugin: 'memory', identity: 'id' } },
      },
      { env: {}, dir: '/somewhere' },
    );
    expect(config.state.path).toBe(':memory:');
    expect((config.source as { path: string }).path).toBe('/somewhere/x.csv');
  });
});

describe('loadConfig: environment', () => {
  const config = (options: Record<string, unknown>, path = 'contacts.csv') =>
    JSON.stringify({
      source: { type: 'csv', path, idColumn: 'id' },
      destinations: { d: { plugin: 'memory', identity: 'email', options } },
    });

  it('resolves { env } references and ${VAR} interpolation anywhere, with defaults and escapes', async () => {
    const dir = project({
      'ferry.config.json': config(
        {
          key: { env: 'API_KEY' },
          url: 'https://${HOST}/v3',
          region: '${REGION:-eu}',
          empty: '${UNSET_OK:-}',
          literal: 'price: $${AMOUNT}',
          nested: { list: [{ env: 'API_KEY' }, '${HOST}'] },
          envKeyIsData: { env: 'X', other: 1 },
        },
        '${DATA_DIR}/contacts.csv',
      ),
    });
    const loaded = await loadConfig(undefined, {
      cwd: dir,
      env: { API_KEY: 'k-123', HOST: 'api.example.com', DATA_DIR: '/data' },
    });
    expect(loaded.config.destinations.d?.options).toEqual({
      key: 'k-123',
      url: 'https://api.example.com/v3',
      region: 'eu',
      empty: '',
      literal: 'price: ${AMOUNT}',
      nested: { list: ['k-123', 'api.example.com'] },
      envKeyIsData: { env: 'X', other: 1 },
    });
    expect((loaded.config.source as { path: string }).path).toBe('/data/contacts.csv');
    // What went into options may be secret; a directory in source.path is not.
    expect([...loaded.secrets].sort()).toEqual(['api.example.com', 'k-123']);
  });

  it('reads .env next to the config; real environment variables win', async () => {
    const dir = project({
      'ferry.config.json': config({ a: { env: 'FROM_FILE' }, b: { env: 'IN_BOTH' } }),
      '.env': '# comment\nFROM_FILE=file-value\nIN_BOTH="from file"\nexport QUOTED=\'x y\'\n',
    });
    const loaded = await loadConfig(undefined, { cwd: dir, env: { IN_BOTH: 'from environment' } });
    expect(loaded.config.destinations.d?.options).toEqual({ a: 'file-value', b: 'from environment' });
    expect(loaded.envFile).toBe(join(dir, '.env'));
  });

  it('reads an explicit env file relative to cwd, or none with envFile: false', async () => {
    const dir = project({
      'ferry.config.json': config({ a: { env: 'FROM_FILE' } }),
      '.env': 'FROM_FILE=default-file\n',
      'secrets/prod.env': 'FROM_FILE=prod-file\n',
    });
    const explicit = await loadConfig(undefined, { cwd: dir, env: {}, envFile: 'secrets/prod.env' });
    expect(explicit.config.destinations.d?.options).toEqual({ a: 'prod-file' });
    await expect(loadConfig(undefined, { cwd: dir, env: {}, envFile: false })).rejects.toThrow(
      'environment variable FROM_FILE is not set',
    );
  });

  it('with the default environment, puts .env variables into process.env for TypeScript configs', async () => {
    const name = `FERRY_TEST_${process.pid}_${Date.now()}`;
    const dir = project({
      'ferry.config.ts': `import { defineConfig } from ${JSON.stringify(CONFIG_MODULE)};
export default defineConfig({
  source: { type: 'csv', path: 'c.csv', idColumn: 'id' },
  destinations: { d: { plugin: 'memory', identity: 'email', options: { direct: process.env.${name} ?? 'unset' } } },
});
`,
      '.env': `${name}=from-dotenv\n`,
    });
    try {
      const loaded = await loadConfig(undefined, { cwd: dir });
      expect(loaded.config.destinations.d?.options).toEqual({ direct: 'from-dotenv' });
      expect(process.env[name]).toBe('from-dotenv');
    } finally {
      delete process.env[name];
    }
  });

  it('never modifies an env object it was given', async () => {
    const dir = project({
      'ferry.config.json': config({ a: { env: 'FROM_FILE' } }),
      '.env': 'FROM_FILE=x\n',
    });
    const env = { OTHER: '1' };
    await loadConfig(undefined, { cwd: dir, env });
    expect(env).toEqual({ OTHER: '1' });
  });
});
