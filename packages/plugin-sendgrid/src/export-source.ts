import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import {
  defineSource,
  EXPORT_EXPIRED,
  type ExportPage,
  type ExportRecord,
  type ExportStatus,
  type ExportValue,
  PermanentError,
  parseCsv,
  type SourceContext,
  secret,
} from '@ferry/core';
import { z } from 'zod';

/*
 * SendGrid Marketing Contacts exports as an async source: `POST /v3/marketing/contacts/exports`
 * → id; `GET .../exports/{id}` until `ready` with `urls` (gzip'd NDJSON or CSV files on S3, until
 * `expires_at`); each file is a part, read as a stream. A gzip stream cannot be resumed in the
 * middle, so a part's checkpoint counts the records already given: a resumed read downloads that
 * one file again and skips them. Both file types give the same columns: the reserved fields by
 * their API names (`email`, `first_name`, `contact_id`...), custom fields by name.
 */

const LIST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const sendgridExportOptions = z.strictObject({
  /** API key with Marketing read permission. Required; secret. */
  apiKey: secret(z.string().min(1).describe('SendGrid API key (secret).')),
  /** API base URL. Default `https://api.sendgrid.com`. */
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .default('https://api.sendgrid.com')
    .describe('API base URL.'),
  /** Subuser to act for (`on-behalf-of`). Default: none. */
  onBehalfOf: z.string().min(1).optional().describe('Subuser to act for.'),
  /** Export the members of these lists (any of them). Default: every contact. */
  listIds: z
    .array(z.string().regex(LIST_ID, 'expected a list id (UUID)'))
    .default([])
    .describe('Lists to export.'),
  /** File format SendGrid writes. Default `json` (its layout is the one a real file shows). */
  fileType: z.enum(['json', 'csv']).default('json').describe('Export file type.'),
  /** Largest file in MB; bigger exports come as several files (parts). Default 5000, SendGrid's. */
  maxFileSizeMb: z.number().int().min(1).max(5000).default(5000).describe('max_file_size of the export.'),
  /** Records per page handed to the runner (and per checkpoint). Default 10,000. */
  pageSize: z.number().int().min(1).max(100_000).default(10_000).describe('Records per page.'),
});

export type SendgridExportOptions = z.output<typeof sendgridExportOptions>;
type Ctx = SourceContext<SendgridExportOptions>;

const api = (ctx: Ctx) =>
  ctx.http.with({
    baseUrl: ctx.options.baseUrl,
    headers: {
      authorization: `Bearer ${ctx.options.apiKey}`,
      ...(ctx.options.onBehalfOf === undefined ? {} : { 'on-behalf-of': ctx.options.onBehalfOf }),
    },
  });

const exportIdOf = (ctx: Ctx, handle: { readonly [key: string]: unknown }): string => {
  const id = handle.exportId;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(id))
    throw new PermanentError(ctx.destination, 'unreadable export handle (not from this source?)');
  return id;
};

const expired = (ctx: Ctx, what: string): PermanentError =>
  new PermanentError(ctx.destination, `the export's files are gone at SendGrid (${what})`, {
    code: EXPORT_EXPIRED,
  });

/** CSV headers of the reserved fields (`EMAIL`, `CONTACT_ID`...) → their API names. */
const RESERVED = new Set([
  'email',
  'first_name',
  'last_name',
  'address_line_1',
  'address_line_2',
  'city',
  'state_province_region',
  'postal_code',
  'country',
  'alternate_emails',
  'phone_number',
  'whatsapp',
  'line',
  'facebook',
  'unique_name',
  'contact_id',
  'created_at',
  'updated_at',
  'phone_number_id',
  'external_id',
  'anonymous_id',
]);
const columnName = (header: string): string =>
  RESERVED.has(header.toLowerCase()) ? header.toLowerCase() : header;

const scalar = (value: unknown): ExportValue =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? value
    : Array.isArray(value)
      ? value.join(',')
      : JSON.stringify(value);

/** One NDJSON line → a flat record: custom fields by name beside the reserved ones. */
const fromJsonLine = (line: string): ExportRecord => {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  const record: Record<string, ExportValue> = Object.create(null);
  for (const [key, value] of Object.entries(parsed)) {
    if (key === 'custom_fields' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [name, custom] of Object.entries(value)) record[name] = scalar(custom);
    } else if (key !== '_metadata') record[key] = scalar(value);
  }
  return record;
};

