import type { Clock, CreateContextInput, Destination, Logger } from '@ferry/core';
import type { MapResult } from '../mapping/compile.ts';
import type { SourceItem, SourceRecord } from '../source/types.ts';
import type { StateStore } from '../store/state-store.ts';
import type { CallbackRegistry } from './callback-server.ts';
import type { EngineSettings } from './settings.ts';
import type { SyncProgress } from './summary.ts';

/** One configured destination, resolved: plugin, raw options and compiled mapping. */
export interface SyncDestination {
  /** The destination's name in the config; its state is kept under it. */
  readonly key: string;
  readonly plugin: Destination;
  /** Raw options, parsed by the plugin's schema when the run starts. */
  readonly options: unknown;
  /** `mirror` also deletes profiles that left the source (only where the plugin can delete). */
  readonly mode: 'upsert' | 'mirror';
  /** Mirror mode: largest fraction of the confirmed profiles one run may delete without `force`. */
  readonly maxDeleteFraction: number;
  readonly map: (record: SourceRecord) => MapResult;
  /** Pacing for this destination (retries, polling), over the run's settings. */
  readonly settings?: Partial<EngineSettings>;
  /** Jobs in flight at once; capped by the plugin's `maxJobsInFlight`, which is the default. */
  readonly maxJobsInFlight?: number;
  /** Extra context input (tests: HTTP client overrides). */
  readonly context?: Omit<CreateContextInput, 'options' | 'logger' | 'signal'>;
}

export interface SyncRequest {
  readonly store: StateStore;
  /**
   * The source, read once, streaming: items one by one, or in arrays as `readSource` gives them (one
   * per chunk read, which saves an `await` per item).
   */
  readonly source: AsyncIterable<SourceItem | readonly SourceItem[]>;
  readonly destinations: readonly SyncDestination[];
  /** Read, map and diff, count what would be sent, send nothing and record nothing. */
  readonly dryRun?: boolean;
  /** Send every profile, confirmed or not. */
  readonly full?: boolean;
  /** Mirror mode: delete even beyond `maxDeleteFraction`. */
  readonly force?: boolean;
  /** Vendor callbacks wake status checks through it (see startCallbackListener). */
  readonly callbacks?: CallbackRegistry;
  /** Aborting stops gracefully: store writes in progress finish, jobs are left to be checked next run. */
  readonly signal?: AbortSignal;
  readonly settings?: Partial<EngineSettings>;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly random?: () => number;
  /** Called when counters changed (at most once per chunk or job event); read them, do not keep them. */
  readonly onProgress?: (progress: SyncProgress) => void;
  /** Recorded with the run, for `ferry status`. Never put secrets here. */
  readonly runOptions?: Readonly<Record<string, unknown>>;
}
