import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { type CommonOptions, jobTimeline } from '../vendor-server.ts';
import { isoSeconds, renderContact } from './contact-view.ts';
import type { SendgridContext } from './context.ts';
import { sendError, sendS3Error } from './errors.ts';
import { csvField } from './errors-file.ts';

/**
 * Contact exports (`POST /v3/marketing/contacts/exports`, `GET .../exports/{id}`, `GET .../exports`):
 * an export is `pending` on the shared timeline, then `ready` with `urls` to gzip'd files
 * (S3 in production) that can be downloaded until `expires_at`, after which they answer like an
 * expired presigned URL (403 AccessDenied). The rows are a snapshot taken when the export was
 * requested. Layout of the files and every other choice: docs/sendgrid.md "Exports".
 */

export interface ExportSettings {
  /** How long the files stay downloadable after the export is ready (default 72 h, UNVERIFIED). */
  readonly retentionMs: number;
  /**
   * Most contacts per file; more are split into several files (default: none). SendGrid splits by
   * `max_file_size` in MB, which a test cannot reach with a few contacts, so the sandbox also
   * honours this count (a sandbox-only option).
   */
  readonly maxRowsPerFile: number;
  /** The clock (default Date.now). */
  readonly now: () => number;
  readonly timing: Pick<CommonOptions, 'startDelayMs' | 'recordsPerSecond'>;
}

export const DEFAULT_EXPORT_RETENTION_MS = 72 * 3_600_000;

type FileType = 'csv' | 'json';

interface ContactExport {
  readonly id: string;
  readonly fileType: FileType;
  readonly listIds: readonly string[];
  readonly createdAtMs: number;
  readonly endsAtMs: number;
  readonly expiresAtMs: number;
  readonly maxFileBytes: number;
  /** Encoded lines (without the CSV header), one per contact; split into files when ready. */
  readonly lines: readonly string[];
  readonly header: string | undefined;
  /** Line ranges of each file, computed once when first asked. */
  files: { readonly from: number; readonly to: number }[] | undefined;
  expired: boolean;
}

const RESERVED_CSV = [
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
] as const;

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string');

