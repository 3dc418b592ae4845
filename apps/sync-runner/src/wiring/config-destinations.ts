import { ConfigError, createRedactor } from '@ferry/core';
import type { LoadedConfig } from '../config/index.ts';
import type { DestinationConfig } from '../config/schema.ts';
import type { SyncDestination } from '../engine/types.ts';
import { compileMapping } from '../mapping/index.ts';
import type { WiredDestination } from './destination-context.ts';
import { loadPlugin } from './load-plugin.ts';
import { plugins } from './plugins.ts';

/* From the config to what the engine runs: each destination's plugin, mapping and pacing. */

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
 * plugins mark secret (parsed once, when the destination was wired). Options that do not parse
 * contribute nothing here: the run reports them.
 */
export const configRedactor = (
  loaded: Pick<LoadedConfig, 'secrets'>,
  destinations: readonly WiredDestination[],
  more: readonly string[] = [],
): ((text: string) => string) => {
  const secrets: string[] = [...loaded.secrets, ...more];
  for (const destination of destinations) if (destination.ok) secrets.push(...destination.secrets);
  // Values this short are not credentials (a port, `true`, a region); redacting them would garble
  // every line that happens to contain the same letters.
  return createRedactor(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH));
};

const MIN_SECRET_LENGTH = 4;
