import { existsSync, readFileSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { basename, dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Env, mergeEnvFile, resolveEnvReferences } from './env.ts';
import { type ConfigIssue, ConfigLoadError, configErrorMap, flattenIssues } from './errors.ts';
import { configSchema, type FerryConfig } from './schema.ts';

/** Looked for in this order in the working directory when no path is given. */
export const CONFIG_FILE_NAMES = [
  'ferry.config.ts',
  'ferry.config.mts',
  'ferry.config.js',
  'ferry.config.mjs',
  'ferry.config.json',
  'ferry.config.yaml',
  'ferry.config.yml',
] as const;

export interface LoadConfigOptions {
  /** Where relative config paths and the default search start; default `process.cwd()`. */
  readonly cwd?: string;
  /**
   * Variables for environment references; default `process.env`. When left to the default, the
   * `.env` variables are also put into `process.env` (where unset) before a TypeScript or JavaScript
   * config runs, so `process.env.X` works there too. A given object is never modified.
   */
  readonly env?: Env;
  /**
   * `.env` file to read, relative to `cwd`; it must exist. Default: `.env` next to the config file,
   * if there is one. `false`: read none.
   */
  readonly envFile?: string | false;
}

export interface LoadedConfig {
  /** Validated, defaults applied, environment references resolved, `source.path` and `state.path` absolute. */
  readonly config: FerryConfig;
  /** The config file, absolute. */
  readonly path: string;
  /** Its directory: relative paths in the config are relative to it. */
  readonly dir: string;
  /** The `.env` file that was read, if any. */
  readonly envFile?: string;
  /**
   * The values destination options (and `state`) took from the environment. Treat them as secrets:
   * redact them from logs, errors and reports, on top of the options plugins mark `secret(...)`.
   * Values elsewhere (a `${DATA_DIR}` in `source.path`) are not included: redacting a directory
   * name would garble every message that mentions the file.
   */
  readonly secrets: readonly string[];
}

export interface ParseConfigOptions {
  /** Variables for environment references; default `process.env`. */
  readonly env?: Env;
  /** Named in error messages. */
  readonly file?: string;
  /** Base of relative paths; default `process.cwd()`. */
  readonly dir?: string;
}

/** The first config file found in `dir`, absolute, or undefined. */
export const findConfigFile = (dir: string): string | undefined => {
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = resolve(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
};

const lineColumn = (text: string, position: number): string => {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
};

/**
 * V8 sometimes quotes the input in its JSON errors (`Unexpected token 'x', "{...}" is not valid JSON`);
 * the file may hold a secret, so only the description and the position are kept.
 */
const parseJson = (text: string, file: string): unknown => {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const description = message.split(/ in JSON|, "/)[0] ?? 'invalid JSON';
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined ? '' : ` at ${lineColumn(text, Number(position))}`;
    throw new ConfigLoadError(file, 'invalid JSON', [{ path: '(root)', message: `${description}${where}` }]);
  }
};

/** The `yaml` package prints a code frame of the offending line: again only description and position. */
const parseYaml = async (text: string, file: string): Promise<unknown> => {
  // Loaded only for YAML configs: 70-odd modules every other command would pay for at start-up.
  const { default: YAML } = await import('yaml');
  const document = YAML.parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const issues: ConfigIssue[] = document.errors.map((error) => {
      const description = error.message.split(' at line ')[0] ?? error.code;
      const position = error.linePos?.[0];
      const where = position === undefined ? '' : ` at line ${position.line}, column ${position.col}`;
      return { path: '(root)', message: `${description}${where}` };
    });
    throw new ConfigLoadError(file, 'invalid YAML', issues);
  }
  return document.toJS();
};

let selfResolution: 'pending' | 'registered' | 'unavailable' = 'pending';

/**
 * A config outside any project that has `@ferry/sync-runner` installed (a scratch directory, a
 * global `ferry`) cannot resolve its `import { defineConfig } from '@ferry/sync-runner'`. For that
 * case only — normal resolution is tried first — the import is pointed at the running ferry.
 */
const ensureSelfResolution = (): void => {
  if (selfResolution !== 'pending') return;
  selfResolution = 'unavailable';
  let self: string;
  try {
    self = import.meta.resolve('@ferry/sync-runner');
  } catch {
    return;
  }
  // module.registerHooks exists from Node 22.15 / 23.5; a TypeScript config needs a newer Node anyway.
  nodeModule.registerHooks?.({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        if (specifier !== '@ferry/sync-runner') throw error;
        return { url: self, shortCircuit: true };
      }
    },
  });
  selfResolution = 'registered';
};

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

