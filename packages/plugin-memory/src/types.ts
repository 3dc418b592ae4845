/**
 * Wire types of the in-process "vendor" (store.ts). They play the role a vendor's OpenAPI file plays
 * for a real plugin: the destination and the fake vendor agree on these shapes and on nothing else.
 */

/** A field value as it travels to the vendor: dates are ISO strings by then. */
export type WireValue = string | number | boolean | null;

/** One line of an import body (NDJSON): the vendor identifies contacts by `email`, case-insensitively. */
export type WireRecord =
  | {
      readonly op: 'upsert';
      readonly email: string;
      readonly fields: Readonly<Record<string, WireValue>>;
      readonly lists?: { readonly add: readonly string[]; readonly remove: readonly string[] };
    }
  | { readonly op: 'delete'; readonly email: string };

/**
 * The "import definition" sent with each import, like the settings a real bulk API takes with a job:
 * how fast this fake vendor processes it and which per-record checks it applies.
 */
export interface ImportSettings {
  /** Milliseconds the vendor takes for any import. */
  readonly perJobMs: number;
  /** Extra milliseconds per record. */
  readonly perRecordMs: number;
  /** Reject records whose e-mail is not syntactically valid (at completion, like a real vendor). */
  readonly validateEmails: boolean;
  /** Reject records with a longer string value (in Unicode code points). */
  readonly maxFieldLength: number;
}

/**
 * Fault injection the vendor reads from every request, like a sandbox's test-mode headers. Counts are
 * thresholds over the vendor's own counters, so every destination instance configured the same way
 * sees the same vendor and nothing is remembered outside it.
 */
export interface VendorFaults {
  /** The first N status reads of every import answer 503. */
  readonly failStatusChecks: number;
  /** The first N imports of the namespace are lost: accepted, then unknown (404). */
  readonly forgetJobs: number;
  /** The first N calls to the namespace answer 429. */
  readonly rateLimitCalls: number;
  /** Retry-After of those 429s, in ms. */
  readonly retryAfterMs: number;
  /** The first N imports of the namespace fail as a whole (retryable). */
  readonly failJobs: number;
}

/** What every call to the vendor carries: where, who, and the faults to simulate. */
export interface VendorRequest {
  readonly namespace: string;
  readonly apiKey: string;
  readonly faults: VendorFaults;
}

/** A per-record error of a finished import; `row` is the 0-based line of the import body. */
export interface VendorReject {
  readonly row: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** The record may succeed if sent again later (the contact was locked by a merge, say). */
  readonly transient?: boolean;
  readonly retryAfterMs?: number;
}

/** An import as the vendor reports it. */
export type VendorImport =
  | {
      readonly id: string;
      readonly state: 'processing';
      readonly total: number;
      readonly processed: number;
      /** Milliseconds until the vendor expects to finish. */
      readonly etaMs: number;
    }
  | {
      readonly id: string;
      readonly state: 'complete';
      readonly total: number;
      readonly rejects: readonly VendorReject[];
    }
  | {
      readonly id: string;
      readonly state: 'failed';
      readonly total: number;
      readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean };
    };

/** The vendor's answer, shaped like an HTTP response so client.ts maps it the way real plugins map statuses. */
export type VendorResponse<T> =
  | { readonly ok: true; readonly status: 200 | 202 | 204; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly error: string; readonly retryAfterMs?: number };
