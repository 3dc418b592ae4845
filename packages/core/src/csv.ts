import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'fast-csv';

/*
 * Writing: hand-written, on purpose. `encodeCsvRow` runs once per profile, millions of times, both to
 * measure a profile for batch packing and to build the upload, so the bytes measured must be exactly
 * the bytes sent. One encoder used by both `encodeCsvRow` and `writeCsv` makes them agree by
 * construction. fast-csv's formatter would be a second implementation that disagrees: it silently
 * deletes NUL characters, quotes every field containing `|` (a stray `|` in its quoting character
 * class), and runs each row through a callback-based transform that emits one chunk per row. It stays
 * the reference in the tests (same bytes on ordinary data) and fast-csv's parser is used for reading.
 */

/** One field. `null` and `undefined` are written as an empty field. */
export type CsvValue = string | null | undefined;

/** A row: values in header order, or a record whose values are picked by header name. */
export type CsvRow = readonly CsvValue[] | Readonly<Record<string, CsvValue>>;

export interface CsvFormatOptions {
  /** One character other than `"`, CR or LF; default `,`. */
  readonly delimiter?: string;
  /** Default `\r\n` (RFC 4180). Both vendors also accept `\n`. */
  readonly lineBreak?: '\r\n' | '\n';
  /**
   * Prefix values starting with `=`, `+`, `-`, `@`, tab or CR with `'` so spreadsheets show them as
   * text instead of running them as formulas (OWASP "CSV Injection"). For reports people open in
   * Excel or Sheets; never for vendor uploads, where it would change the data. Default false.
   * Numbers such as `-5` are prefixed too: a spreadsheet shows `'-5` as the text `-5`.
   */
  readonly formulaProtection?: boolean;
}

/** Encodes one row, trailing line break included. */
export type CsvRowEncoder = (values: readonly CsvValue[]) => string;

const QUOTE = '"';

const resolveDelimiter = (delimiter: string | undefined): string => {
  const value = delimiter ?? ',';
  if (value.length !== 1 || value === QUOTE || value === '\r' || value === '\n') {
    throw new TypeError(
      `CSV delimiter must be one character other than '"', CR and LF, got ${JSON.stringify(value)}`,
    );
  }
  return value;
};

const resolveLineBreak = (lineBreak: string | undefined): '\r\n' | '\n' => {
  if (lineBreak === undefined || lineBreak === '\r\n' || lineBreak === '\n') return lineBreak ?? '\r\n';
  throw new TypeError(`CSV lineBreak must be "\\r\\n" or "\\n", got ${JSON.stringify(lineBreak)}`);
};

const startsLikeFormula = (text: string): boolean => {
  switch (text.charCodeAt(0)) {
    case 0x3d: // =
    case 0x2b: // +
    case 0x2d: // -
    case 0x40: // @
    case 0x09: // tab
    case 0x0d: // CR
      return true;
    default:
      return false;
  }
};

/**
 * Builds a row encoder once (options checked once), for hot loops. Quoting is RFC 4180, minimal: a
 * field is quoted when it holds the delimiter, `"`, CR or LF (quotes doubled inside), and also when it
 * is whitespace only, or is the only field of its row and empty, because readers (fast-csv among
 * them) take such a line for a blank one or drop a whitespace-only first field; and when it starts
 * with U+FEFF, which a reader takes for a byte order mark at the start of a file.
 */
export const createCsvRowEncoder = (options: CsvFormatOptions = {}): CsvRowEncoder => {
  const delimiter = resolveDelimiter(options.delimiter);
  const lineBreak = resolveLineBreak(options.lineBreak);
  const formulaProtection = options.formulaProtection ?? false;
  const special = delimiter.replace(/[\\\]^-]/, '\\$&');
  const needsQuotes = new RegExp(`[${special}"\\r\\n]|^\\s+$|^\\ufeff`);
  const emptyOnlyField = `${QUOTE}${QUOTE}${lineBreak}`;

  const field = (value: CsvValue): string => {
    if (value === null || value === undefined || value === '') return '';
    const text = formulaProtection && startsLikeFormula(value) ? `'${value}` : value;
    if (!needsQuotes.test(text)) return text;
    return `${QUOTE}${text.replaceAll(QUOTE, '""')}${QUOTE}`;
  };

  return (values) => {
    const count = values.length;
    if (count === 1) {
      const only = field(values[0]);
      return only === '' ? emptyOnlyField : only + lineBreak;
    }
    let row = count === 0 ? '' : field(values[0]);
    for (let index = 1; index < count; index += 1) row += delimiter + field(values[index]);
    return row + lineBreak;
  };
};

