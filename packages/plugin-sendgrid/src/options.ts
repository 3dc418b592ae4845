import { secret } from '@ferry/core';
import { z } from 'zod';

/** SendGrid's hard caps (vendor-apis.md B.3). */
export const VENDOR_LIMITS = {
  /** Contacts per `PUT /v3/marketing/contacts`. */
  jsonContacts: 30_000,
  /**
   * "6 MB" per upsert request. The docs do not say MB or MiB: the stricter reading, 6,000,000
   * bytes, is both the default and the most an option may ask for (the sandbox enforces it too).
   */
  jsonBytes: 6_000_000,
  /** Rows per CSV import. */
  csvContacts: 1_000_000,
  /** Bytes per CSV import file (5 GB). */
  csvBytes: 5 * 1000 ** 3,
  /** Addresses per `POST /v3/marketing/contacts/search/emails`. */
  searchEmails: 100,
} as const;

/** List ids are UUIDs in the spec (`list_ids` items have `format: uuid`). */
const LIST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Options of the SendGrid destination. Only `apiKey` is required; groups use `prefault({})` so an
 * omitted group still gets its members' defaults. Unknown keys are errors, so a typo is a
 * ConfigError naming the key rather than a setting silently ignored.
 */
export const sendgridOptions = z.strictObject({
  /**
   * API key with the Marketing permissions (Contacts read/write, Field Definitions read, Lists read).
   * Sent as `Authorization: Bearer <key>`. Required; secret, so it is redacted everywhere.
   */
  apiKey: secret(z.string().min(1).describe('SendGrid API key with Marketing permissions (secret).')),
  /**
   * API base URL. Default `https://api.sendgrid.com`; EU regional subusers use
   * `https://api.eu.sendgrid.com`; tests and `ferry sandbox` point it at the local emulator.
   */
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .default('https://api.sendgrid.com')
    .describe('API base URL (default https://api.sendgrid.com).'),
  /**
   * Subuser to act for, sent as the `on-behalf-of` header (parent accounts only). Default: none.
   * SendGrid documents the header for its v3 API generally; support on the Marketing endpoints is
   * unverified.
   */
  onBehalfOf: z.string().min(1).optional().describe('Subuser to act for (on-behalf-of header).'),
  /**
   * How upserts are sent. Default `auto`.
   * - `json`: `PUT /v3/marketing/contacts`, at most `json.maxProfilesPerJob` profiles and
   *   `json.maxBytesPerJob` bytes per job (the runner packs to these).
   * - `csv`: a CSV import (`PUT /v3/marketing/contacts/imports`, then the gzip file to `upload_uri`),
   *   packed to `csv.maxProfilesPerJob` / `csv.maxBytesPerJob`.
   * - `auto`: the runner packs to the `csv` limits; at submission every group of upserts (profiles
   *   adding the same lists — usually the whole batch) that fits in one JSON request under the `json`
   *   limits is sent as JSON (one call), and any larger group as a CSV import (two calls, gzip).
   *   So small and incremental syncs use JSON, and bulk loads use CSV imports.
   */
  submission: z
    .enum(['json', 'csv', 'auto'])
    .default('auto')
    .describe('json | csv | auto (JSON when a job fits one request, else CSV import).'),
  /** Lists every upserted contact is added to, on top of each profile's own list additions. Default `[]`. */
  listIds: z
    .array(z.string().regex(LIST_ID, 'must be a SendGrid list id (a UUID)'))
    .default([])
    .describe('List ids every upserted contact is added to.'),
  /** Limits of the JSON path. */
  json: z
    .strictObject({
      /** Most profiles per JSON job. Default 30,000 (the vendor's cap). */
      maxProfilesPerJob: z
        .number()
        .int()
        .min(1)
        .max(VENDOR_LIMITS.jsonContacts)
        .default(VENDOR_LIMITS.jsonContacts)
        .describe('Most profiles per JSON upsert job (≤ 30,000).'),
      /** Most bytes of one upsert body. Default and maximum 6,000,000 (the vendor's "6 MB", read as 10^6). */
      maxBytesPerJob: z
        .number()
        .int()
        .min(1024)
        .max(VENDOR_LIMITS.jsonBytes)
        .default(VENDOR_LIMITS.jsonBytes)
        .describe('Most bytes per JSON upsert request (≤ 6,000,000).'),
    })
    .prefault({}),
  /** Limits and encoding of the CSV import path. */
  csv: z
    .strictObject({
      /**
       * Most profiles per CSV import job. Default 100,000; the vendor takes up to 1,000,000. Batches
       * are streamed, not held: submitting one keeps about 100 bytes per profile (its e-mail, to find
       * duplicates) and the gzip file (a tenth of the CSV, typically).
       */
      maxProfilesPerJob: z
        .number()
        .int()
        .min(1)
        .max(VENDOR_LIMITS.csvContacts)
        .default(100_000)
        .describe('Most profiles per CSV import job (≤ 1,000,000).'),
      /** Most uncompressed CSV bytes per import. Default 256 MiB (the vendor's cap is 5 GB). */
      maxBytesPerJob: z
        .number()
        .int()
        .min(1024)
        .max(VENDOR_LIMITS.csvBytes)
        .default(256 * 1024 * 1024)
        .describe('Most uncompressed CSV bytes per import (≤ 5 GB).'),
      /** Upload the file gzip-compressed (`Content-Encoding: gzip`). Default `true`. */
      gzip: z.boolean().default(true).describe('Gzip the CSV upload.'),
    })
    .prefault({}),
  /** Jobs the runner may have submitted and unsettled at once. Default 4. */
  maxJobsInFlight: z.number().int().min(1).max(100).default(4).describe('Jobs in flight at once.'),
  /**
   * Sustained request rate the HTTP client keeps to. Default: none — SendGrid does not publish its
   * numbers, and the client already waits out `X-RateLimit-Remaining: 0` and 429 `X-RateLimit-Reset`.
   */
  requestsPerSecond: z
    .number()
    .positive()
    .max(1000)
    .optional()
    .describe('Client-side request rate cap (default none; vendor rate-limit headers are honoured).'),
  /**
   * Contact ids per `DELETE /v3/marketing/contacts?ids=` (and per list-removal call). Default 100:
   * the vendor documents no maximum, and 100 ids keep the URL under 4 KB.
   */
  deleteIdsPerRequest: z
    .number()
    .int()
    .min(1)
    .max(300)
    .default(100)
    .describe('Contact ids per delete request (≤ 300, URL length).'),
});

export type SendgridOptions = z.output<typeof sendgridOptions>;

/** The submission path whose limits the runner packs to. */
export const packingPath = (options: SendgridOptions): 'json' | 'csv' =>
  options.submission === 'json' ? 'json' : 'csv';
