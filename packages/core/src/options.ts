import { z } from 'zod';
import { ConfigError } from './errors.ts';

/**
 * Options marked secret: their values are redacted from every error, log line and report. Kept on
 * globalThis under a registered symbol, not in this module: a plugin that ends up with its own copy
 * of @ferry/core (a second version in node_modules) marks its options in the registry the runner's
 * copy reads, so its secrets are still redacted.
 */
const SECRETS_KEY = Symbol.for('ferry.secret-options');
const registries = globalThis as { [SECRETS_KEY]?: z.core.$ZodRegistry<{ secret: true }> };
registries[SECRETS_KEY] ??= z.registry<{ secret: true }>();
const secrets = registries[SECRETS_KEY];

/** Marks an option as secret: `apiKey: secret(z.string())`. */
export const secret = <T extends z.ZodType>(schema: T): T => {
  // zod's `register` signature is conditional on T; a plain ZodType view keeps it simple.
  (schema as z.ZodType).register(secrets, { secret: true });
  return schema;
};

export const isSecretSchema = (schema: z.ZodType): boolean => secrets.has(schema);

const REDACTED = '[redacted]';

/** Wrappers whose inner schema decides what the value is. */
const unwrap = (schema: z.ZodType): z.ZodType => {
  let current = schema;
  for (;;) {
    if (secrets.has(current)) return current;
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
};

/** Walks the parsed value alongside its schema, replacing secret values with what `replace` returns. */
const walk = (schema: z.ZodType, value: unknown, onSecret: (value: unknown) => unknown): unknown => {
  const inner = unwrap(schema);
  if (secrets.has(inner)) return value === undefined ? value : onSecret(value);
  if (value === null || value === undefined) return value;
  const def = inner._zod.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
    options?: readonly z.ZodType[];
  };
  if (def.type === 'union' && def.options) {
    // The value matches one branch; walking each branch only touches the keys that branch declares,
    // so a secret in any branch (e.g. `auth: basic | bearer`) is found.
    return def.options.reduce<unknown>((current, option) => walk(option, current, onSecret), value);
  }
  if (def.type === 'object' && def.shape && typeof value === 'object') {
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [key, child] of Object.entries(def.shape)) {
      if (key in out) out[key] = walk(child, out[key], onSecret);
    }
    return out;
  }
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    return value.map((item) => walk(def.element as z.ZodType, item, onSecret));
  }
  return value;
};

/** Every secret string in parsed options, for the HTTP client and loggers to redact. */
export const collectSecrets = (schema: z.ZodType, value: unknown): string[] => {
  const found: string[] = [];
  walk(schema, value, (v) => {
    if (typeof v === 'string' && v.length > 0) found.push(v);
    return v;
  });
  return found;
};

/** A copy of the options that is safe to print: secret values replaced by `[redacted]`. */
export const redactOptions = <T>(schema: z.ZodType, value: T): T => walk(schema, value, () => REDACTED) as T;

/** `apiKey: Invalid input: expected string, received undefined; listIds.0: ...` */
export const formatZodIssues = (error: z.ZodError): string =>
  error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(options)'}: ${issue.message}`)
    .join('; ');

/**
 * Parses raw options against a destination's schema. Errors name the option key and the problem,
 * and never echo the input (it may hold a secret).
 */
export const parseOptions = <S extends z.ZodType>(
  destination: string,
  schema: S,
  raw: unknown,
): z.output<S> => {
  const result = schema.safeParse(raw, { reportInput: false });
  if (!result.success)
    throw new ConfigError(destination, `invalid options: ${formatZodIssues(result.error)}`);
  return result.data;
};
