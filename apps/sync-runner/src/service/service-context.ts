import type { SourceConfig } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import type { StateStore } from '../store/state-store.ts';
import type { Launcher } from './launcher.ts';
import type { RunFeeds } from './run-feeds.ts';

/** What the routes share: the engine, its store, and the service's own parts. */
export interface ServiceContext {
  readonly engine: Engine;
  readonly store: StateStore;
  readonly source: SourceConfig;
  readonly uploadsDir: string;
  readonly maxUploadBytes: number;
  readonly launcher: Launcher;
  readonly feeds: RunFeeds;
  /** Field and list names per destination, for verify. */
  readonly verifyRequests: Readonly<Record<string, { fields: string[]; lists: string[] }>>;
  /** The plugin package version per destination, when known (GET /v1/destinations). */
  readonly pluginVersions?: Readonly<Record<string, string>>;
  readonly redact: (text: string) => string;
  /** Webhook URLs may point at private, loopback or link-local addresses (tests, closed networks). */
  readonly allowPrivateWebhooks: boolean;
}
