import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type DefinitionRegistry, pathId } from './definitions.ts';
import { createCsvScanner, createJsonArrayScanner, UploadParseError } from './stream-parsers.ts';
import type { SyncEngine } from './syncs.ts';
import { REASON, sendFailures, sendNotFound, sendText } from './wire.ts';

/**
 * Parsing of `POST /contacts/imports/{id}/data` bodies into staged uploads.
 *
 * A staged row is ONE string: the row's values in the upload's column order joined by U+001F, so
 * a million staged rows cost about what their CSV text costs. A value absent from a JSON object
 * is U+001E (absent ≠ empty: absent leaves the contact's field alone), and a row that cannot be
 * mapped to columns (wrong CSV column count, non-object JSON element, nested value) starts with
 * U+001D and is rejected as malformed when the sync runs. Control characters U+001D–U+001F
 * inside uploaded values are replaced by spaces so they cannot break that encoding.
 */

export const SEP = '\u001f';
export const ABSENT = '\u001e';
export const MALFORMED = '\u001d';
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the encoding's own separators
const CONTROL = /[\u001d-\u001f]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the encoding's own separators
const HAS_CONTROL = /[\u001d-\u001f]/;

export interface StagedUpload {
  /** Column names as uploaded: the CSV header, or JSON keys in first-seen order. */
  readonly columns: readonly string[];
  readonly rows: readonly string[];
  readonly bytes: number;
  readonly stagedAtMs: number;
}

export type ParsedUpload =
  | { readonly kind: 'ok'; readonly columns: string[]; readonly rows: string[]; readonly bytes: number }
  | { readonly kind: 'tooLarge'; readonly bytes: number }
  | { readonly kind: 'invalid'; readonly message: string };

/** Splits a staged row back into values (`ABSENT` for a JSON key the row did not have). */
const decodeRow = (row: string): { readonly malformed: boolean; readonly values: string[] } =>
  row.charCodeAt(0) === 0x1d
    ? { malformed: true, values: row.length === 1 ? [] : row.slice(1).split(SEP) }
    : { malformed: false, values: row.split(SEP) };

/** `fieldValues` of a reject: column → value as uploaded (absent keys left out). */
export const fieldValuesOf = (columns: readonly string[], row: string): Record<string, string> => {
  const { values } = decodeRow(row);
  const result: Record<string, string> = {};
  columns.forEach((column, index) => {
    const value = values[index];
    if (value !== undefined && value !== ABSENT) result[column] = value;
  });
  return result;
};

/** Reads a body stream, counting bytes; past `maxBytes` it keeps draining but stops parsing. */
const consume = (
  payload: Readable,
  maxBytes: number,
  parser: { push: (text: string) => void; end: () => void },
  onRawChunk: (chunk: Buffer) => void,
): Promise<{ bytes: number; tooLarge: boolean; error?: string }> =>
  new Promise((resolve) => {
    const decoder = new TextDecoder('utf-8');
    let bytes = 0;
    let tooLarge = false;
    let error: string | undefined;
    const parse = (step: () => void) => {
      if (tooLarge || error !== undefined) return;
      try {
        step();
      } catch (caught) {
        error =
          caught instanceof UploadParseError || caught instanceof SyntaxError
            ? caught.message
            : String(caught);
      }
    };
    payload.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) tooLarge = true;
      parse(() => {
        onRawChunk(chunk);
        parser.push(decoder.decode(chunk, { stream: true }));
      });
    });
    payload.on('end', () => {
      parse(() => {
        const rest = decoder.decode();
        if (rest !== '') parser.push(rest);
        parser.end();
      });
      resolve({ bytes, tooLarge, ...(error === undefined ? {} : { error }) });
    });
    // A client that hangs up mid-body gets nothing staged; fastify discards the reply.
    payload.on('error', (caught) => resolve({ bytes, tooLarge, error: caught.message }));
    payload.on('close', () => resolve({ bytes, tooLarge, error: 'request closed before the body ended' }));
  });

const hasControlBytes = (chunk: Buffer): boolean =>
  chunk.indexOf(0x1f) !== -1 || chunk.indexOf(0x1e) !== -1 || chunk.indexOf(0x1d) !== -1;

export const parseCsvUpload = async (payload: Readable, maxBytes: number): Promise<ParsedUpload> => {
  let columns: string[] | undefined;
  const rows: string[] = [];
  let sanitize = false;
  const scanner = createCsvScanner((values) => {
    if (sanitize) values = values.map((value) => value.replace(CONTROL, ' '));
    if (columns === undefined) {
      columns = values;
      return;
    }
    const joined = values.join(SEP);
    rows.push(values.length === columns.length ? joined : MALFORMED + joined);
  });
  const result = await consume(payload, maxBytes, scanner, (chunk) => {
    sanitize ||= hasControlBytes(chunk);
  });
  if (result.tooLarge) return { kind: 'tooLarge', bytes: result.bytes };
  if (result.error !== undefined) return { kind: 'invalid', message: result.error };
  if (columns === undefined) return { kind: 'invalid', message: 'the CSV body has no header row' };
  return { kind: 'ok', columns, rows, bytes: result.bytes };
};

