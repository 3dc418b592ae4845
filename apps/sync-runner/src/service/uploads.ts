import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FileSourceConfig, SourceConfig } from '../config/schema.ts';
import { HttpProblem } from './problems.ts';

/*
 * Records posted as the body of `POST /v1/runs` are streamed to a file under the uploads folder
 * (next to the state store) and read from there like a configured source, so a run accepted before
 * a crash can read its source again after it. Files are named by a fresh UUID: the client's names
 * are never paths. The body is counted as it streams; past the limit the file is removed and the
 * request answered 413, and nothing is ever held in memory whole.
 */

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 ** 3;

export type UploadFormat = 'csv' | 'jsonl';

export const UPLOAD_TYPES: Readonly<Record<string, UploadFormat>> = {
  'text/csv': 'csv',
  'application/x-ndjson': 'jsonl',
};

export interface StoredUpload {
  /** The file name inside the uploads folder: `<uuid>.<format>`. */
  readonly file: string;
  readonly format: UploadFormat;
  readonly bytes: number;
  /** SHA-256 of the body, hex (for Idempotency-Key fingerprints). */
  readonly sha256: string;
}

const UPLOAD_FILE = /^[0-9a-f-]{36}\.(csv|jsonl)$/;

export const uploadPath = (dir: string, file: string): string => {
  if (!UPLOAD_FILE.test(file)) throw new Error(`[ferry] not an upload file name: ${JSON.stringify(file)}`);
  return join(dir, file);
};

export const receiveUpload = async (
  body: NodeJS.ReadableStream,
  options: {
    readonly dir: string;
    readonly format: UploadFormat;
    readonly maxBytes: number;
    readonly declaredLength?: number;
  },
): Promise<StoredUpload> => {
  const { dir, format, maxBytes } = options;
  if (options.declaredLength !== undefined && options.declaredLength > maxBytes)
    throw new HttpProblem(413, `the body is larger than the limit of ${maxBytes} bytes`);
  await mkdir(dir, { recursive: true });
  const file = `${randomUUID()}.${format}`;
  const partial = join(dir, `${file}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(new HttpProblem(413, `the body is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    // `flush` fsyncs before the file is closed: the run is recorded only once its source is durable.
    await pipeline(body, meter, createWriteStream(partial, { flush: true }));
    await rename(partial, join(dir, file));
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return { file, format, bytes, sha256: hash.digest('hex') };
};

/** The configured source's reading rules (id column, types, encoding) applied to an upload. */
export const uploadSource = (
  configured: SourceConfig,
  path: string,
  format: UploadFormat,
): FileSourceConfig => {
  const types =
    configured.type === 'csv' ? configured.columns : configured.type === 'jsonl' ? configured.properties : {};
  const id = configured.type === 'csv' ? configured.idColumn : configured.idField;
  // An export source's uploads are read as its exported columns would be: text, UTF-8.
  const encoding = configured.type === 'export' ? 'utf8' : configured.encoding;
  if (format === 'csv')
    return {
      type: 'csv',
      path,
      delimiter: configured.type === 'csv' ? configured.delimiter : ',',
      encoding,
      idColumn: id,
      columns: types,
    };
  return { type: 'jsonl', path, encoding, idField: id, properties: types };
};
