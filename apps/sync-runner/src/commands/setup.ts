import { resolve } from 'node:path';
import { ConfigError, collectSecrets, createRedactor, parseOptions } from '@ferry/core';
import { type LoadedConfig, loadConfig } from '../config/index.ts';
import type { DestinationConfig, FerryConfig } from '../config/schema.ts';
import type { SyncDestination } from '../engine/types.ts';
import { compileMapping } from '../mapping/index.ts';
import { plugins } from '../plugins.ts';
import { openStateStore } from '../store/open-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { loadPlugin } from '../wiring/load-plugin.ts';
import type { CommandIO } from './io.ts';

/** Options every command that needs the config or the state takes. */
export interface StoreOptions {
  /** Config file; default: the first `ferry.config.*` in the working directory. */
  readonly config?: string;
  /** State store location (file or postgres:// URL); default: the config's `state.path`. */
  readonly state?: string;
}

export const loadCommandConfig = (options: StoreOptions, io: CommandIO): Promise<LoadedConfig> =>
  loadConfig(options.config, { cwd: io.cwd, ...(io.env === process.env ? {} : { env: io.env }) });

/**
 * The store for read-and-bookkeeping commands (status, errors, retry): `--state` when given (no
 * config needed, so they work without the secrets the config reads), else the config's.
 */
export const openCommandStore = async (options: StoreOptions, io: CommandIO): Promise<StateStore> => {
  if (options.state !== undefined) return openStateStore({ location: stateLocation(options.state, io.cwd) });
  const loaded = await loadCommandConfig(options, io);
  return openStateStore({ location: loaded.config.state.path });
};

const stateLocation = (location: string, cwd: string): string =>
  /^postgres(ql)?:\/\//i.test(location) || location === ':memory:' ? location : resolve(cwd, location);

export const storeLocation = (options: StoreOptions, loaded: LoadedConfig, io: CommandIO): string =>
  options.state === undefined ? loaded.config.state.path : stateLocation(options.state, io.cwd);

/** The names to run, in config order; a ConfigError naming the unknown ones. */
export const selectDestinations = (config: FerryConfig, only: readonly string[] | undefined): string[] => {
  const configured = Object.keys(config.destinations);
  if (only === undefined || only.length === 0) return configured;
  const unknown = only.filter((name) => !configured.includes(name));
  if (unknown.length > 0) {
    throw new ConfigError(
      'config',
      `no destination named ${unknown.map((n) => JSON.stringify(n)).join(', ')} in the config; configured: ${configured.join(', ')}`,
    );
  }
  return configured.filter((name) => only.includes(name));
};

/**
 * A configured destination as the engine runs it: plugin, mapping and pacing resolved. `fromDir` is
 * the config file's folder, where plugin packages and paths are resolved from.
 */
export const toSyncDestination = async (
  name: string,
  config: DestinationConfig,
  fromDir: string = process.cwd(),
  registry = plugins,
): Promise<SyncDestination> => {
  const plugin = await loadPlugin(config.plugin, { destination: name, fromDir, builtins: registry });
  if (config.mode === 'mirror' && !plugin.capabilities.delete) {
    throw new ConfigError(
      name,
      `mode 'mirror' needs a destination that can delete; ${plugin.displayName} cannot`,
    );
  }
  return {
    key: name,
    plugin,
    options: config.options,
    mode: config.mode,
    maxDeleteFraction: config.mirror.maxDeleteFraction,
    map: compileMapping(config),
    settings: {
      maxAttempts: config.retry.maxAttempts,
      retryBaseMs: config.retry.initialDelayMs,
      retryMaxMs: config.retry.maxDelayMs,
      pollDeadlineMs: Math.round(config.polling.deadlineMinutes * 60_000),
      firstCheckDelayMs: config.polling.initialIntervalMs,
      maxCheckIntervalMs: config.polling.maxIntervalMs,
    },
    ...(config.concurrency === undefined ? {} : { maxJobsInFlight: config.concurrency }),
    ...(config.http?.timeoutMs === undefined
      ? {}
      : { context: { httpOverrides: { timeoutMs: config.http.timeoutMs } } }),
  };
};

/**
 * Every secret the run could print: values the config read from the environment, and options the
 * plugins mark secret. Options that do not parse contribute nothing here (the run reports them).
 */
export const configRedactor = (
  loaded: LoadedConfig,
  destinations: readonly SyncDestination[],
): ((text: string) => string) => {
  const secrets: string[] = [...loaded.secrets];
  for (const destination of destinations) {
    try {
      const parsed = parseOptions(destination.key, destination.plugin.options, destination.options);
      secrets.push(...collectSecrets(destination.plugin.options, parsed));
    } catch {
      // Reported by the engine when it builds the destination's context.
    }
  }
  // Values this short are not credentials (a port, `true`, a region); redacting them would garble
  // every line that happens to contain the same letters.
  return createRedactor(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH));
};

const MIN_SECRET_LENGTH = 4;
