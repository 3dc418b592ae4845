import { ConfigError } from '@ferry/core';
import type { z } from 'zod';
import { typeName } from './type-name.ts';

/** One problem in a config: `destinations.sendgrid.fields.first_name` and what is wrong with it. */
export interface ConfigIssue {
  /** Dotted path of the key at fault, `(root)` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/**
 * The config file cannot be used. It is core's `ConfigError` (destination `config`), so the CLI
 * treats it like any other configuration error: nothing runs until the user fixes it. The message
 * lists every issue, one per line, and never contains a value from the file or the environment.
 */
export class ConfigLoadError extends ConfigError {
  /** The config file, when one was found. */
  readonly file: string | undefined;
  readonly issues: readonly ConfigIssue[];

  constructor(
    file: string | undefined,
    summary: string,
    issues: readonly ConfigIssue[] = [],
    cause?: unknown,
  ) {
    const where = file === undefined ? '' : ` in ${file}`;
    const list = issues.map((issue) => `\n  - ${issue.path}: ${issue.message}`).join('');
    super(
      'config',
      issues.length > 0 ? `${summary}${where}:${list}` : summary,
      cause === undefined ? {} : { cause },
    );
    this.file = file;
    this.issues = issues;
  }
}

/**
 * zod's default messages, minus the `Invalid input: ` noise, with `received undefined` said as
 * "required". Used as the per-parse error map, so issue inputs are inspected but never printed.
 */
export const configErrorMap = (issue: z.core.$ZodRawIssue): string | undefined => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return `required (expected ${issue.expected})`;
    return `expected ${issue.expected}, received ${typeName(issue.input)}`;
  }
  return undefined;
};

type Path = readonly PropertyKey[];

/**
 * The union branch the user most likely meant, if one stands out. A branch failing on the value's own
 * type is the wrong one. Of the others, failing at the value itself (an unknown key, a value not in
 * an enum) counts against a branch more than failing deeper in, then the fewest problems win:
 * `{ column, transform: 'rot13' }` is a column mapping with a bad transform, not a constant missing
 * its `constant`, and `transform: ['trim', 'nope']` is a list with a bad second item.
 */
const likelyBranch = (
  branches: readonly (readonly z.core.$ZodIssue[])[],
): readonly z.core.$ZodIssue[] | undefined => {
  const plausible = branches.filter(
    (branch) => !branch.some((inner) => inner.path.length === 0 && inner.code === 'invalid_type'),
  );
  const score = (branch: readonly z.core.$ZodIssue[]): number =>
    branch.filter((inner) => inner.path.length === 0).length * 1000 + branch.length;
  const best = Math.min(...plausible.map(score));
  const winners = plausible.filter((branch) => score(branch) === best);
  return winners.length === 1 ? winners[0] : undefined;
};

const joinPath = (path: Path): string => (path.length === 0 ? '(root)' : path.map(String).join('.'));

const stripPrefix = (message: string): string =>
  message.replace(/^(Invalid input|Invalid option|Too small|Too big): /, '');

/**
 * Flattens zod issues into one line per problem. For a union (a field mapping is a column name, a
 * `{ column }` or a `{ constant }`), when exactly one branch is of the right shape its own issues are
 * reported — `fields.email.transform: ...` rather than "none of the options matched".
 */
export const flattenIssues = (issues: readonly z.core.$ZodIssue[], prefix: Path = []): ConfigIssue[] => {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = likelyBranch(issue.errors);
      if (branch !== undefined) {
        out.push(...flattenIssues(branch, path));
        continue;
      }
    }
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      out.push({ path: joinPath(path), message: `invalid name: ${stripPrefix(issue.issues[0]!.message)}` });
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: joinPath([...path, key]), message: 'unknown key' });
      continue;
    }
    out.push({ path: joinPath(path), message: stripPrefix(issue.message) });
  }
  return out;
};
