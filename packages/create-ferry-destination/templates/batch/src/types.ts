/**
 * Wire types of the vendor's batch API: what the plugin sends and what it reads back. Keep them as
 * the vendor documents them; nothing else in the plugin should depend on the vendor's shapes.
 */

/** A field value as it travels: dates are ISO 8601 strings by then, `null` clears the field. */
export type WireValue = string | number | boolean | null;

/** One record of `POST /v1/:account/contacts/batch`; contacts are identified by `email`. */
export type WireRecord =
  | {
      readonly op: 'upsert';
      readonly email: string;
      readonly fields: Readonly<Record<string, WireValue>>;
      readonly lists?: { readonly add: readonly string[]; readonly remove: readonly string[] };
    }
  | { readonly op: 'delete'; readonly email: string };

/** The vendor's answer for one record, by its index in the request. */
export interface VendorResult {
  readonly index: number;
  readonly status: 'ok' | 'rejected' | 'retry';
  readonly code?: string;
  readonly message?: string;
  readonly field?: string;
  readonly retryAfterMs?: number;
}

export interface VendorBatchResponse {
  readonly batchId: string;
  readonly results: readonly VendorResult[];
}

/** `GET /v1/:account/batches/:id`. */
export interface VendorBatch {
  readonly id: string;
  readonly state: 'completed';
  readonly total: number;
}
