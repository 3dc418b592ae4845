import { resolve } from 'node:path';
import { ConfigError } from '@ferry/core';
import { type LoadedConfig, loadConfig } from '../../config/index.ts';
import type { FerryConfig } from '../../config/schema.ts';
import { openStateStore } from '../../store/open-store.ts';
import type { StateStore } from '../../store/state-store.ts';
import type { CommandIO } from '../io.ts';

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