async function* recordsOf(ctx: Ctx, body: Readable): AsyncGenerator<ExportRecord> {
  const text = body.pipe(createGunzip());
  if (ctx.options.fileType === 'json') {
    for await (const line of createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line.trim() !== '') yield fromJsonLine(line);
    }
    return;
  }
  for await (const item of parseCsv(text)) {
    if (item.kind !== 'record')
      throw new PermanentError(ctx.destination, `export file row ${item.row}: ${item.error}`);
    const record: Record<string, ExportValue> = Object.create(null);
    for (const [header, value] of Object.entries(item.record)) record[columnName(header)] = value;
    yield record;
  }
}

export const sendgridExport = defineSource({
  name: 'sendgrid',
  displayName: 'SendGrid contact export',
  options: sendgridExportOptions,

  start: async (ctx) => {
    const { data } = await api(ctx).request<{ id?: string }>({
      method: 'POST',
      url: '/v3/marketing/contacts/exports',
      json: {
        ...(ctx.options.listIds.length === 0 ? {} : { list_ids: ctx.options.listIds }),
        file_type: ctx.options.fileType,
        max_file_size: ctx.options.maxFileSizeMb,
      },
      operation: 'start contact export',
      retry: false,
    });
    if (typeof data?.id !== 'string')
      throw new PermanentError(ctx.destination, 'SendGrid started the export without an id');
    return { exportId: data.id };
  },

  check: async (ctx, handle): Promise<ExportStatus> => {
    const id = exportIdOf(ctx, handle);
    const response = await api(ctx).request<{
      status?: string;
      urls?: string[];
      expires_at?: string;
      contact_count?: number;
      message?: string;
    }>({
      method: 'GET',
      url: `/v3/marketing/contacts/exports/${encodeURIComponent(id)}`,
      operation: 'check contact export',
      accept: [404],
    });
    if (response.status === 404)
      return {
        state: 'failed',
        retryable: true,
        code: EXPORT_EXPIRED,
        message: 'SendGrid no longer knows the export',
      };
    const body = response.data;
    if (body?.status === 'pending') return { state: 'pending', checkAfterMs: 2000 };
    if (body?.status === 'failure')
      return {
        state: 'failed',
        retryable: false,
        message: `the export failed: ${body.message ?? 'no reason given'}`,
      };
    if (body?.status !== 'ready' || !Array.isArray(body.urls))
      return {
        state: 'failed',
        retryable: false,
        message: `unexpected export status ${String(body?.status)}`,
      };
    return {
      state: 'ready',
      parts: body.urls.map((url) => ({ url })),
      ...(typeof body.expires_at === 'string' ? { expiresAt: new Date(body.expires_at).toISOString() } : {}),
      ...(typeof body.contact_count === 'number' ? { total: body.contact_count } : {}),
    };
  },

  read: async function* (ctx, _handle, part, checkpoint): AsyncGenerator<ExportPage> {
    const url = part.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url))
      throw new PermanentError(ctx.destination, 'unreadable export part (not from this source?)');
    const skip =
      typeof checkpoint === 'object' && checkpoint !== null && !Array.isArray(checkpoint)
        ? Number(checkpoint.records ?? 0)
        : 0;
    // A presigned URL: no Authorization header (S3 refuses a second auth mechanism).
    const response = await ctx.http.request<WebReadableStream<Uint8Array> | null>({
      method: 'GET',
      url,
      responseType: 'stream',
      accept: [403, 404],
      operation: 'download export file',
    });
    if (response.status === 403 || response.status === 404) {
      await response.data?.cancel();
      throw expired(ctx, `the file answered ${response.status}`);
    }
    if (response.data === null) throw new PermanentError(ctx.destination, 'the export file has no body');
    const body = Readable.fromWeb(response.data);
    let given = 0;
    let page: ExportRecord[] = [];
    try {
      for await (const record of recordsOf(ctx, body)) {
        given += 1;
        if (given <= skip) continue;
        page.push(record);
        if (page.length >= ctx.options.pageSize) {
          yield { records: page, checkpoint: { records: given } };
          page = [];
        }
      }
    } finally {
      body.destroy();
    }
    yield { records: page, checkpoint: { records: given } };
  },
});
