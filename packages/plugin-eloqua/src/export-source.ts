import { randomBytes } from 'node:crypto';
import {
  defineSource,
  EXPORT_EXPIRED,
  type ExportHandle,
  type ExportPage,
  type ExportStatus,
  PermanentError,
  type SourceContext,
} from '@ferry/core';
import { z } from 'zod';
import { bulkBaseUrl, checkBaseUrl } from './auth.ts';
import { bulkClient, sendBulk } from './client.ts';
import { eloquaOptions, parseIsoDuration } from './options.ts';

/*
 * Eloqua Bulk API 2.0 contact exports as an async source: an export definition (columns → field
 * statements, an optional EML filter, the data's retention), one sync of it, then
 * `GET /syncs/{id}/data?offset&limit` pages of up to 50,000 rows. The handle carries the base URL
 * and the uris, so any process can check and read it; a page's checkpoint is the next offset.
 */

const HOUR_MS = 3_600_000;
const STATEMENT = /^\{\{[^{}]+\}\}$/;
const INTERNAL_NAME = /^[A-Za-z0-9_]{1,100}$/;

export const eloquaExportOptions = z.strictObject({
  /** Credentials, as for the destination. Required. */
  auth: eloquaOptions.shape.auth,
  /** Login host answering GET /id. Default `https://login.eloqua.com`. */
  loginUrl: eloquaOptions.shape.loginUrl,
  /**
   * Column name → contact field: an internal name (`C_EmailAddress`) or a full statement
   * (`{{Contact.Id}}`). Column names are what the runner's `idField` and mappings refer to. 1–250.
   */
  fields: z
    .record(
      z.string().regex(INTERNAL_NAME, 'column names use letters, digits and _ (at most 100)'),
      z
        .string()
        .refine(
          (value) => INTERNAL_NAME.test(value) || STATEMENT.test(value),
          'expected a field internal name such as C_EmailAddress or a statement such as {{Contact.Id}}',
        ),
    )
    .refine((fields) => Object.keys(fields).length >= 1 && Object.keys(fields).length <= 250, {
      message: 'expected 1 to 250 fields',
    })
    .describe('Column → field internal name or statement.'),
  /** An EML filter, e.g. `'{{Contact.Field(C_Country)}}' = 'DE'`. Default: every contact. */
  filter: z.string().min(1).optional().describe('EML filter of the export definition.'),
  /** How long Eloqua keeps the exported data (PT1H–P14D). Default `PT12H`, Eloqua's own default. */
  dataRetentionDuration: z
    .string()
    .refine((value) => {
      const ms = parseIsoDuration(value);
      return ms !== undefined && ms >= HOUR_MS && ms <= 14 * 24 * HOUR_MS;
    }, 'must be an ISO-8601 duration between PT1H and P14D')
    .default('PT12H')
    .describe('dataRetentionDuration of the export definition.'),
  /** Rows per data request; Eloqua allows 1–50,000. Default 50,000. */
  pageSize: z.number().int().min(1).max(50_000).default(50_000).describe('Rows per data page.'),
  /** HTTP requests in flight at once. Default 4. */
  maxConcurrentRequests: z.number().int().min(1).max(64).default(4).describe('Concurrent HTTP requests.'),
});

export type EloquaExportOptions = z.output<typeof eloquaExportOptions>;
type Ctx = SourceContext<EloquaExportOptions>;

interface EloquaExportHandle {
  readonly base: string;
  readonly definitionUri: string;
  readonly syncUri: string;
}

const URI = /^\/(?:contacts\/exports|syncs)\/\d{1,15}$/;

const readHandle = (ctx: Ctx, handle: ExportHandle): EloquaExportHandle => {
  const { base, definitionUri, syncUri } = handle as Partial<Record<string, unknown>>;
  if (
    typeof base !== 'string' ||
    typeof definitionUri !== 'string' ||
    typeof syncUri !== 'string' ||
    !URI.test(definitionUri) ||
    !URI.test(syncUri)
  )
    throw new PermanentError(ctx.destination, 'unreadable export handle (not from this source?)');
  return { base: checkBaseUrl(ctx.destination, base), definitionUri, syncUri };
};

const statementOf = (field: string): string =>
  STATEMENT.test(field) ? field : `{{Contact.Field(${field})}}`;

interface SyncBody {
  readonly status?: string;
  readonly syncEndedAt?: string;
}
interface DataPage {
  readonly items?: Record<string, string | null>[];
  readonly totalResults?: number;
  readonly hasMore?: boolean;
  readonly count?: number;
}

const expired = (ctx: Ctx, what: string): PermanentError =>
  new PermanentError(ctx.destination, `the export's data is gone at Eloqua (${what})`, {
    code: EXPORT_EXPIRED,
  });

