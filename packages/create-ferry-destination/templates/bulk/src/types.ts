/**
 * Wire types of the vendor's bulk import API: what the plugin sends and what it reads back. Keep
 * them as the vendor documents them (its OpenAPI file, if it has one); nothing else in the plugin
 * should depend on the vendor's shapes.
 */

/** A field value as it travels: dates are ISO 8601 strings by then, `null` clears the field. */
export type WireValue = string | number | boolean | null;

/** One line of an import body (NDJSON); contacts are identified by `email`. */
export type WireRecord =
  | {
      readonly op: 'upsert';
      readonly email: string;
      readonly fields: Readonly<Record<string, WireValue>>;
      readonly lists?: { readonly add: readonly string[]; readonly remove: readonly string[] };
    }
  | { readonly op: 'delete'; readonly email: string };

/** A per-record error of a finished import; `row` is the 0-based record of the upload. */
export interface VendorReject {
  readonly row: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** The record may go through if sent again later. */
  readonly transient?: boolean;
  readonly retryAfterMs?: number;
}

/** `GET /v1/:account/imports/:id`. */
export type VendorImport =
  | { readonly id: string; readonly state: 'pending'; readonly total: number; readonly processed: number; readonly etaMs: number }
  | { readonly id: string; readonly state: 'completed'; readonly total: number; readonly rejects: readonly VendorReject[] }
  | {
      readonly id: string;
      readonly state: 'failed';
      readonly total: number;
      readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean };
    };
