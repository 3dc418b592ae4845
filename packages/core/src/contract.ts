import type { z } from 'zod';
import type { HttpClient } from './http/types.ts';
import type { Logger } from './logger.ts';
import type { AsyncSource } from './source-contract.ts';

/** Any value that survives `JSON.parse(JSON.stringify(x))` unchanged. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A mapped destination field value. `null` means "clear this field" (never the text "null"). */
export type FieldValue = string | number | boolean | Date | null;

/** Destination field name → value, after the runner applied the config's mapping. */
export type Fields = Readonly<Record<string, FieldValue>>;

/** List membership changes for one profile; ids are the destination's list ids. */
export interface ListChanges {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

interface ChangeBase {
  /** The source's stable id for the profile; the runner's key, never sent to the vendor. */
  readonly profileId: string;
  /** The value the destination identifies the profile by (usually the e-mail address). */
  readonly identity: string;
  /** Fields the destination last *confirmed* for this profile, when there was an earlier sync. */
  readonly previous?: Fields;
}

/** Create or update a profile. `fields` holds every mapped field, not only the changed ones. */
export interface UpsertChange extends ChangeBase {
  readonly kind: 'upsert';
  readonly fields: Fields;
  readonly lists?: ListChanges;
}

/** Remove a profile that left the source (mirror mode; only for destinations with `capabilities.delete`). */
export interface DeleteChange extends ChangeBase {
  readonly kind: 'delete';
}

export type ProfileChange = UpsertChange | DeleteChange;

/**
 * The profiles of one job, in submission order. The runner streams a batch from its state store
 * (a job may hold 200,000 profiles, too many to keep as objects), so read it with `for await`, keep
 * only what you need of each profile, and never assume it is an array. It may be read more than
 * once: every pass yields the same changes in the same order (a plugin that must look at the whole
 * batch before encoding it, e.g. to collapse duplicate e-mails, makes two passes). `length` is known
 * up front. A plain array is a batch too, which is what tests pass.
 */
export type ProfileBatch = (Iterable<ProfileChange> | AsyncIterable<ProfileChange>) & {
  readonly length: number;
};

/**
 * What the runner persisted for one submitted job, in submission order: the batch given to
 * `exportProfiles` minus the profiles it rejected at submission. Plugins map a vendor's row index
 * or e-mail back to a profile through it, so handles never need to carry the batch.
 */
export interface JobMember {
  readonly profileId: string;
  readonly identity: string;
}

/**
 * A small JSON handle (a few KB at most) with everything needed to check the job from another
 * process after a restart. The runner stores it verbatim.
 */
export type JobHandle = { readonly [key: string]: Json };

/** Permanent: the vendor will never accept this profile as it is (invalid e-mail, value too long...). */
export interface RejectedOutcome {
  readonly profileId: string;
  readonly status: 'rejected';
  /** The vendor's code (e.g. `ELQ-00001`), or a ferry code such as `oversized` / `invalid_value`. */
  readonly code: string;
  readonly message: string;
  /** The destination field at fault, when the vendor or the plugin knows it. */
  readonly field?: string;
}

/** Transient: sending the profile again later may work. */
export interface RetryableOutcome {
  readonly profileId: string;
  readonly status: 'retryable';
  readonly code?: string;
  readonly message: string;
  readonly retryAfterMs?: number;
}

export type ProfileOutcome = RejectedOutcome | RetryableOutcome;

export interface ExportResult {
  /** `null` when nothing was submitted (empty batch, or every profile was rejected at submission). */
  readonly job: JobHandle | null;
  /** Profiles rejected while encoding or uploading; they are not part of the job's members. */
  readonly rejected: readonly ProfileOutcome[];
}

/** The vendor no longer knows the job (404). The runner resubmits its members. */
export const JOB_NOT_FOUND = 'job_not_found';

export type JobStatus =
  | {
      readonly state: 'pending';
      /** A hint for when checking again is worthwhile; the runner caps and jitters it. */
      readonly checkAfterMs?: number;
      readonly progress?: { readonly processed: number; readonly total?: number };
    }
  | {
      readonly state: 'completed';
      /** Only the members that did not simply succeed; every other member is confirmed. */
      readonly outcomes: readonly ProfileOutcome[];
    }
  | {
      readonly state: 'failed';
      /** `true`: resubmit the members (counts as an attempt). `false`: reject them all with `message`. */
      readonly retryable: boolean;
      readonly message: string;
      /** Vendor code, or `JOB_NOT_FOUND` when the vendor forgot the job. */
      readonly code?: string;
    };

export interface Capabilities {
  /** Can delete profiles (mirror mode). */
  readonly delete: boolean;
  /** Honours `UpsertChange.lists`. */
  readonly lists: boolean;
  /** Can ask the vendor to call `ctx.callbackUrl` when a job finishes. */
  readonly callbacks: boolean;
}

export interface Limits {
  /** Most profiles one job may hold. */
  readonly maxProfilesPerJob: number;
  /** Most encoded bytes one job may hold: `jobOverheadBytes` + the sum of `measure` over its profiles. */
  readonly maxBytesPerJob: number;
  /** Bytes a job costs whatever it holds (CSV header row, JSON envelope); default 0. */
  readonly jobOverheadBytes?: number;
  /** Jobs the runner may have submitted and unsettled at once for one destination. */
  readonly maxJobsInFlight: number;
  /** Sustained request rate the core HTTP client keeps to (requests per second). */
  readonly requestsPerSecond?: number;
  /** Concurrent HTTP requests the core HTTP client allows. */
  readonly maxConcurrentRequests?: number;
}

/** One problem found by `verify`, naming what it is about. */
export interface VerifyProblem {
  /** `auth`, `field`, `list`, `option` or `permission`. */
  readonly kind: 'auth' | 'field' | 'list' | 'option' | 'permission';
  /** The field name, list id or option key at fault, when there is one. */
  readonly subject?: string;
  readonly message: string;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
}

/** What `verify` is told to check besides the connection itself. */
export interface VerifyRequest {
  readonly fields: readonly string[];
  readonly lists: readonly string[];
}

/**
 * What a plugin's calls get. The runner builds **one context per destination per process**, with the
 * options parsed once, and passes that same context to every call for that destination (`verify`,
 * `exportProfiles`, `checkStatus`, `cleanup`), or a shallow copy of it that adds one job's
 * `callbackUrl`. So `ctx.options` is the same object for the life of the process, and a plugin may
 * cache per context what depends only on its options (a resolved base URL, a pool of reusable
 * definitions), keyed by `ctx.options` in a `WeakMap`, never in a module-level variable keyed by
 * anything else. Such a cache is an optimisation only: a fresh process (a restart, another worker)
 * starts with none, and the job handle alone must be enough to carry on.
 */
export interface DestinationContext<Options> {
  readonly destination: string;
  readonly options: Options;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Where the runner listens for vendor callbacks for this job, when it has a listener. */
  readonly callbackUrl?: string;
}

/**
 * How to read back what a destination holds (optional; `ferry reconcile` needs it): the vendor's
 * export source, and how to ask it for the destination's mapped fields.
 */
export interface ReadBack<Options> {
  /** The export source (built with `defineSource`) that reads this vendor. */
  readonly source: AsyncSource;
  /** The source's options for exporting `fields` (destination field names), from the destination's. */
  readonly options: (options: Options, fields: readonly string[]) => unknown;
  /** The exported column holding the profile's identity (what `identity` is matched against). */
  readonly identityField: (options: Options) => string;
}

/** The async-destination contract. Build one with `defineDestination`. */
export interface Destination<Schema extends z.ZodType = z.ZodType> {
  /** Stable machine name, used in config and state (`sendgrid`); never changes. */
  readonly name: string;
  /** Human name for messages and reports (`SendGrid`). */
  readonly displayName: string;
  /** Options schema; wrap secret options with `secret(...)` so they are redacted everywhere. */
  readonly options: Schema;
  readonly capabilities: Capabilities;
  readonly limits: (options: z.output<Schema>) => Limits;
  /** Encoded size in bytes of one profile as this destination will send it, so the runner can pack. */
  readonly measure: (change: ProfileChange, options: z.output<Schema>) => number;
  /** "Test connection": auth, permissions, and that the named fields and lists exist. */
  readonly verify: (
    ctx: DestinationContext<z.output<Schema>>,
    request: VerifyRequest,
  ) => Promise<VerifyResult>;
  /** Submit one job for the whole batch; never waits for the job to finish. Stream the batch (see `ProfileBatch`). */
  readonly exportProfiles: (
    ctx: DestinationContext<z.output<Schema>>,
    batch: ProfileBatch,
  ) => Promise<ExportResult>;
  /** Side-effect free and idempotent. Throws (TransientError, RateLimitedError...) when the check itself failed. */
  readonly checkStatus: (
    ctx: DestinationContext<z.output<Schema>>,
    job: JobHandle,
    members: readonly JobMember[],
  ) => Promise<JobStatus>;
  /** Remove staged data the job left at the vendor, once it is settled. */
  readonly cleanup?: (ctx: DestinationContext<z.output<Schema>>, job: JobHandle) => Promise<void>;
  /** Reading back what the destination holds, for `ferry reconcile` (optional). */
  readonly readBack?: ReadBack<z.output<Schema>>;
}

/** The parsed options type of a destination. */
export type DestinationOptions<D> = D extends Destination<infer S> ? z.output<S> : never;
