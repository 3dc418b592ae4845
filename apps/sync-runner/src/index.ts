/*
 * @ferry/sync-runner as a library: `defineConfig` for `ferry.config.ts`, and the engine for running
 * syncs from code (what the `ferry` CLI does, without the terminal).
 */

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
export {
  type Engine,
  type EngineOptions,
  openEngine,
  RunNotFoundError,
  type RunRequest,
} from './engine/engine.ts';
export type { RunEvent, RunListener } from './engine/events.ts';
export { LeaseBusyError } from './engine/leases.ts';
export { runSync } from './engine/run-sync.ts';
export { createInProcessScheduler } from './engine/scheduler/in-process.ts';
export type { Scheduler, SchedulerStart, Step, StepHandler, StepKind } from './engine/scheduler/scheduler.ts';
export { defaultEngineSettings, type EngineSettings } from './engine/settings.ts';
export type {
  DestinationCounters,
  DestinationSummary,
  ExitCode,
  RunSummary,
  SourceCounters,
  SyncProgress,
} from './engine/summary.ts';
export type { SyncDestination, SyncRequest } from './engine/types.ts';
export { compileMapping, type MapResult } from './mapping/index.ts';
export {
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookHeaders,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from './service/verify-webhook.ts';
export { readSource, type SourceItem, type SourceRecord } from './source/index.ts';
export { STORE_WRITE_CHANNEL, STORE_WRITES, type StoreWriteMessage } from './store/instrument.ts';
export { DEFAULT_STATE_PATH, type OpenStoreOptions, openStateStore } from './store/open-store.ts';
export {
  type Fence,
  type Lease,
  LeaseLostError,
  type StateStore,
} from './store/state-store.ts';
export { configRedactor, toSyncDestination } from './wiring/config-destinations.ts';
export { type WiredDestination, wireDestination } from './wiring/destination-context.ts';
export { loadPlugin, loadPluginInfo } from './wiring/load-plugin.ts';
export { plugins, resolvePlugin } from './wiring/plugins.ts';
