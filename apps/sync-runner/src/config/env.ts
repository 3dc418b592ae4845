import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { ConfigIssue } from './errors.ts';

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedEnv {
  /** The config tree with every reference replaced by its value. */
  readonly value: unknown;
  /** One per reference that could not be resolved, naming the key and the variable. */
  readonly issues: readonly ConfigIssue[];
  /** Every value substituted from the environment, with the path of the key it went into. */
  readonly substitutions: readonly EnvSubstitution[];
}

export interface EnvSubstitution {
  readonly path: readonly (string | number)[];
  readonly value: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `$${` is a literal `${`; `${NAME}` or `${NAME:-default}` a reference.
const INTERPOLATION = /\$\$\{|\$\{([^}]*)\}/g;

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/** `{ env: 'NAME' }` and nothing else: any other object is data, even with an `env` key. */
const isReference = (value: Record<string, unknown>): value is { env: string } => {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'env' && typeof value.env === 'string';
};

const pathText = (path: readonly (string | number)[]): string =>
  path.length === 0 ? '(root)' : path.join('.');

/**
 * Replaces environment references throughout a config tree: objects `{ env: 'NAME' }` and
 * `${NAME}` / `${NAME:-default}` inside strings. A variable that is unset or empty is an error (use
 * `${NAME:-}` to allow empty); messages name the key and the variable, never a value.
 */
export const resolveEnvReferences = (tree: unknown, env: Env): ResolvedEnv => {
  const issues: ConfigIssue[] = [];
  const substitutions: EnvSubstitution[] = [];

  const lookup = (name: string, path: readonly (string | number)[]): string | undefined => {
    const value = env[name];
    if (value === undefined || value === '') {
      const state = value === undefined ? 'is not set' : 'is empty';
      issues.push({ path: pathText(path), message: `environment variable ${name} ${state}` });
      return undefined;
    }
    substitutions.push({ path, value });
    return value;
  };

  const interpolate = (text: string, path: readonly (string | number)[]): string | undefined => {
    if (!text.includes('${')) return text;
    let failed = false;
    const result = text.replace(INTERPOLATION, (match, inner: string | undefined) => {
      if (inner === undefined) return '${';
      const separator = inner.indexOf(':-');
      const name = separator === -1 ? inner : inner.slice(0, separator);
      if (!NAME.test(name)) {
        issues.push({
          path: pathText(path),
          message: `${JSON.stringify(match)} is not an environment reference (write $\${ for a literal \${)`,
        });
        failed = true;
        return match;
      }
      if (separator !== -1) {
        const value = env[name];
        if (value === undefined || value === '') return inner.slice(separator + 2);
        substitutions.push({ path, value });
        return value;
      }
      const value = lookup(name, path);
      if (value === undefined) failed = true;
      return value ?? '';
    });
    return failed ? undefined : result;
  };

  const walk = (value: unknown, path: readonly (string | number)[]): unknown => {
    if (typeof value === 'string') return interpolate(value, path);
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (!isPlainObject(value)) return value;
    if (isReference(value)) {
      if (!NAME.test(value.env)) {
        issues.push({
          path: pathText(path),
          message: `${JSON.stringify(value.env)} is not an environment variable name`,
        });
        return undefined;
      }
      return lookup(value.env, path);
    }
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = walk(child, [...path, key]);
    return out;
  };

  const value = walk(tree, []);
  return { value, issues, substitutions };
};

/** Variables of a `.env` file (Node's own parser: `KEY=value`, quotes, `#` comments, `export`). */
export const readEnvFile = (path: string): Record<string, string | undefined> =>
  parseEnv(readFileSync(path, 'utf8'));

/**
 * The environment a config is resolved against: the real one, plus the variables of `envFile` where
 * the real environment does not set them (real values win, as with `node --env-file`).
 */
export const mergeEnvFile = (env: Env, envFile: string | undefined): { env: Env; loaded?: string } => {
  if (envFile === undefined || !existsSync(envFile)) return { env };
  const fromFile = readEnvFile(envFile);
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return { env: merged, loaded: envFile };
};
