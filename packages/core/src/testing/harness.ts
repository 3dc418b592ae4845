import type { Destination, FieldValue, JobHandle, ProfileChange } from '../contract.ts';
import type { CreateContextInput } from '../define-destination.ts';
import type { SettleOptions } from './settle.ts';

/**
 * Identifies one run of one conformance case. Every harness hook that touches vendor state gets it,
 * so a harness can isolate cases from each other (a namespace, a sandbox account, a key prefix).
 */
export interface ConformanceScope {
  /** The case's fixture name, e.g. `unicode-values`. */
  readonly caseName: string;
  /**
   * Unique for this run of this case (`ferry-conformance-unicode-values-1-k3x9qa`), safe to use as a
   * namespace, an account id or a prefix: letters, digits and dashes only.
   */
  readonly key: string;
}

/** What the destination holds for one identity, as the harness read it back from the vendor. */
export interface HeldProfile {
  /**
   * Field name → value, with the destination's field names (the names `toChange` produced). Cases
   * compare the fields they sent with `toEqual`, so return values as the vendor stores them
   * (strings for text fields); extra fields the vendor adds are ignored.
   */
  readonly fields: Readonly<Record<string, unknown>>;
  /** List ids the profile belongs to. Only the list-membership case reads it. */
  readonly lists?: readonly string[];
}

/** What the destination holds, keyed by the identities asked for; `undefined` = not held. */
export type HeldProfiles = Readonly<Record<string, HeldProfile | undefined>>;

/**
 * A fixture profile after the kit resolved it: list indexes turned into `settings.listIds`, and the
 * oversized value generated. Field names are the fixtures' canonical ones: `firstName`, `lastName`,
 * `city`, `notes` (all strings); the e-mail is separate.
 */
export interface ConformanceProfile {
  readonly kind: 'upsert' | 'delete';
  readonly profileId: string;
  readonly email: string;
  /** Strings, except in the typed-values case (numbers, booleans, dates, and `null` for "clear"). */
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly lists?: { readonly add: readonly string[]; readonly remove: readonly string[] };
}

/**
 * Hooks that make the vendor misbehave. All optional: a case whose hook is missing is registered as
 * skipped, with the missing hook in its title, so the gap shows in every test report.
 *
 * The cases expect the fault to reach the destination's code: when the destination talks HTTP through
 * core's client, turn the client's own retries down in `context` (e.g.
 * `httpOverrides: { retries: 0, rateLimitRetries: 0 }`), or inject more faults than it retries.
 */
export interface ConformanceFaults {
  /**
   * Make the next `count` status checks fail the way a flaky vendor does (5xx, dropped connection),
   * so `checkStatus` throws a retryable error. Called after submission.
   */
  readonly failNextStatusChecks?: (count: number, scope: ConformanceScope) => void | Promise<void>;
  /** Make the vendor forget `job` (as after a purge or a data-center move), so checking it gets a 404. */
  readonly forgetJob?: (job: JobHandle, scope: ConformanceScope) => void | Promise<void>;
  /** Make the vendor answer its next `count` calls with 429 and a short Retry-After. Called before submission. */
  readonly rateLimit?: (count: number, scope: ConformanceScope) => void | Promise<void>;
  /**
   * Make the next `count` *status checks* answer 429. Called after submission. `checkStatus` must
   * throw a retryable error (or say `pending`), never report the job failed.
   */
  readonly rateLimitNextStatusChecks?: (count: number, scope: ConformanceScope) => void | Promise<void>;
  /** Make the vendor fail the next job as a whole, retryably (a crashed worker) or for good. Called before submission. */
  readonly failNextJob?: (
    failure: { readonly retryable: boolean },
    scope: ConformanceScope,
  ) => void | Promise<void>;
  /**
   * Make the vendor answer these identities with a transient per-record error (locked, try later)
   * the next time it processes them; the destination must report them `retryable`, not rejected.
   */
  readonly deferProfiles?: (identities: readonly string[], scope: ConformanceScope) => void | Promise<void>;
  /**
   * Make the vendor refuse this case's credentials from now on (401), so the case can check that
   * an auth failure says so and prints no secret.
   */
  readonly rejectCredentials?: (scope: ConformanceScope) => void | Promise<void>;
}