export const parseJsonUpload = async (payload: Readable, maxBytes: number): Promise<ParsedUpload> => {
  const columns: string[] = [];
  const indexOf = new Map<string, number>();
  const rows: string[] = [];
  const scanner = createJsonArrayScanner((text) => {
    const element: unknown = JSON.parse(text);
    if (typeof element !== 'object' || element === null || Array.isArray(element)) {
      rows.push(MALFORMED);
      return;
    }
    const values: string[] = new Array(columns.length);
    let malformed = false;
    for (const key in element) {
      let index = indexOf.get(key);
      if (index === undefined) {
        index = columns.length;
        columns.push(key);
        indexOf.set(key, index);
      }
      const value = (element as Record<string, unknown>)[key];
      let text: string;
      if (typeof value === 'string') text = value;
      else if (value === null) text = '';
      else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
      else {
        malformed = true;
        text = JSON.stringify(value);
      }
      values[index] = HAS_CONTROL.test(text) ? text.replace(CONTROL, ' ') : text;
    }
    for (let i = 0; i < columns.length; i += 1) if (values[i] === undefined) values[i] = ABSENT;
    const joined = values.join(SEP);
    rows.push(malformed ? MALFORMED + joined : joined);
  });
  const result = await consume(payload, maxBytes, scanner, () => {});
  if (result.tooLarge) return { kind: 'tooLarge', bytes: result.bytes };
  if (result.error !== undefined) return { kind: 'invalid', message: result.error };
  return { kind: 'ok', columns, rows, bytes: result.bytes };
};

/**
 * Registers the streaming body parsers on an encapsulated scope holding only the upload route,
 * so other routes keep fastify's JSON parser. Both resolve to a `ParsedUpload`; limits are
 * answered by the route, after the body has been drained (a reply sent mid-upload makes clients
 * see a reset instead of the status).
 */
export const registerUploadParsers = (scope: FastifyInstance, maxBytes: number): void => {
  // Only JSON and CSV are upload formats (A.2); fastify's text/plain parser must not accept bodies.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', (_request: FastifyRequest, payload: IncomingMessage) =>
    parseJsonUpload(payload, maxBytes),
  );
  scope.addContentTypeParser(
    ['text/csv', 'application/csv'],
    (_request: FastifyRequest, payload: IncomingMessage) => parseCsvUpload(payload, maxBytes),
  );
};

export interface UploadRouteDeps {
  readonly now: () => number;
  readonly definitions: DefinitionRegistry;
  readonly engine: SyncEngine;
  readonly maxUploadBytes: number;
  readonly maxUploadsPerSync: number;
}

/** `POST` and `DELETE /contacts/imports/{id}/data`, in their own scope for the streaming parsers. */
export const registerUploadRoutes = (scope: FastifyInstance, deps: UploadRouteDeps): void => {
  registerUploadParsers(scope, deps.maxUploadBytes);

  scope.post(
    '/contacts/imports/:id/data',
    { config: { endpoint: 'eloqua.upload' } },
    async (request, reply) => {
      const body = request.body as ParsedUpload | undefined;
      // Over 32 MB the documented answer is 404 Not Found (A.4), whatever the definition.
      if (body?.kind === 'tooLarge') return sendNotFound(reply);
      const id = pathId(request.params);
      const now = deps.now();
      const definition = id === undefined ? undefined : deps.definitions.get(id, now);
      if (definition === undefined) return sendNotFound(reply);
      if (body === undefined) return sendText(reply, 400, REASON.parse);
      if (body.kind === 'invalid') return sendText(reply, 400, REASON.parse);
      const staged = deps.definitions.liveUploads(definition, now);
      if (staged.length >= deps.maxUploadsPerSync) {
        return sendFailures(reply, [
          {
            field: 'data',
            value: `${staged.length + 1} uploads`,
            constraint: `Must not exceed ${deps.maxUploadsPerSync} uploads (files) per sync.`,
          },
        ]);
      }
      staged.push({ columns: body.columns, rows: body.rows, bytes: body.bytes, stagedAtMs: now });
      if (!definition.input.isSyncTriggeredOnImport) return reply.code(204).send();
      const sync = deps.engine.create(definition, undefined);
      return reply.code(201).send(deps.engine.json(sync, true));
    },
  );

  scope.delete(
    '/contacts/imports/:id/data',
    { config: { endpoint: 'eloqua.uploadDelete' } },
    async (request, reply) => {
      const id = pathId(request.params);
      const definition = id === undefined ? undefined : deps.definitions.get(id, deps.now());
      if (definition === undefined) return sendNotFound(reply);
      definition.uploads = [];
      return reply.code(204).send();
    },
  );
};