export const eloquaExport = defineSource({
  name: 'eloqua',
  displayName: 'Eloqua contact export',
  options: eloquaExportOptions,
  limits: (options) => ({ maxConcurrentRequests: options.maxConcurrentRequests }),

  start: async (ctx) => {
    const base = await bulkBaseUrl(ctx);
    const bulk = bulkClient(ctx, base);
    const fields = Object.fromEntries(
      Object.entries(ctx.options.fields).map(([column, field]) => [column, statementOf(field)]),
    );
    const definition = await sendBulk<{ uri?: string }>(ctx, bulk, {
      method: 'POST',
      url: '/contacts/exports',
      json: {
        name: `ferry-export-${randomBytes(4).toString('hex')}`,
        fields,
        ...(ctx.options.filter === undefined ? {} : { filter: ctx.options.filter }),
        dataRetentionDuration: ctx.options.dataRetentionDuration,
        // One-time definitions delete themselves; cleanup deletes them sooner.
        autoDeleteDuration: 'P1D',
      },
      operation: 'create export definition',
      retry: false,
    });
    const definitionUri = definition.data?.uri;
    if (typeof definitionUri !== 'string' || !URI.test(definitionUri))
      throw new PermanentError(ctx.destination, 'Eloqua created the export definition without a uri');
    const sync = await sendBulk<{ uri?: string }>(ctx, bulk, {
      method: 'POST',
      url: '/syncs',
      json: { syncedInstanceUri: definitionUri },
      operation: 'create export sync',
      retry: false,
    });
    const syncUri = sync.data?.uri;
    if (typeof syncUri !== 'string' || !URI.test(syncUri))
      throw new PermanentError(ctx.destination, 'Eloqua created the export sync without a uri');
    return { base, definitionUri, syncUri };
  },

  check: async (ctx, raw): Promise<ExportStatus> => {
    const handle = readHandle(ctx, raw);
    const bulk = bulkClient(ctx, handle.base);
    const sync = await sendBulk<SyncBody>(ctx, bulk, {
      method: 'GET',
      url: handle.syncUri,
      operation: 'check export sync',
      accept: [404],
    });
    if (sync.status === 404)
      return {
        state: 'failed',
        retryable: true,
        code: EXPORT_EXPIRED,
        message: 'Eloqua no longer knows the sync',
      };
    const status = sync.data?.status;
    if (status === 'pending' || status === 'active') return { state: 'pending', checkAfterMs: 1000 };
    if (status !== 'success' && status !== 'warning')
      return { state: 'failed', retryable: false, message: `the export sync ended in ${String(status)}` };
    // The total, so a later page can tell the data was replaced or dropped under it.
    const first = await sendBulk<DataPage>(ctx, bulk, {
      method: 'GET',
      url: `${handle.syncUri}/data`,
      query: { limit: 1, offset: 0 },
      operation: 'read export data',
      accept: [404],
    });
    if (first.status === 404)
      return { state: 'failed', retryable: true, code: EXPORT_EXPIRED, message: "the export's data expired" };
    const total = first.data?.totalResults ?? 0;
    const retention = parseIsoDuration(ctx.options.dataRetentionDuration) ?? 12 * HOUR_MS;
    const ended = Date.parse(sync.data?.syncEndedAt ?? '');
    return {
      state: 'ready',
      total,
      parts: total === 0 ? [] : [{ syncUri: handle.syncUri, total }],
      ...(Number.isNaN(ended) ? {} : { expiresAt: new Date(ended + retention).toISOString() }),
    };
  },

  read: async function* (ctx, raw, part, checkpoint): AsyncGenerator<ExportPage> {
    const handle = readHandle(ctx, raw);
    const bulk = bulkClient(ctx, handle.base);
    const total = typeof part.total === 'number' ? part.total : undefined;
    let offset =
      typeof checkpoint === 'object' && checkpoint !== null && !Array.isArray(checkpoint)
        ? Number(checkpoint.offset ?? 0)
        : 0;
    for (;;) {
      const page = await sendBulk<DataPage>(ctx, bulk, {
        method: 'GET',
        url: `${handle.syncUri}/data`,
        query: { limit: ctx.options.pageSize, offset },
        operation: 'read export data',
        accept: [404],
      });
      if (page.status === 404) throw expired(ctx, 'GET /syncs/{id}/data answered 404');
      // A real instance may answer an empty 200 once the data is gone: a total that moved is expiry.
      if (total !== undefined && page.data?.totalResults !== undefined && page.data.totalResults !== total)
        throw expired(ctx, `${page.data.totalResults} rows where there were ${total}`);
      const items = page.data?.items ?? [];
      offset += items.length;
      yield { records: items, checkpoint: { offset } };
      if (items.length === 0 || page.data?.hasMore !== true) return;
    }
  },

  cleanup: async (ctx, raw) => {
    const handle = readHandle(ctx, raw);
    // The definition goes, and its synced data with it.
    await sendBulk(ctx, bulkClient(ctx, handle.base), {
      method: 'DELETE',
      url: handle.definitionUri,
      operation: 'delete export definition',
      accept: [404],
    });
  },
});