const defaultEncoder = createCsvRowEncoder();

/**
 * The exact text of one row, trailing line break included; `Buffer.byteLength` of it is the row's
 * size in an upload made with the same options. Without options it uses a shared encoder; with
 * options it checks them on every call, so hot loops should hold a `createCsvRowEncoder(options)`.
 */
export const encodeCsvRow = (values: readonly CsvValue[], options?: CsvFormatOptions): string =>
  options === undefined ? defaultEncoder(values) : createCsvRowEncoder(options)(values);

export interface CsvWriteOptions extends CsvFormatOptions {
  /** Column names, in order. Array rows must have exactly this many values. */
  readonly headers: readonly string[];
  /** Write the header row first; default true. */
  readonly writeHeaders?: boolean;
  /** Start with a UTF-8 byte order mark, which Excel needs to read UTF-8; default false. */
  readonly bom?: boolean;
  /** Rows are gathered into chunks of about this many bytes (approximate); default 64 KiB. */
  readonly chunkBytes?: number;
}

/**
 * Streams rows as CSV in Buffer chunks of about `chunkBytes`: an HTTP upload body
 * (`fetch(url, { body: writeCsv(...), duplex: 'half' })`) or a file
 * (`pipeline(writeCsv(...), createWriteStream(path))`). Every row is `encodeCsvRow(values, options)`,
 * so the bytes are exactly those measured with it. Rows are read as fast as chunks are taken.
 */
export async function* writeCsv(
  rows: AsyncIterable<CsvRow> | Iterable<CsvRow>,
  options: CsvWriteOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const encode = createCsvRowEncoder(options);
  const { headers } = options;
  const chunkBytes = options.chunkBytes ?? 64 * 1024;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new TypeError(`CSV chunkBytes must be a positive integer, got ${String(chunkBytes)}`);
  }
  // String length (UTF-16 units) stands in for bytes when deciding to flush: cheap, and only the chunk
  // size depends on it, never the content.
  let pending = options.bom === true ? '\ufeff' : '';
  if (options.writeHeaders ?? true) pending += encode(headers);
  let rowNumber = 0;
  for await (const row of rows) {
    rowNumber += 1;
    if (Array.isArray(row)) {
      const values = row as readonly CsvValue[];
      // A short or long row would shift every later column for the reader: a bug in the caller.
      if (values.length !== headers.length) {
        throw new TypeError(`CSV row ${rowNumber} has ${values.length} values for ${headers.length} headers`);
      }
      pending += encode(values);
    } else {
      const record = row as Readonly<Record<string, CsvValue>>;
      pending += encode(headers.map((header) => record[header]));
    }
    if (pending.length >= chunkBytes) {
      yield Buffer.from(pending, 'utf8');
      pending = '';
    }
  }
  if (pending.length > 0) yield Buffer.from(pending, 'utf8');
}

/** A data row, its values keyed by column name. */
export interface CsvRecordItem {
  readonly kind: 'record';
  /** 1-based record number in the file, as a spreadsheet shows it: the header row is row 1. */
  readonly row: number;
  /** 1-based physical line the record starts on; differs from `row` after values with line breaks. */
  readonly line: number;
  /** Column name → value (no prototype, so a column named `__proto__` is an ordinary key). */
  readonly record: Record<string, string>;
}

/** A row that could not be read as a record (wrong number of columns); reading goes on. */
export interface CsvInvalidItem {
  readonly kind: 'invalid';
  readonly row: number;
  readonly line: number;
  readonly error: string;
  /** The row's values as read, for error reports. */
  readonly values: readonly string[];
}

export type CsvParseItem = CsvRecordItem | CsvInvalidItem;

export interface CsvParseOptions {
  /**
   * `true` (default): the first non-blank row names the columns. An array: the file has no header
   * row, these are the names. `false`: no header row; columns are named `1`, `2`, ... and every row
   * must have as many values as the first one.
   */
  readonly headers?: boolean | readonly string[];
  /** One character other than `"`, CR and LF; default `,`. */
  readonly delimiter?: string;
}