/** Facts about the destination and knobs for the suite. Every member is optional. */
export interface ConformanceSettings {
  /**
   * Whether the destination (or its vendor) rejects syntactically invalid e-mails. Default `true`.
   * When `false`, the invalid-email case is skipped and the other cases do not expect rejections.
   */
  readonly validatesEmails?: boolean;
  /**
   * Longest value (in characters) the destination accepts in the fixtures' text fields, as configured
   * by `options`. When set, the oversized case sends one more and expects a rejection naming the
   * field; when unset, it sends 4,000 characters and accepts either a rejection naming the field or
   * the value held intact. Also caps the padding of the size cases (default 1,000 when unset).
   */
  readonly maxFieldLength?: number;
  /** Two or more list ids that exist at the vendor, for the list-membership case. */
  readonly listIds?: readonly string[];
  /**
   * Whether the destination has the typed fixture fields `score` (number), `vip` (boolean) and
   * `signedUpAt` (date) — under the names `fieldNames` gives them — for the typed-values case.
   * Default `true`.
   */
  readonly typedFields?: boolean;
  /**
   * How the vendor holds typed values, for the typed-values case to compare with what `read`
   * returns. Default: numbers and booleans as such, dates as ISO 8601 strings.
   */
  readonly heldValue?: (value: number | boolean | Date) => unknown;
  /** Per-case vitest timeout. Default 30,000 ms. */
  readonly caseTimeoutMs?: number;
  /**
   * How `settleJob` drives jobs in the cases (polling deadline, cap on `checkAfterMs`, longest
   * rate-limit wait...). Defaults suit a sandbox with short processing delays.
   */
  readonly settle?: SettleOptions;
  /** Status checks the transient case makes fail. Default 2. */
  readonly transientFailures?: number;
  /** 429 answers the rate-limit-storm case asks for. Default 5. */
  readonly rateLimitStorm?: number;
  /** Profiles in the handle-size case, capped by the destination's limits. Default 1,000. */
  readonly largeBatchSize?: number;
  /**
   * Most profiles the byte-limit case may generate to reach `maxBytesPerJob`; beyond that it skips
   * (lower the limit in `options` instead). Default 5,000.
   */
  readonly maxGeneratedProfiles?: number;
}

/**
 * Everything `runDestinationConformance` needs to know about a destination under test. Only
 * `options` and `read` are required.
 */
export interface ConformanceHarness {
  /** Suite title. Default: `<displayName> (<name>) conformance`. */
  readonly title?: string;
  /**
   * Raw options for a fresh destination instance (what a user would write in the config), parsed by
   * the destination's schema. Called for every instance a case builds — the fresh-instance case
   * calls it twice and expects both to reach the same vendor state — so build a new object each time
   * and derive any isolation from `scope` (e.g. `namespace: scope.key`). May be async, e.g. to start
   * a sandbox and return its URL.
   */
  readonly options: (scope: ConformanceScope) => unknown | Promise<unknown>;
  /**
   * Read back what the destination holds for `identities` (the `identity` of the changes the case
   * sent), straight from the vendor or sandbox — not through the destination. Return one entry per
   * identity asked for, `undefined` when the vendor does not hold it. Cases assert this end state.
   */
  readonly read: (
    identities: readonly string[],
    scope: ConformanceScope,
  ) => HeldProfiles | Promise<HeldProfiles>;
  /**
   * Map a fixture profile to this destination's ProfileChange. Default: identity = `email`, and
   * `fields` = `{ email, ...fields }` with names translated by `fieldNames`; deletes carry only
   * `profileId` and `identity`; lists are passed through.
   */
  readonly toChange?: (profile: ConformanceProfile, scope: ConformanceScope) => ProfileChange;
  /**
   * For the default `toChange`: canonical fixture field name (`email`, `firstName`, `lastName`, `city`,
   * `notes`) → this destination's field name, e.g. `{ email: 'C_EmailAddress', firstName: 'C_FirstName' }`.
   * Unlisted names are used as they are.
   */
  readonly fieldNames?: Readonly<Record<string, string>>;
  /** Extra `createContext` input for every instance (logger, short HTTP timeouts, fewer retries). */
  readonly context?: (scope: ConformanceScope) => Omit<CreateContextInput, 'options'>;
  /** Runs before each case, e.g. to reset a shared sandbox. */
  readonly beforeEach?: (scope: ConformanceScope) => void | Promise<void>;
  /** Runs after each case, pass or fail, e.g. to drop the case's namespace. */
  readonly afterEach?: (scope: ConformanceScope) => void | Promise<void>;
  /** Fault injection; cases without their hook are skipped loudly. */
  readonly faults?: ConformanceFaults;
  /**
   * Loads the destination again from a fresh module graph, as a restarted process would, e.g.
   * `() => import('../src/index.ts').then((m) => m.acme)`. The kit calls `vi.resetModules()` first,
   * so state the plugin keeps in module-level variables is gone; the restart case checks a job
   * with it. The vendor (or its fake) must of course survive: keep its state outside the plugin's
   * modules.
   */
  readonly freshDestination?: () => Promise<Destination>;
  /**
   * Bytes of the payload the vendor received for `job` (the upload bodies), read from the vendor.
   * The multi-byte size case compares it with `maxBytesPerJob`. Without it, the kit counts the
   * string and byte bodies the destination sent through `ctx.http`.
   */
  readonly jobBytes?: (
    job: JobHandle,
    scope: ConformanceScope,
  ) => number | undefined | Promise<number | undefined>;
  /**
   * Requests the vendor received in this case so far. The empty-batch case checks that none were
   * made. Without it, the kit counts the requests made through `ctx.http`.
   */
  readonly vendorCalls?: (scope: ConformanceScope) => number | Promise<number>;
  readonly settings?: ConformanceSettings;
}