export const registerExportRoutes = (
  app: FastifyInstance,
  ctx: SendgridContext,
  settings: ExportSettings,
): { readonly reset: () => void } => {
  let exports = new Map<string, ContactExport>();

  /** One contact as the JSON file holds it: set fields only, keys sorted, `contact_id` (sendgrid-csharp#1024). */
  const jsonLine = (view: Record<string, unknown>): string => {
    const out: Record<string, unknown> = {};
    const source: Record<string, unknown> = { ...view, contact_id: view.id };
    delete source.id;
    delete source._metadata;
    delete source.segment_ids;
    for (const key of Object.keys(source).sort()) {
      const value = source[key];
      if (value === '' || (Array.isArray(value) && value.length === 0)) continue;
      out[key] = value;
    }
    return JSON.stringify(out);
  };

  const snapshot = (listIds: readonly string[], fileType: FileType, origin: string) => {
    const customNames = ctx.fields.custom().map((field) => field.name);
    const lines: string[] = [];
    for (const slot of ctx.store.slots()) {
      if (listIds.length > 0 && !listIds.some((id) => ctx.store.isOnList(id, slot))) continue;
      const view = renderContact(ctx, slot, origin);
      if (view === undefined) continue;
      if (fileType === 'json') {
        lines.push(jsonLine(view));
        continue;
      }
      const custom = (view.custom_fields ?? {}) as Record<string, unknown>;
      const cells = [
        ...RESERVED_CSV.map((name) => {
          const value = view[name];
          return Array.isArray(value) ? value.join(',') : String(value ?? '');
        }),
        String(view.id),
        String(view.created_at),
        String(view.updated_at),
        ...customNames.map((name) => (custom[name] === undefined ? '' : String(custom[name]))),
      ];
      lines.push(cells.map(csvField).join(','));
    }
    const header =
      fileType === 'csv'
        ? [
            ...RESERVED_CSV.map((name) => name.toUpperCase()),
            'CONTACT_ID',
            'CREATED_AT',
            'UPDATED_AT',
            ...customNames,
          ]
            .map(csvField)
            .join(',')
        : undefined;
    return { lines, header };
  };

  const filesOf = (job: ContactExport) => {
    if (job.files !== undefined) return job.files;
    const files: { from: number; to: number }[] = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < job.lines.length; i += 1) {
      const size = Buffer.byteLength(job.lines[i] ?? '') + 1;
      const full = i - from >= settings.maxRowsPerFile || (bytes + size > job.maxFileBytes && i > from);
      if (full) {
        files.push({ from, to: i });
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
    files.push({ from, to: job.lines.length });
    job.files = files;
    return files;
  };

  const ready = (job: ContactExport) => settings.now() >= job.endsAtMs;

  const render = (job: ContactExport, origin: string): Record<string, unknown> => {
    const isReady = ready(job);
    return {
      id: job.id,
      status: isReady ? 'ready' : 'pending',
      created_at: isoSeconds(job.createdAtMs),
      updated_at: isoSeconds(isReady ? job.endsAtMs : job.createdAtMs),
      ...(isReady ? { completed_at: isoSeconds(job.endsAtMs) } : {}),
      expires_at: isoSeconds(job.expiresAtMs),
      ...(isReady
        ? {
            urls: filesOf(job).map((_, n) => `${origin}/__files/exports/${job.id}/${n}.${job.fileType}.gz`),
            contact_count: job.lines.length,
          }
        : {}),
      export_type: job.listIds.length > 0 ? 'list_export' : 'contacts_export',
      _metadata: { self: `${origin}/v3/marketing/contacts/exports/${job.id}` },
    };
  };

  app.post(
    '/v3/marketing/contacts/exports',
    { config: { endpoint: 'sendgrid.exportCreate' } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body))
        return sendError(reply, 400, 'body must be a JSON object', '');
      const listIds = body.list_ids ?? [];
      if (!isStringArray(listIds))
        return sendError(reply, 400, 'list_ids must be an array of strings', 'list_ids');
      for (const id of listIds)
        if (ctx.lists.get(id) === undefined)
          return sendError(reply, 400, `list ${id} does not exist`, 'list_ids');
      const segmentIds = body.segment_ids ?? [];
      if (!isStringArray(segmentIds))
        return sendError(reply, 400, 'segment_ids must be an array of strings', 'segment_ids');
      if (segmentIds.length > 0)
        return sendError(reply, 400, 'segments are not emulated by the sandbox', 'segment_ids');
      const fileType = body.file_type ?? 'csv';
      if (fileType !== 'csv' && fileType !== 'json')
        return sendError(reply, 400, 'file_type must be one of csv, json', 'file_type');
      const maxFileSize = body.max_file_size ?? 5000;
      if (typeof maxFileSize !== 'number' || !Number.isInteger(maxFileSize) || maxFileSize < 1)
        return sendError(reply, 400, 'max_file_size must be a positive integer (MB)', 'max_file_size');
      const origin = ctx.originOf(request);
      const now = settings.now();
      const { lines, header } = snapshot(listIds, fileType, origin);
      const endsAtMs = jobTimeline(settings.timing, now, lines.length).endsAtMs;
      const job: ContactExport = {
        id: randomUUID(),
        fileType,
        listIds,
        createdAtMs: now,
        endsAtMs,
        expiresAtMs: endsAtMs + settings.retentionMs,
        maxFileBytes: maxFileSize * 1_000_000,
        lines,
        header,
        files: undefined,
        expired: false,
      };
      exports.set(job.id, job);
      return reply
        .code(202)
        .send({ id: job.id, _metadata: { self: `${origin}/v3/marketing/contacts/exports/${job.id}` } });
    },
  );

  app.get(
    '/v3/marketing/contacts/exports',
    { config: { endpoint: 'sendgrid.exportList' } },
    async (request) => {
      const origin = ctx.originOf(request);
      return { result: [...exports.values()].map((job) => render(job, origin)), _metadata: {} };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v3/marketing/contacts/exports/:id',
    { config: { endpoint: 'sendgrid.exportStatus' } },
    async (request, reply) => {
      const job = exports.get(request.params.id);
      if (job === undefined) return sendError(reply, 404, 'export not found', null);
      return render(job, ctx.originOf(request));
    },
  );

  app.get<{ Params: { id: string; file: string } }>(
    '/__files/exports/:id/:file',
    { config: { endpoint: 'sendgrid.exportFile' } },
    async (request, reply) => {
      const job = exports.get(request.params.id);
      const match = /^(\d+)\.(csv|json)\.gz$/.exec(request.params.file);
      if (job === undefined || match === null || !ready(job) || match[2] !== job.fileType)
        return sendS3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (job.expired || settings.now() >= job.expiresAtMs)
        return sendS3Error(reply, 403, 'AccessDenied', 'Request has expired');
      const file = filesOf(job)[Number(match[1])];
      if (file === undefined)
        return sendS3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
      function* text(): Generator<string> {
        if (job?.header !== undefined) yield `${job.header}\n`;
        let chunk = '';
        for (let i = file?.from ?? 0; i < (file?.to ?? 0); i += 1) {
          chunk += `${job?.lines[i] ?? ''}\n`;
          if (chunk.length > 64 * 1024) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk !== '') yield chunk;
      }
      return (
        reply
          // The object is a .gz file, served as such (no Content-Encoding): the client gunzips it.
          .type('application/gzip')
          .header('content-disposition', `attachment; filename="${match[0]}"`)
          .send(Readable.from(text()).pipe(createGzip()))
      );
    },
  );

  // Test-only: expires an export's files at once (as `expires_at` passing would).
  app.post<{ Params: { id: string } }>(
    '/__sandbox/exports/:id/expire',
    { config: { endpoint: 'sandbox.exports' } },
    async (request, reply) => {
      const job = exports.get(request.params.id);
      if (job === undefined) return reply.code(404).send({ error: `no export ${request.params.id}` });
      job.expired = true;
      return reply.code(204).send();
    },
  );

  return {
    reset: () => {
      exports = new Map();
    },
  };
};