/** The file cannot be read further (unbalanced quotes, duplicate column names, ...). */
export class CsvError extends Error {
  /** The last row read before the problem; the problem is in a later row. */
  readonly afterRow: number;
  constructor(message: string, afterRow: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CsvError';
    this.afterRow = afterRow;
  }
}

const countLineBreaks = (values: readonly string[]): number => {
  let breaks = 0;
  for (const value of values) {
    for (let index = value.search(/[\r\n]/); index !== -1 && index < value.length; index += 1) {
      const code = value.charCodeAt(index);
      if (code === 0x0a) breaks += 1;
      else if (code === 0x0d) {
        breaks += 1;
        if (value.charCodeAt(index + 1) === 0x0a) index += 1;
      }
    }
  }
  return breaks;
};

const checkHeaders = (names: readonly string[], afterRow: number): readonly string[] => {
  const seen = new Set<string>();
  for (const name of names) {
    if (name === '') continue;
    if (seen.has(name)) throw new CsvError(`CSV has two columns named ${JSON.stringify(name)}`, afterRow);
    seen.add(name);
  }
  return names;
};

/** What `parseCsv` reads: a stream or iterable of chunks, or the whole text. */
export type CsvInput = Readable | AsyncIterable<Uint8Array | string> | string | Uint8Array;

/**
 * Reads CSV as a stream of items: records, and rows with the wrong number of columns reported as
 * `invalid` items rather than ending the read. Memory stays flat whatever the input size: the input
 * is read only as fast as items are taken. A UTF-8 byte order mark is dropped; CRLF, LF and CR line
 * breaks are all accepted; blank lines are skipped but still counted in `row` and `line`.
 *
 * Columns with an empty name are left out of records. A problem that leaves the rest of the file
 * unreadable (an unclosed quote, text after a closing quote, duplicate column names) throws a
 * CsvError; errors of the input stream are rethrown as they are. Stopping early (`break`) destroys
 * the input stream.
 *
 * fast-csv tokenizes; rows are mapped to records here rather than with its `headers` and
 * `strictColumnHandling`: it reports short rows through a `data-invalid` event that fires while
 * earlier valid rows are still buffered in the stream (so under backpressure errors come out of
 * order), without a reason, and it ends the whole parse with an error on a long row.
 */
export async function* parseCsv(
  input: CsvInput,
  options: CsvParseOptions = {},
): AsyncGenerator<CsvParseItem, void, undefined> {
  const delimiter = resolveDelimiter(options.delimiter);
  const headerOption = options.headers ?? true;
  let headers: readonly string[] | undefined;
  if (Array.isArray(headerOption)) {
    headers = checkHeaders(headerOption as readonly string[], 0);
  }

  const source =
    input instanceof Readable
      ? input
      : typeof input === 'string' || input instanceof Uint8Array
        ? Readable.from([typeof input === 'string' ? Buffer.from(input, 'utf8') : input])
        : Readable.from(input);
  const parser = parse<string[], string[]>({ headers: false, delimiter, ignoreEmpty: false });
  let sourceError: unknown;
  source.once('error', (error) => {
    sourceError = error;
  });
  // Errors reach the `for await` below through the parser, which pipeline destroys with them.
  const piping = pipeline(source, parser).catch(() => undefined);

  let row = 0;
  let nextLine = 1;
  try {
    for await (const values of parser as AsyncIterable<string[]>) {
      row += 1;
      const line = nextLine;
      nextLine += 1 + countLineBreaks(values);
      // fast-csv gives a blank or whitespace-only line as a row without values.
      if (values.length === 0) continue;
      if (headers === undefined) {
        if (headerOption === true) {
          headers = checkHeaders(values, row - 1);
          continue;
        }
        headers = values.map((_, index) => String(index + 1));
      }
      if (values.length !== headers.length) {
        const error = `expected ${headers.length} columns, found ${values.length}`;
        yield { kind: 'invalid', row, line, error, values };
        continue;
      }
      const record: Record<string, string> = Object.create(null);
      for (let index = 0; index < headers.length; index += 1) {
        const name = headers[index]!;
        if (name !== '') record[name] = values[index]!;
      }
      yield { kind: 'record', row, line, record };
    }
  } catch (error) {
    if (error === sourceError || error instanceof CsvError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new CsvError(`cannot read CSV after row ${row}: ${reason}`, row, { cause: error });
  } finally {
    // Stopped early or failed: make sure the input is released before returning.
    if (!parser.destroyed) parser.destroy();
    await piping;
  }
}
