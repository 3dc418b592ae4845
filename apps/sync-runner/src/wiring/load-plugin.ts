import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CONTRACT_VERSION,
  ConfigError,
  contractVersionOf,
  type Destination,
  isCompatibleContract,
} from '@ferry/core';
import { resolve as resolveModule } from 'import-meta-resolve';

/*
 * Turns a config's `plugin:` into a destination. Three spellings, tried in this order:
 *   - a built-in short name (`sendgrid`), from the runner's own registry;
 *   - a relative or absolute path to a module (`./plugins/acme.js`), from the config file's folder;
 *   - a package name (`@acme/ferry-plugin-hubspot`, optionally `#exportName`), resolved from the
 *     config file's folder the way Node resolves an `import` there (node_modules up the tree,
 *     `exports` with the `import`/`node` conditions), so a plugin installed next to the config works
 *     whatever folder the runner itself is installed in.
 * Every failure is a ConfigError that says what to do: install the package, export a destination,
 * or rebuild against this contract.
 */

export interface LoadPluginOptions {
  /** The destination's key in the config, named in errors. */
  readonly destination: string;
  /** Where package names and relative paths are resolved from: the config file's folder. */
  readonly fromDir: string;
  /** Built-in plugins by short name; they win over packages of the same name. */
  readonly builtins: Readonly<Record<string, Destination>>;
}

/** A resolved plugin and where it came from, for `ferry plugins`. */
export interface LoadedPlugin {
  readonly destination: Destination;
  readonly source: 'builtin' | 'package' | 'path';
  /** The npm package that holds it, when known (built-ins are `@ferry/plugin-<name>`). */
  readonly packageName?: string;
  readonly packageVersion?: string;
  /** The module file that was loaded (packages and paths). */
  readonly file?: string;
  /** The contract version it was built for. */
  readonly contractVersion: string;
}

export const loadPlugin = async (spec: string, options: LoadPluginOptions): Promise<Destination> =>
  (await loadPluginInfo(spec, options)).destination;

export const loadPluginInfo = async (spec: string, options: LoadPluginOptions): Promise<LoadedPlugin> => {
  const { destination, fromDir, builtins } = options;
  if (Object.hasOwn(builtins, spec)) {
    const plugin = builtins[spec] as Destination;
    const packageName = `@ferry/plugin-${spec}`;
    const info = packageJsonOf(safeResolve(packageName, import.meta.url));
    return {
      destination: plugin,
      source: 'builtin',
      packageName: info?.name ?? packageName,
      ...(info?.version === undefined ? {} : { packageVersion: info.version }),
      contractVersion: contractVersionOf(plugin) ?? CONTRACT_VERSION,
    };
  }

  const [specifier = spec, exportName] = splitExportName(spec);
  const isPath = specifier.startsWith('.') || isAbsolute(specifier);
  const base = pathToFileURL(join(resolvePath(fromDir), '/')).href;
  let url: string;
  if (isPath) {
    url = pathToFileURL(resolvePath(fromDir, specifier)).href;
  } else {
    if (!isPackageName(specifier)) {
      throw new ConfigError(
        destination,
        `plugin ${JSON.stringify(spec)} is neither a built-in (${knownBuiltins(builtins)}), a package name nor a relative path`,
      );
    }
    try {
      url = resolveModule(specifier, base);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        const name = packageNameOf(specifier);
        const missing =
          code === 'ERR_MODULE_NOT_FOUND'
            ? `is not installed where the config is (${fromDir}); install it there: npm install ${name}`
            : `is installed but its package.json exports no ${specifier === name ? 'main entry' : JSON.stringify(specifier.slice(name.length + 1))}`;
        throw new ConfigError(
          destination,
          `plugin ${JSON.stringify(spec)} ${missing} (built-in plugins: ${knownBuiltins(builtins)})`,
        );
      }
      throw new ConfigError(
        destination,
        `cannot resolve plugin ${JSON.stringify(spec)}: ${firstLine(error)}`,
      );
    }
  }

  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (
      isPath &&
      code === 'ERR_MODULE_NOT_FOUND' &&
      String((error as Error).message).includes(fileURLToPath(url))
    ) {
      throw new ConfigError(
        destination,
        `plugin ${JSON.stringify(spec)}: no module at ${fileURLToPath(url)} (paths are relative to the config file's folder, ${fromDir})`,
      );
    }
    throw new ConfigError(destination, `plugin ${JSON.stringify(spec)} failed to load: ${firstLine(error)}`, {
      cause: error,
    });
  }

  const plugin = pickDestination(module, spec, exportName, destination);
  const version = contractVersionOf(plugin) as string;
  const info = packageJsonOf(url);
  if (!isCompatibleContract(version)) {
    throw new ConfigError(
      destination,
      `plugin ${JSON.stringify(spec)}${info?.version === undefined ? '' : ` ${info.version}`} was built for destination contract ${version}, but this ferry speaks contract ${CONTRACT_VERSION}; install a version of the plugin built for contract ${CONTRACT_VERSION.split('.')[0]}.x (or a ferry that speaks ${version.split('.')[0]}.x)`,
    );
  }
  return {
    destination: plugin,
    source: isPath ? 'path' : 'package',
    ...(info?.name === undefined ? {} : { packageName: info.name }),
    ...(info?.version === undefined ? {} : { packageVersion: info.version }),
    file: fileURLToPath(url),
    contractVersion: version,
  };
};

