import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'fast-csv';
import type { FastifyInstance } from 'fastify';
import { isoSeconds } from './contact-view.ts';
import { checkListIds } from './contacts.ts';
import type { SendgridContext } from './context.ts';
import { sendError, sendS3Error } from './errors.ts';
import { errorsUrl } from './errors-file.ts';
import type { MappedField } from './field-definitions.ts';
import { erroredCount, type Job } from './jobs.ts';
import { IDENTIFIERS, packRecord } from './record.ts';
import { validateContact } from './validation.ts';

/** Reported by users for a header/mapping mismatch (vendor-apis.md B.2.3, S8). */
export const MAPPING_MISMATCH =
  "Failed to preprocess input csv: we were unable to upload your contacts because the field mapping doesn't match the CSV.";

/** The S3 headers SendGrid hands out with the presigned upload URL (S8). */
export const UPLOAD_HEADERS: readonly { header: string; value: string }[] = [
  { header: 'x-amz-server-side-encryption', value: 'aws:kms' },
];

interface UploadTicket {
  readonly signature: string;
  readonly mappings: readonly (MappedField | null)[];
  state: 'open' | 'receiving' | 'received';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const uploadPath = (jobId: string): string => `/__uploads/contacts-imports/${jobId}.csv`;

/** The job as `GET /v3/marketing/contacts/imports/{id}` shows it (`ContactImport`) [S1]. */
export const renderJob = (job: Job, origin: string): Record<string, unknown> => {
  const view: Record<string, unknown> = {
    id: job.id,
    status: job.status,
    // CSV imports report `upsert` (UNVERIFIED); the spec knows only `upsert` and `delete`.
    job_type: job.kind === 'delete' ? 'delete' : 'upsert',
  };
  // Counts, errors_url and finished_at appear once the job has finished (UNVERIFIED: omitted before).
  if (job.status !== 'pending') {
    const url = errorsUrl(origin, job);
    view.results = {
      requested_count: job.requested,
      created_count: job.created,
      updated_count: job.updated,
      deleted_count: job.deleted,
      errored_count: erroredCount(job),
      ...(url === undefined ? {} : { errors_url: url }),
    };
  }
  view.started_at = isoSeconds(job.createdAtMs);
  if (job.finishedAtMs !== undefined) view.finished_at = isoSeconds(job.finishedAtMs);
  return view;
};

/** Turns one CSV row into the shape of a JSON contact, so both paths share validation. */
const rowToContact = (
  row: readonly string[],
  mappings: readonly (MappedField | null)[],
): Record<string, unknown> => {
  const contact: Record<string, unknown> = {};
  let custom: Record<string, string> | undefined;
  for (let i = 0; i < mappings.length; i += 1) {
    const mapping = mappings[i];
    const cell = row[i];
    // An empty cell leaves the field as it is, like an omitted JSON field (UNVERIFIED).
    if (mapping === null || mapping === undefined || cell === undefined || cell === '') continue;
    if (mapping.kind === 'custom') {
      custom ??= {};
      custom[mapping.field.id] = cell;
    } else if (mapping.kind === 'reserved') {
      contact[mapping.record] =
        mapping.record === 'alternate_emails'
          ? cell
              .split(',')
              .map((item) => item.trim())
              .filter((item) => item !== '')
          : cell;
    }
  }
  if (custom !== undefined) contact.custom_fields = custom;
  return contact;
};

/**
 * Reads an upload without ever holding the file: request → (gunzip) → fast-csv → validation,
 * with back-pressure from the parser down to the socket. Resolves with how the body ended.
 */
const ingestUpload = async (
  ctx: SendgridContext,
  raw: IncomingMessage,
  job: Job,
  ticket: UploadTicket,
): Promise<'aborted' | 'too_large' | { readonly etag: string }> => {
  const md5 = createHash('md5');
  const maxBytes = ctx.limits.maxImportBytes;
  const maxRows = ctx.limits.maxImportRows;
  const mappings = ticket.mappings;
  const declaredGzip = String(raw.headers['content-encoding'] ?? '')
    .toLowerCase()
    .includes('gzip');
  let bytes = 0;
  let draining = false;
  let header: readonly string[] | undefined;
  let parseFailure: string | undefined;
  let parsing: Promise<void> | undefined;

  const consume = async (rows: AsyncIterable<string[]>): Promise<void> => {
    for await (const row of rows) {
      if (header === undefined) {
        // Columns are matched by position, so only the header's width matters (not its names).
        header = row;
        if (header.length !== mappings.length) job.failure = MAPPING_MISMATCH;
        continue;
      }
      job.requested += 1;
      if (job.failure !== undefined) continue;
      if (job.requested > maxRows) {
        job.failure = `Failed to preprocess input csv: the file has more than ${maxRows} contacts.`;
        job.pending = [];
        job.errorRows = [];
        continue;
      }
      const contact = rowToContact(row, mappings);
      const verdict = validateContact(contact, ctx.fields);
      job.identifierMask |= verdict.identifierMask;
      if (row.length !== mappings.length) {
        const identifiers = IDENTIFIERS.map((name) =>
          typeof contact[name] === 'string' ? contact[name] : '',
        );
        ctx.jobs.reject(
          job,
          identifiers as unknown as readonly [string, string, string, string],
          `row has ${row.length} columns; field_mappings has ${mappings.length}`,
        );
      } else if (verdict.ok) {
        job.pending.push(packRecord(verdict.entries));
      } else {
        ctx.jobs.reject(job, verdict.identifiers, verdict.message);
      }
    }
  };

  // The socket feeds a PassThrough by hand, so a parse failure can stop the pipeline while the
  // rest of the body is still read (and acknowledged) instead of resetting the connection.
  const feed = new PassThrough();
  const start = (gzip: boolean): Promise<void> => {
    const csv = parse({ headers: false, ignoreEmpty: true });
    const run = gzip ? pipeline(feed, createGunzip(), csv, consume) : pipeline(feed, csv, consume);
    return run.catch((error: Error) => {
      parseFailure = error.message;
      draining = true;
      raw.resume();
    });
  };

  const ending = await new Promise<'end' | 'aborted' | 'too_large'>((resolve) => {
    raw.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      md5.update(chunk);
      // Gzip is announced by Content-Encoding or recognised by its magic number, since how
      // clients are meant to flag it is undocumented (UNVERIFIED).
      parsing ??= start(declaredGzip || (chunk[0] === 0x1f && chunk[1] === 0x8b));
      if (bytes > maxBytes) {
        draining = true;
        feed.destroy(new Error('upload exceeds the size limit'));
        resolve('too_large');
      }
      if (draining) return;
      if (!feed.write(chunk)) raw.pause();
    });
    feed.on('drain', () => {
      if (!draining) raw.resume();
    });
    raw.on('end', () => {
      feed.end();
      resolve('end');
    });
    raw.on('close', () => {
      if (raw.complete) return;
      feed.destroy(new Error('upload aborted'));
      resolve('aborted');
    });
    raw.resume();
  });
  await parsing;
  if (ending !== 'end') return ending;
  if (parseFailure !== undefined) job.failure = `Failed to preprocess input csv: ${parseFailure}`;
  else if (header === undefined) job.failure = 'Failed to preprocess input csv: the file is empty.';
  return { etag: `"${md5.digest('hex')}"` };
};

