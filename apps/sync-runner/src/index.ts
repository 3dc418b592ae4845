/*
 * @ferry/sync-runner as a library: `defineConfig` for `ferry.config.ts`, and the engine for running
 * syncs from code (what the `ferry` CLI does, without the terminal).
 */

export { toSyncDestination } from './commands/setup.ts';
export {
  type ConfigIssue,
  ConfigLoadError,
  type DefinedConfig,
  type DestinationConfig,
  type DestinationConfigInput,
  defineConfig,
  type FerryConfig,
  type FerryConfigInput,
  type LoadedConfig,
  loadConfig,
  type SourceConfig,
  starterConfig,
} from './config/index.ts';
export {
  type CallbackListener,
  type CallbackListenerOptions,
  type CallbackRegistry,
  startCallbackListener,
} from './engine/callback-server.ts';
export { StoreLockedError } from './engine/run-lock.ts';
export { runSync } from './engine/run-sync.ts';
export { defaultEngineSettings, type EngineSettings } from './engine/settings.ts';
export type {
  DestinationCounters,
  DestinationSummary,
  ExitCode,
  RunSummary,
  SourceCounters,
  SyncProgress,
} from './engine/summary.ts';
export type { MappedRecord, SyncDestination, SyncRequest } from './engine/types.ts';
export { compileMapping } from './mapping/index.ts';
export { plugins, resolvePlugin } from './plugins.ts';
export { readSource, type SourceItem, type SourceRecord } from './source/index.ts';
export { DEFAULT_STATE_PATH, type OpenStoreOptions, openStateStore } from './store/open-store.ts';
export type { StateStore } from './store/state-store.ts';
