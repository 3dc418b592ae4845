import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ConfigError, PermanentError, TransientError, writeCsv } from '@ferry/core';
import { callApi, type SendgridContext, sendgridClients } from '../client.ts';
import { csvFormat } from '../mapping.ts';
import type { ImportRequest, ImportTicket } from '../types.ts';
import { jobIdOf } from './contacts.ts';
import type { FieldDefinitions } from './field-definitions.ts';

/**
 * The CSV import: `PUT /v3/marketing/contacts/imports` (it is PUT, not POST) returns a job id, a
 * presigned `upload_uri` and `upload_headers`; the file then goes to that URL with exactly those
 * headers and no API key. The job is checked like any other (`GET .../imports/{id}`).
 */

export interface CsvImport {
  /** Column names of the header row: field names as SendGrid's UI shows them. */
  readonly header: readonly string[];
  /** Field definition id of each column (`field_mappings`), in the same order. */
  readonly fieldIds: readonly string[];
  /** Cell values, one array per contact, in `header` order. */
  readonly rows: readonly (readonly string[])[];
  readonly listIds: readonly string[];
}

/**
 * Field ids for a CSV import's columns: reserved fields by name from the field definitions (their
 * ids look like `_rf2_T`), custom fields already as ids. A reserved field without a definition
 * (the identifier fields' ids are unpublished) cannot be imported: a ConfigError naming it.
 */
export const columnFieldIds = (
  ctx: SendgridContext,
  columns: readonly string[],
  definitions: FieldDefinitions,
  customNameById: ReadonlyMap<string, string>,
): { readonly header: string[]; readonly fieldIds: string[] } => {
  const header: string[] = [];
  const fieldIds: string[] = [];
  const missing: string[] = [];
  for (const column of columns) {
    const customName = customNameById.get(column);
    if (customName !== undefined) {
      header.push(customName);
      fieldIds.push(column);
      continue;
    }
    const reserved = definitions.reserved.get(column);
    if (reserved === undefined) missing.push(column);
    else {
      header.push(column);
      fieldIds.push(reserved.id);
    }
  }
  if (missing.length > 0) {
    throw new ConfigError(
      ctx.destination,
      `SendGrid's field definitions have no id for ${missing.join(', ')}, so a CSV import cannot set ` +
        `${missing.length === 1 ? 'it' : 'them'}; use submission: 'json'`,
    );
  }
  return { header, fieldIds };
};

/** The upload body, compressed once: the chunks are replayed for every attempt of the PUT. */
interface UploadBody {
  readonly length: number;
  readonly gzip: boolean;
  readonly open: () => AsyncIterable<Uint8Array>;
}

const csvChunks = (csv: CsvImport): AsyncGenerator<Buffer> =>
  writeCsv(csv.rows, { headers: csv.header, ...csvFormat });

/**
 * Presigned S3 PUTs need a Content-Length (S3 refuses chunked uploads), so the size must be known
 * before sending. Gzip: the file is compressed as it is encoded and only the compressed chunks are
 * kept (a tenth of the CSV, typically). Plain: the size is the sum of the encoded rows, and every
 * attempt streams the CSV afresh from the rows.
 */
const uploadBody = async (csv: CsvImport, gzip: boolean): Promise<UploadBody> => {
  if (!gzip) {
    let length = 0;
    for await (const chunk of csvChunks(csv)) length += chunk.byteLength;
    return { length, gzip, open: () => csvChunks(csv) };
  }
  const compressed: Buffer[] = [];
  let length = 0;
  await pipeline(
    Readable.from(csvChunks(csv)),
    createGzip({ level: 6 }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        compressed.push(chunk);
        length += chunk.byteLength;
      }
    },
  );
  return {
    length,
    gzip,
    open: async function* replay() {
      yield* compressed;
    },
  };
};

/** `<Code>SignatureDoesNotMatch</Code>` from an S3 error document, for the message. */
const s3Code = (text: unknown): string | undefined =>
  typeof text === 'string' ? /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1] : undefined;

/** Step 2: the file to the presigned URL. Every `upload_headers` pair is sent as it came. */
const uploadFile = async (ctx: SendgridContext, ticket: ImportTicket, body: UploadBody): Promise<void> => {
  const headers: Record<string, string> = {};
  for (const pair of ticket.upload_headers ?? []) {
    if (typeof pair?.header === 'string' && typeof pair.value === 'string') headers[pair.header] = pair.value;
  }
  headers['content-type'] ??= 'text/csv';
  headers['content-length'] = String(body.length);
  // How SendGrid wants gzip flagged is undocumented; Content-Encoding is what S3 stores with the
  // object, and the file also starts with gzip's magic bytes.
  if (body.gzip) headers['content-encoding'] ??= 'gzip';
  const { status, data } = await sendgridClients(ctx).presigned.request<string>({
    method: 'PUT',
    url: ticket.upload_uri,
    headers,
    body: () => body.open(),
    responseType: 'text',
    operation: 'upload contacts file',
    // S3 answers in XML; 403 here is a signature or expiry problem of the URL, not of the API key.
    accept: [400, 403, 404, 411, 413, 501],
  });
  if (status < 300) return;
  const code = s3Code(data) ?? `HTTP ${status}`;
  const text = `upload contacts file failed: HTTP ${status} ${code}`;
  // An expired URL is fixed by asking for a new one, which resubmitting the job does.
  if (status === 403 && /expired/i.test(String(data))) {
    throw new TransientError(ctx.destination, text, { status, code: 'upload_expired' });
  }
  throw new PermanentError(ctx.destination, text, { status, code: `s3_${code}` });
};

/** Both steps of one CSV import; returns the job id once the file is uploaded. */
export const importCsv = async (ctx: SendgridContext, csv: CsvImport): Promise<string> => {
  const body = await uploadBody(csv, ctx.options.csv.gzip);
  const request: ImportRequest = { file_type: 'csv', field_mappings: csv.fieldIds, list_ids: csv.listIds };
  const operation = 'create contacts import';
  const { data } = await callApi<ImportTicket>(ctx, {
    method: 'PUT',
    url: '/v3/marketing/contacts/imports',
    json: request,
    operation,
  });
  const jobId = jobIdOf(ctx, operation, data);
  if (typeof data?.upload_uri !== 'string' || data.upload_uri === '') {
    throw new PermanentError(ctx.destination, `${operation}: SendGrid sent no upload_uri`);
  }
  await uploadFile(ctx, data, body);
  ctx.logger.debug('sendgrid import uploaded', {
    destination: ctx.destination,
    jobId,
    rows: csv.rows.length,
    bytes: body.length,
    gzip: body.gzip,
  });
  return jobId;
};