export const registerImportRoutes = (
  app: FastifyInstance,
  ctx: SendgridContext,
): { readonly reset: () => void } => {
  const tickets = new Map<string, UploadTicket>();

  app.put(
    '/v3/marketing/contacts/imports',
    { config: { endpoint: 'sendgrid.importCreate' } },
    async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) return sendError(reply, 400, 'invalid input', '');
      if (body.file_type !== 'csv') return sendError(reply, 400, 'file_type must be "csv"', 'file_type');
      const raw = body.field_mappings;
      if (
        !Array.isArray(raw) ||
        raw.length === 0 ||
        raw.some((id) => id !== null && typeof id !== 'string')
      ) {
        return sendError(
          reply,
          400,
          'field_mappings must be a non-empty array of field ids or nulls',
          'field_mappings',
        );
      }
      const unknown: string[] = [];
      const readOnly: string[] = [];
      const seen = new Set<string>();
      const duplicated: string[] = [];
      const mappings = (raw as (string | null)[]).map((id) => {
        if (id === null) return null;
        const mapped = ctx.fields.resolve(id);
        if (mapped === undefined) unknown.push(id);
        else if (mapped.kind === 'read_only') readOnly.push(id);
        const key =
          mapped === undefined
            ? id
            : mapped.kind === 'custom'
              ? mapped.field.id
              : mapped.kind === 'reserved'
                ? mapped.record
                : id;
        if (seen.has(key)) duplicated.push(id);
        seen.add(key);
        return mapped ?? null;
      });
      if (unknown.length > 0) {
        return sendError(
          reply,
          400,
          `invalid field ids supplied in field_mappings - ${unknown.join(',')}`,
          'field_mappings',
        );
      }
      if (readOnly.length > 0) {
        return sendError(
          reply,
          400,
          `read-only fields cannot be imported - ${readOnly.join(',')}`,
          'field_mappings',
        );
      }
      if (duplicated.length > 0) {
        return sendError(
          reply,
          400,
          `fields mapped more than once - ${duplicated.join(',')}`,
          'field_mappings',
        );
      }
      const identifiers = new Set<string>(IDENTIFIERS);
      if (!mappings.some((mapped) => mapped?.kind === 'reserved' && identifiers.has(mapped.record))) {
        return sendError(
          reply,
          400,
          'field_mappings must map at least one identifier: email, phone_number_id, external_id or anonymous_id',
          'field_mappings',
        );
      }
      const listIds = checkListIds(ctx, reply, body.list_ids, false);
      if (listIds === undefined) return reply;

      const job = ctx.jobs.create('import', listIds);
      const signature = randomBytes(32).toString('hex');
      tickets.set(job.id, { signature, mappings, state: 'open' });
      // Shaped like the presigned S3 URL users see (S8); it points back at this server.
      const query = new URLSearchParams({
        'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
        'X-Amz-Expires': '3600',
        'X-Amz-SignedHeaders': 'host;x-amz-server-side-encryption',
        'X-Amz-Signature': signature,
      });
      return {
        job_id: job.id,
        upload_uri: `${ctx.originOf(request)}${uploadPath(job.id)}?${query}`,
        upload_headers: UPLOAD_HEADERS,
      };
    },
  );

  // The upload answers like S3, and its body is read as a stream: no body parser, no size cap
  // from fastify (the route enforces the vendor's own).
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    scope.put<{ Params: { file: string }; Querystring: Record<string, string | undefined> }>(
      '/__uploads/contacts-imports/:file',
      { config: { endpoint: 'sendgrid.upload' } },
      async (request, reply) => {
        const jobId = request.params.file.replace(/\.csv$/, '');
        const ticket = tickets.get(jobId);
        const job = ctx.jobs.get(jobId);
        const mismatch =
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
        if (
          ticket === undefined ||
          job === undefined ||
          request.query['X-Amz-Signature'] !== ticket.signature
        ) {
          return sendS3Error(reply, 403, 'SignatureDoesNotMatch', mismatch);
        }
        if (request.headers.authorization !== undefined) {
          return sendS3Error(
            reply,
            400,
            'InvalidArgument',
            'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
          );
        }
        // Every upload_headers pair is signed into the URL, so leaving one out breaks the signature.
        for (const { header, value } of UPLOAD_HEADERS) {
          if (request.headers[header] !== value)
            return sendS3Error(reply, 403, 'SignatureDoesNotMatch', mismatch);
        }
        if (ticket.state !== 'open') {
          return sendS3Error(
            reply,
            403,
            'AccessDenied',
            'Access Denied (sandbox upload URLs are single-use)',
          );
        }
        const maxBytes = ctx.limits.maxImportBytes;
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          reply.header('connection', 'close');
          return sendS3Error(
            reply,
            400,
            'EntityTooLarge',
            'Your proposed upload exceeds the maximum allowed size',
          );
        }

        ticket.state = 'receiving';
        const outcome = await ingestUpload(ctx, request.raw, job, ticket);
        if (outcome === 'aborted' || outcome === 'too_large') {
          // Nothing was stored: the URL can be used again, from a clean job.
          ticket.state = 'open';
          Object.assign(job, {
            requested: 0,
            pending: [],
            errorRows: [],
            identifierMask: 0,
            failure: undefined,
          });
          if (outcome === 'too_large') {
            reply.header('connection', 'close');
            return sendS3Error(
              reply,
              400,
              'EntityTooLarge',
              'Your proposed upload exceeds the maximum allowed size',
            );
          }
          return reply.hijack();
        }
        ticket.state = 'received';
        ctx.jobs.queue(job);
        return reply.code(200).header('etag', outcome.etag).send();
      },
    );
  });

  app.get<{ Params: { id: string } }>(
    '/v3/marketing/contacts/imports/:id',
    { config: { endpoint: 'sendgrid.importStatus' } },
    async (request, reply) => {
      const { id } = request.params;
      // SendGrid documents no status for list-removal jobs (B.2.2 names upserts, imports and
      // deletes), so they are not found here (UNVERIFIED); /__sandbox/jobs shows them.
      const found = ctx.jobs.get(id);
      const visible = found !== undefined && found.kind !== 'listRemove';
      if (visible && ctx.faults.draw('sendgrid.importStatus', ['vanish']) !== undefined) {
        request.ferryFault = 'vanish';
        ctx.jobs.vanish(id);
        tickets.delete(id);
      }
      const job = ctx.jobs.get(id);
      if (job === undefined || job.kind === 'listRemove') return sendError(reply, 404, 'job not found', 'id');
      return renderJob(job, ctx.originOf(request));
    },
  );

  return { reset: () => tickets.clear() };
};
