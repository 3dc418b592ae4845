import type { z } from 'zod';
import type { DestinationContext, Json } from './contract.ts';

/*
 * The asynchronous-source contract: the destination contract turned around. A vendor's bulk export
 * has the same shape as its bulk import — start a job, get an id, check on it, download what it
 * made — so a source is built the same way: a plain object from `defineSource`, an options schema
 * with `secret(...)` values, small JSON handles that survive a restart, and typed errors from core.
 */

/**
 * A small JSON handle (a few KB at most) with everything needed to check and read the export from
 * another process after a restart. The runner stores it verbatim in its state store.
 */
export type ExportHandle = { readonly [key: string]: Json };

/**
 * One piece of a ready export that can be read on its own: a downloadable file, or a range of pages.
 * Small JSON too; the runner stores the list and reads the parts in order.
 */
export type ExportPart = { readonly [key: string]: Json };

/**
 * Where reading a part stopped: whatever the plugin needs to carry on from there (a page offset, a
 * count of lines already given). Small JSON; `null` means "from the start of the part".
 */
export type ReadCheckpoint = Json;

/** A value as the vendor gave it: text, or a JSON scalar. */
export type ExportValue = string | number | boolean | null;

/** Column or property name → value, for one exported profile. */
export type ExportRecord = Readonly<Record<string, ExportValue>>;

/**
 * A page of records and the checkpoint *after* them: reading the part again from `checkpoint`
 * yields exactly the records that follow. The runner persists both in one transaction, so a crash
 * between two pages loses nothing and fetches nothing twice.
 */
export interface ExportPage {
  readonly records: readonly ExportRecord[];
  readonly checkpoint: ReadCheckpoint;
}

/**
 * The export's data is gone at the vendor (its retention time passed, or the vendor forgot the
 * export). The runner starts the export again. Returned by `check` as a failed status's `code`, or
 * thrown by `read` as the `code` of a `PermanentError`.
 */
export const EXPORT_EXPIRED = 'export_expired';

export type ExportStatus =
  | {
      readonly state: 'pending';
      /** A hint for when checking again is worthwhile; the runner caps it. */
      readonly checkAfterMs?: number;
    }
  | {
      readonly state: 'ready';
      /** What to read, in order. An export with nothing in it is ready with no parts. */
      readonly parts: readonly ExportPart[];
      /** When the vendor deletes the data (ISO 8601), when it says; past it the runner starts again. */
      readonly expiresAt?: string;
      /** How many records the export holds, when the vendor says (progress only). */
      readonly total?: number;
    }
  | {
      readonly state: 'failed';
      readonly message: string;
      /** `true`: start the export again. `false`: the source cannot be read (the run fails). */
      readonly retryable: boolean;
      /** Vendor code, or `EXPORT_EXPIRED` when the data is gone. */
      readonly code?: string;
    };

/** What a source's calls get: the same as a destination's (`destination` names the source). */
export type SourceContext<Options> = DestinationContext<Options>;

/** Rate limits for the core HTTP client; a source has no jobs to pack, so nothing else. */
export interface SourceLimits {
  readonly requestsPerSecond?: number;
  readonly maxConcurrentRequests?: number;
}

/** The async-source contract. Build one with `defineSource`. */
export interface AsyncSource<Schema extends z.ZodType = z.ZodType> {
  /** Stable machine name, used in config and state (`eloqua`); never changes. */
  readonly name: string;
  /** Human name for messages (`Eloqua contact export`). */
  readonly displayName: string;
  /** Options schema; wrap secret options with `secret(...)` so they are redacted everywhere. */
  readonly options: Schema;
  readonly limits?: (options: z.output<Schema>) => SourceLimits;
  /** Starts one export at the vendor; never waits for it to finish. */
  readonly start: (ctx: SourceContext<z.output<Schema>>) => Promise<ExportHandle>;
  /**
   * Side-effect free and idempotent. Throws (TransientError, RateLimitedError...) when the check
   * itself failed; a vendor that no longer knows the export is `failed` with `EXPORT_EXPIRED`.
   */
  readonly check: (ctx: SourceContext<z.output<Schema>>, handle: ExportHandle) => Promise<ExportStatus>;
  /**
   * Streams one part from `checkpoint` (`null`: from its start), a page at a time. May be called
   * again with any checkpoint it yielded, from another process. Throws a PermanentError with code
   * `EXPORT_EXPIRED` when the data is gone.
   */
  readonly read: (
    ctx: SourceContext<z.output<Schema>>,
    handle: ExportHandle,
    part: ExportPart,
    checkpoint: ReadCheckpoint,
  ) => AsyncIterable<ExportPage>;
  /** Removes what the export left at the vendor (a definition, staged data), once it was read. */
  readonly cleanup?: (ctx: SourceContext<z.output<Schema>>, handle: ExportHandle) => Promise<void>;
}

/** The parsed options type of a source. */
export type SourceOptions<S> = S extends AsyncSource<infer Schema> ? z.output<Schema> : never;