/** Runs a TypeScript or JavaScript config and returns its default export. */
const importConfig = async (file: string): Promise<unknown> => {
  ensureSelfResolution();
  // Modification time and size in the URL make a re-load in the same process see an edited file
  // (modules are cached by URL). Digits only: a dot would read as a file extension to some loaders.
  const stat = statSync(file);
  const url = `${pathToFileURL(file).href}?v=${Math.round(stat.mtimeMs)}-${stat.size}`;
  let module: { default?: unknown };
  try {
    module = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new ConfigLoadError(file, `cannot load ${basename(file)}: ${firstLine(error)}`, [], error);
  }
  if (module.default === undefined) {
    throw new ConfigLoadError(
      file,
      `${basename(file)} has no default export: write \`export default defineConfig({ ... })\``,
    );
  }
  return module.default;
};

/** Reads a config file into plain data, by extension. */
const readRawConfig = async (file: string): Promise<unknown> => {
  const extension = extname(file).toLowerCase();
  switch (extension) {
    case '.ts':
    case '.mts':
    case '.js':
    case '.mjs':
      return importConfig(file);
    case '.json':
      return parseJson(readFileSync(file, 'utf8'), file);
    case '.yaml':
    case '.yml':
      return await parseYaml(readFileSync(file, 'utf8'), file);
    default:
      throw new ConfigLoadError(
        file,
        `unsupported config file type ${JSON.stringify(extension)}: use .ts, .json or .yaml`,
      );
  }
};

const resolvePaths = (config: FerryConfig, dir: string): FerryConfig => ({
  ...config,
  source:
    'path' in config.source ? { ...config.source, path: resolve(dir, config.source.path) } : config.source,
  // `:memory:` is SQLite's in-memory database, not a file name.
  state: {
    ...config.state,
    path: config.state.path === ':memory:' ? ':memory:' : resolve(dir, config.state.path),
  },
});

const isUnder = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`);

/**
 * Validates config data (as read from any file type, or built in code): resolves environment
 * references, applies defaults, makes paths absolute. Throws a `ConfigLoadError` listing every issue.
 */
export const parseConfig = (
  raw: unknown,
  options: ParseConfigOptions = {},
): { readonly config: FerryConfig; readonly secrets: readonly string[] } => {
  const env = options.env ?? process.env;
  const resolved = resolveEnvReferences(raw, env);
  const result = configSchema.safeParse(resolved.value, { error: configErrorMap, reportInput: false });
  // A reference that failed leaves its key empty: its own message says why, the schema's would not.
  const schemaIssues = result.success
    ? []
    : flattenIssues(result.error.issues).filter(
        (issue) => !resolved.issues.some((envIssue) => isUnder(issue.path, envIssue.path)),
      );
  const issues = [...resolved.issues, ...schemaIssues];
  if (issues.length > 0 || !result.success) {
    throw new ConfigLoadError(options.file, 'invalid configuration', issues);
  }
  const secrets = new Set<string>();
  for (const { path, value } of resolved.substitutions) {
    if (
      (path[0] === 'destinations' && path[2] === 'options') ||
      (path[0] === 'source' && path[1] === 'options') ||
      path[0] === 'state' ||
      (path[0] === 'service' && path.at(-1) === 'secret')
    )
      secrets.add(value);
  }
  return { config: resolvePaths(result.data, options.dir ?? process.cwd()), secrets: [...secrets] };
};

const locate = (path: string | undefined, cwd: string): string => {
  if (path !== undefined) {
    const file = isAbsolute(path) ? path : resolve(cwd, path);
    if (!existsSync(file)) throw new ConfigLoadError(file, `config file not found: ${file}`);
    return file;
  }
  const found = findConfigFile(cwd);
  if (found === undefined) {
    throw new ConfigLoadError(
      undefined,
      `no config file in ${cwd} (looked for ${CONFIG_FILE_NAMES.join(', ')}); run \`ferry init\` to create one`,
    );
  }
  return found;
};

/**
 * Finds, reads and validates the config. `path` is relative to `cwd`; without it the first of
 * `CONFIG_FILE_NAMES` in `cwd` is used. A `.env` file next to the config is read too, real
 * environment variables taking precedence. Throws a `ConfigLoadError` (core's `ConfigError`).
 */
export const loadConfig = async (path?: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> => {
  const cwd = resolve(options.cwd ?? process.cwd());
  const file = locate(path, cwd);
  const dir = dirname(file);

  let envFile: string | undefined;
  if (options.envFile === undefined) envFile = resolve(dir, '.env');
  else if (options.envFile !== false) {
    envFile = resolve(cwd, options.envFile);
    if (!existsSync(envFile)) throw new ConfigLoadError(file, `.env file not found: ${envFile}`);
  }
  const merged = mergeEnvFile(options.env ?? process.env, envFile);
  if (options.env === undefined && merged.loaded !== undefined) {
    for (const [key, value] of Object.entries(merged.env)) {
      if (process.env[key] === undefined && value !== undefined) process.env[key] = value;
    }
  }

  const raw = await readRawConfig(file);
  const { config, secrets } = parseConfig(raw, { env: merged.env, file, dir });
  return merged.loaded === undefined
    ? { config, path: file, dir, secrets }
    : { config, path: file, dir, envFile: merged.loaded, secrets };
};
