import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { ConfigError, createCsvRowEncoder, PermanentError, TransientError, writeCsv } from '@ferry/core';
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
  /** Field definition id of each column (`field_mappings`), in the file's column order. */
  readonly fieldIds: readonly string[];
  readonly listIds: readonly string[];
  /** The file, encoded before the import is requested (see `gzipCsvSink` and `plainCsvBody`). */
  readonly body: UploadBody;
  /** Data rows of the file, for the log. */
  readonly rows: number;
}

/** Column names of the header row: custom fields by the name mapped, reserved fields as they are. */
export const csvHeader = (
  columns: readonly string[],
  customNameById: ReadonlyMap<string, string>,
): string[] => columns.map((column) => customNameById.get(column) ?? column);

/**
 * Field ids (`field_mappings`) for a CSV import's columns: reserved fields by name from the field
 * definitions (their ids look like `_rf2_T`), custom fields already as ids. A reserved field without
 * a definition (the identifier fields' ids are unpublished) cannot be imported: a ConfigError naming it.
 */
export const columnFieldIds = (
  ctx: SendgridContext,
  columns: readonly string[],
  definitions: FieldDefinitions,
  customNameById: ReadonlyMap<string, string>,
): string[] => {
  const fieldIds: string[] = [];
  const missing: string[] = [];
  for (const column of columns) {
    if (customNameById.has(column)) {
      fieldIds.push(column);
      continue;
    }
    const reserved = definitions.reserved.get(column);
    if (reserved === undefined) missing.push(column);
    else fieldIds.push(reserved.id);
  }
  if (missing.length > 0) {
    throw new ConfigError(
      ctx.destination,
      `SendGrid's field definitions have no id for ${missing.join(', ')}, so a CSV import cannot set ` +
        `${missing.length === 1 ? 'it' : 'them'}; use submission: 'json'`,
    );
  }
  return fieldIds;
};

/** An upload body: its exact size, and its bytes afresh for every attempt of the PUT. */
export interface UploadBody {
  readonly length: number;
  readonly gzip: boolean;
  readonly open: () => AsyncIterable<Uint8Array>;
}

/** Rows are gathered into chunks of about this many characters, as core's `writeCsv` does. */
const CHUNK_CHARS = 64 * 1024;

export interface GzipCsvSink {
  /** Adds one row; wait for the promise when there is one (the compressor is catching up). */
  readonly push: (values: readonly string[]) => Promise<void> | undefined;
  readonly finish: () => Promise<UploadBody>;
  /** Drops the file (submission failed before it was finished). */
  readonly abort: () => void;
}

/**
 * A gzip CSV file that rows are pushed into as the batch is read, so that neither the batch nor its
 * rows are held: only the compressed chunks are kept (a tenth of the CSV, typically), and replayed
 * for every attempt. Presigned S3 PUTs need a Content-Length (S3 refuses chunked uploads), which is
 * why the file is complete before the import is requested. Rows are encoded by the same encoder as
 * `measure`'s, so the uncompressed file is exactly the bytes measured.
 */
export const gzipCsvSink = (header: readonly string[]): GzipCsvSink => {
  const encodeRow = createCsvRowEncoder(csvFormat);
  const gzip = createGzip({ level: 6 });
  const compressed: Buffer[] = [];
  let length = 0;
  gzip.on('data', (chunk: Buffer) => {
    compressed.push(chunk);
    length += chunk.byteLength;
  });
  const ended = new Promise<void>((resolve, reject) => {
    gzip.once('end', resolve);
    gzip.once('error', reject);
  });
  // Awaited in `finish`; an abandoned sink must not make an unhandled rejection.
  ended.catch(() => {});
  let pending = encodeRow(header);
  const write = (): Promise<void> | undefined => {
    const full = !gzip.write(Buffer.from(pending, 'utf8'));
    pending = '';
    return full ? once(gzip, 'drain').then(() => undefined) : undefined;
  };
  return {
    push: (values) => {
      pending += encodeRow(values);
      return pending.length >= CHUNK_CHARS ? write() : undefined;
    },
    finish: async () => {
      if (pending.length > 0) await write();
      gzip.end();
      await ended;
      return {
        length,
        gzip: true,
        open: async function* replay() {
          yield* compressed;
        },
      };
    },
    abort: () => {
      gzip.destroy();
    },
  };
};

/**
 * An uncompressed CSV file, encoded afresh from `rows` for every attempt. S3 needs its size up front,
 * and encoding it once just to count would mean reading the batch once more: it is the header row,
 * plus per row its cells' bytes (`csvCellBytes`, summed in `cellBytes`) and one delimiter or line
 * break per column. A file that comes out at another size is a bug, refused rather than sent cut.
 */
export const plainCsvBody = (
  ctx: SendgridContext,
  header: readonly string[],
  rows: () => AsyncIterable<readonly string[]>,
  size: { readonly count: number; readonly cellBytes: number },
): UploadBody => {
  const headerBytes = Buffer.byteLength(createCsvRowEncoder(csvFormat)(header), 'utf8');
  const length = headerBytes + size.cellBytes + size.count * header.length;
  return {
    length,
    gzip: false,
    open: async function* encode() {
      let sent = 0;
      for await (const chunk of writeCsv(rows(), { headers: header, ...csvFormat })) {
        sent += chunk.byteLength;
        if (sent > length) break;
        yield chunk;
      }
      if (sent !== length) {
        throw new PermanentError(
          ctx.destination,
          `the CSV file came out at ${sent} bytes, not the ${length} announced (a bug; csv.gzip avoids it)`,
        );
      }
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
  const { body } = csv;
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
    rows: csv.rows,
    bytes: body.length,
    gzip: body.gzip,
  });
  return jobId;
};
