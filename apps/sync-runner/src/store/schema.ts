/**
 * Row types of the state store, as Kysely sees them. Only portable column types are used (text,
 * integer, bigint), so the same schema runs on SQLite and PostgreSQL: timestamps are epoch
 * milliseconds in `bigint` columns, JSON is kept as `text`, enumerations are `text`.
 */

/** A run of `ferry sync`. `running` rows left by a killed process become `interrupted` on the next run. */
export type RunStatus = 'running' | 'completed' | 'failed' | 'aborted' | 'interrupted';

/**
 * Where one profile stands at one destination.
 * - `pending`: in a planned or submitted job (`job_id`), not settled yet;
 * - `exported`: the destination confirmed `confirmed_fingerprint`;
 * - `rejected`: permanently refused (error columns say why); sent again only when it changes or on `ferry retry`;
 * - `retry_wait`: a transient failure; `change` holds what to send again at `next_attempt_at`;
 * - `deleted`: removed from the destination in mirror mode.
 */
export type ProfileStatus = 'pending' | 'exported' | 'rejected' | 'retry_wait' | 'deleted';

/**
 * A job's life: `planned` (batch and members persisted, nothing sent) → `submitting` (the export call
 * may have reached the vendor) → `submitted` (handle persisted) → `settled` or `failed`. A crash in
 * `planned` or `submitting` resubmits; in `submitted` it checks again.
 */
export type JobState = 'planned' | 'submitting' | 'submitted' | 'settled' | 'failed';

export type ChangeOp = 'upsert' | 'delete';

export interface RunsTable {
  id: string;
  started_at: number;
  finished_at: number | null;
  status: RunStatus;
  /** JSON: the options the run was started with (destinations, dry run, full). Never secrets. */
  options: string;
  /** JSON: the final `RunSummary`, once the run ended. */
  summary: string | null;
  error: string | null;
}

/**
 * Expiring claims with fencing tokens (migration 0002; it replaced 0001's single `locks` row).
 * `key` names what is claimed: `lane:<destination>`, `job:<id>`, `run:<id>`. A released lease keeps
 * its row with `expires_at = 0`, so the token keeps growing across claims.
 */
export interface LeasesTable {
  key: string;
  owner: string;
  token: number;
  acquired_at: number;
  expires_at: number;
}

/** One destination's share of a run: its state and counters as the driving process last saved them. */
export interface RunLanesTable {
  run_id: string;
  destination: string;
  state: 'planning' | 'finishing' | 'done';
  /** JSON `DestinationCounters` (a `DestinationSummary` once done). */
  counters: string;
  updated_at: number;
}

/** Ids read in one run: duplicate detection with bounded memory, and the "still in the source" set for mirror mode. */
export interface RunSeenTable {
  run_id: string;
  profile_id: string;
}

export interface BadRowsTable {
  run_id: string;
  row: number;
  profile_id: string | null;
  reason: string;
}

export interface ProfileStateTable {
  destination: string;
  profile_id: string;
  identity: string;
  status: ProfileStatus;
  /** The operation of the latest change planned for this profile. */
  op: ChangeOp;
  /** Fingerprint of the latest change planned or rejected (null for deletes). */
  fingerprint: string | null;
  /** Fingerprint the destination last confirmed; the diff compares against this one only. */
  confirmed_fingerprint: string | null;
  /** The job holding the latest change, while `pending`. Outcomes of older jobs never overwrite newer state. */
  job_id: string | null;
  attempts: number;
  next_attempt_at: number | null;
  /** JSON `StoredChange`, kept only while `retry_wait`. */
  change: string | null;
  error_code: string | null;
  error_message: string | null;
  error_field: string | null;
  run_id: string | null;
  updated_at: number;
}

