/**
 * Wire types of SendGrid's Marketing Contacts API v3, as the published OpenAPI files describe them
 * (`tsg_mc_contacts_v3.yaml`, `tsg_mc_custom_fields_v3.yaml`, `tsg_mc_lists_v3.yaml`; see
 * /work/shared/vendor-apis.md Part B). Only what this plugin sends or reads is typed; responses are
 * read defensively because several details are unverified (extra keys are ignored).
 */

/** A value in a contact's top-level reserved fields or `custom_fields`. */
export type ContactValue = string | number | readonly string[];

/** `ContactRequest`: one contact of `PUT /v3/marketing/contacts`. `custom_fields` is keyed by field id. */
export interface ContactRequest {
  readonly email: string;
  readonly [reservedField: string]: ContactValue | Readonly<Record<string, ContactValue>> | undefined;
  readonly custom_fields?: Readonly<Record<string, string | number>>;
}

/** Body of `PUT /v3/marketing/contacts` (1–30,000 contacts, at most 6 MB). */
export interface UpsertRequest {
  readonly list_ids: readonly string[];
  readonly contacts: readonly ContactRequest[];
}

/** 202 of the upsert and of `DELETE /v3/marketing/contacts` (the spec types the delete's `job_id` as object). */
export interface JobAccepted {
  readonly job_id: string;
}

/** Body of `PUT /v3/marketing/contacts/imports`; `field_mappings[i]` is the field id of CSV column i. */
export interface ImportRequest {
  readonly file_type: 'csv';
  readonly field_mappings: readonly (string | null)[];
  readonly list_ids: readonly string[];
}

/** 200 of the import request: where to PUT the file, and the headers that must go with it. */
export interface ImportTicket {
  readonly job_id: string;
  readonly upload_uri: string;
  readonly upload_headers?: readonly { readonly header: string; readonly value: string }[];
}

/** `ContactImport`: `GET /v3/marketing/contacts/imports/{id}` for upserts, imports and deletes alike. */
export interface ContactImport {
  readonly id: string;
  /** `pending` (not started), `completed` (no errors), `errored` (some errors), `failed` (all, or unprocessable). */
  readonly status: string;
  /** `upsert` or `delete` per the spec; other spellings (`upsert_contacts`) are seen in the wild. */
  readonly job_type?: string;
  readonly results?: {
    readonly requested_count?: number;
    readonly created_count?: number;
    readonly updated_count?: number;
    readonly deleted_count?: number;
    readonly errored_count?: number;
    /** Download URL of the error file (a presigned URL: fetched without the API key). */
    readonly errors_url?: string;
  };
  readonly started_at?: string;
  readonly finished_at?: string;
}

export type FieldType = 'Text' | 'Number' | 'Date';

/** One entry of `GET /v3/marketing/field_definitions`. */
export interface FieldDefinition {
  readonly id: string;
  readonly name: string;
  readonly field_type: FieldType;
  readonly read_only?: boolean;
}

export interface FieldDefinitionsResponse {
  readonly custom_fields?: readonly FieldDefinition[];
  readonly reserved_fields?: readonly FieldDefinition[];
}

/** 200 of `POST /v3/marketing/contacts/search/emails`: one entry per searched address (lower-cased). */
export interface SearchEmailsResponse {
  readonly result?: Readonly<
    Record<
      string,
      { readonly contact?: { readonly id?: string; readonly email?: string }; readonly error?: string }
    >
  >;
}

/** One page of `GET /v3/marketing/lists`. */
export interface ListsPage {
  readonly result?: readonly { readonly id: string; readonly name?: string }[];
  readonly _metadata?: { readonly next?: string };
}

/**
 * SendGrid's error bodies: `{"errors":[{"field":...,"message":...}]}`, where `field` may be null or
 * missing, plus `error_id`/`parameter`/`help` on some endpoints; `GET imports/{id}` puts a single
 * object under `errors`.
 */
export interface ErrorItem {
  readonly message?: string;
  readonly field?: string | null;
  readonly error_id?: string;
  readonly parameter?: string;
}

export interface ErrorBody {
  readonly errors?: readonly ErrorItem[] | ErrorItem;
  readonly id?: string;
}