/** The destination among a module's exports: `#name` when given, else `default`, else the only one. */
const pickDestination = (
  module: Record<string, unknown>,
  spec: string,
  exportName: string | undefined,
  destination: string,
): Destination => {
  const entries = Object.entries(module);
  if (exportName !== undefined) {
    const value = module[exportName];
    if (contractVersionOf(value) !== undefined) return value as Destination;
    throw new ConfigError(
      destination,
      `plugin ${JSON.stringify(spec)}: export ${JSON.stringify(exportName)} is ${value === undefined ? 'missing' : `not a destination (${describeValue(value)})`}; found: ${describeExports(entries)}`,
    );
  }
  if (contractVersionOf(module.default) !== undefined) return module.default as Destination;
  const found = entries.filter(([, value]) => contractVersionOf(value) !== undefined);
  const only = found[0];
  if (found.length === 1 && only !== undefined) return only[1] as Destination;
  if (found.length > 1) {
    const [specifier] = splitExportName(spec);
    throw new ConfigError(
      destination,
      `plugin ${JSON.stringify(spec)} exports ${found.length} destinations (${found.map(([name]) => name).join(', ')}); pick one with "${specifier}#${found[0]?.[0]}"`,
    );
  }
  const lookAlikes = entries.filter(([, value]) => looksLikeDestination(value)).map(([name]) => name);
  const hint =
    lookAlikes.length > 0
      ? `; ${lookAlikes.join(', ')} look${lookAlikes.length === 1 ? 's' : ''} like a destination but ${lookAlikes.length === 1 ? 'was' : 'were'} not made with defineDestination from @ferry/core — wrap ${lookAlikes.length === 1 ? 'it' : 'them'} in defineDestination({ ... })`
      : '';
  throw new ConfigError(
    destination,
    `plugin ${JSON.stringify(spec)} exports no destination made with defineDestination; found: ${describeExports(entries)}${hint}`,
  );
};

const looksLikeDestination = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Record<string, unknown>).exportProfiles === 'function' &&
  typeof (value as Record<string, unknown>).checkStatus === 'function';

const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (typeof value === 'function') return 'function';
  if (typeof value !== 'object') return typeof value;
  if (Array.isArray(value)) return 'array';
  const keys = Object.keys(value);
  return keys.length === 0
    ? 'empty object'
    : `object with ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}`;
};

const describeExports = (entries: readonly (readonly [string, unknown])[]): string =>
  entries.length === 0
    ? 'no exports at all'
    : entries
        .slice(0, 8)
        .map(([name, value]) => `${name} (${describeValue(value)})`)
        .join(', ') + (entries.length > 8 ? `, and ${entries.length - 8} more` : '');

/** `@acme/pkg#hubspot` → [`@acme/pkg`, `hubspot`]; a `#` at the start is Node's subpath import, left alone. */
const splitExportName = (spec: string): [string, string | undefined] => {
  const at = spec.lastIndexOf('#');
  return at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
};

// npm's rules, loosely: lower-case, optional @scope/, no spaces; enough to tell a name from a typo'd path.
const isPackageName = (spec: string): boolean =>
  /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?$/i.test(spec);

const packageNameOf = (specifier: string): string => {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
};

const knownBuiltins = (builtins: Readonly<Record<string, unknown>>): string =>
  Object.keys(builtins).sort().join(', ') || 'none';

const safeResolve = (specifier: string, parent: string): string | undefined => {
  try {
    return resolveModule(specifier, parent);
  } catch {
    return undefined;
  }
};

/** The nearest package.json above a module file: name and version for `ferry plugins`. */
const packageJsonOf = (url: string | undefined): { name?: string; version?: string } | undefined => {
  if (url === undefined || !url.startsWith('file:')) return undefined;
  let dir = dirname(fileURLToPath(url));
  for (;;) {
    try {
      const parsed = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      // A nested `{"type":"module"}` package.json (as some builds write into dist/) has no name: keep going.
      if (typeof parsed.name === 'string') {
        return {
          name: parsed.name,
          ...(typeof parsed.version === 'string' ? { version: parsed.version } : {}),
        };
      }
    } catch {
      // No package.json here.
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
};

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