export interface JobsTable {
  id: string;
  destination: string;
  run_id: string;
  state: JobState;
  /** Submissions made so far (resubmissions after a crash, a vanished job, or a transient submit error). */
  attempt: number;
  member_count: number;
  bytes: number;
  /** JSON: the destination's job handle, verbatim. */
  handle: string | null;
  /** SHA-256 of the per-job callback token; the token itself is never stored. */
  callback_token_hash: string | null;
  planned_at: number;
  submitted_at: number | null;
  settled_at: number | null;
  next_check_at: number | null;
  check_count: number;
  rejected_count: number;
  error_code: string | null;
  error_message: string | null;
}

/**
 * A job's members in submission order, a page of up to 1,000 per row: writing a member per row
 * costs a B-tree insert (and later a delete) per profile, a page costs one per thousand. Members
 * are only ever read whole, to check or resubmit their job after a restart.
 */
export interface JobMembersTable {
  job_id: string;
  /** 0-based; pages concatenated in order are the members in order. */
  page: number;
  /** JSON array of `StoredMember` tuples. */
  members: string;
}

/** `ferry serve` bearer tokens: only the SHA-256 of the token is kept. */
export interface ApiTokensTable {
  id: string;
  name: string;
  scope: 'read' | 'write';
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

/** A dashboard session: the SHA-256 of its cookie value, never the value. */
export interface ApiSessionsTable {
  hash: string;
  token_id: string;
  created_at: number;
  expires_at: number;
}

/** The first response to an Idempotency-Key (per token); `status` is null while it is being made. */
export interface IdempotencyKeysTable {
  token_id: string;
  key: string;
  /** SHA-256 of what makes the request (method, path, query, content type, body). */
  fingerprint: string;
  status: number | null;
  /** JSON `{ headers, body }`. */
  response: string | null;
  created_at: number;
}

/** Completion webhook endpoints. The secret signs deliveries, so it is kept; it is never shown again. */
export interface WebhookEndpointsTable {
  id: string;
  url: string;
  secret: string;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  /** `api` (POST /v1/webhook-endpoints), `config` (`service.webhooks`) or `run` (a per-run callback). */
  kind: 'api' | 'config' | 'run';
  /** The run of a `run` endpoint. */
  run_id: string | null;
  /** JSON array of the event types sent, or null for all. */
  events: string | null;
}

/** The outbox: one delivery per endpoint and run; `id` is the `webhook-id` of every attempt. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  run_id: string;
  type: string;
  /** The exact JSON body that is signed and sent. */
  payload: string;
  state: 'pending' | 'delivered' | 'failed';
  /** JSON array of `{ at, status, error }`. */
  attempts: string;
  next_attempt_at: number | null;
  created_at: number;
  /** Attempts made before the last redelivery: the retry schedule starts again from there. */
  attempts_base: number;
}

/** Secrets the service itself keeps, such as the one that signs per-run callbacks. */
export interface ServiceSecretsTable {
  name: string;
  value: string;
  created_at: number;
}

/** A vendor export an async source reads (migration 0005): see export-store.ts. */
export interface SourceExportsTable {
  key: string;
  export_id: string;
  source: string;
  state: 'started' | 'ready' | 'downloaded';
  /** JSON ExportHandle. */
  handle: string;
  /** JSON ExportPart[], once ready. */
  parts: string | null;
  expires_at: number | null;
  total: number | null;
  part_index: number;
  /** JSON checkpoint within `part_index`. */
  checkpoint: string;
  rows: number;
  started_at: number;
  updated_at: number;
}

/** The records of an export, in read order. */
export interface SourceExportRowsTable {
  export_id: string;
  seq: number;
  /** JSON ExportRecord. */
  record: string;
}

export interface Database {
  source_exports: SourceExportsTable;
  source_export_rows: SourceExportRowsTable;
  runs: RunsTable;
  leases: LeasesTable;
  run_lanes: RunLanesTable;
  api_tokens: ApiTokensTable;
  api_sessions: ApiSessionsTable;
  idempotency_keys: IdempotencyKeysTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  service_secrets: ServiceSecretsTable;
  run_seen: RunSeenTable;
  bad_rows: BadRowsTable;
  profile_state: ProfileStateTable;
  jobs: JobsTable;
  job_members: JobMembersTable;
}
