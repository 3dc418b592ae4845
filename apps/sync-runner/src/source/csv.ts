import type { ColumnType, CsvSourceConfig } from '../config/schema.ts';
import { createCsvFramer, type FramedRecord, type FrameProblem } from './csv-framer.ts';
import { decodeFile, hasInvalidText, type SourceEncoding } from './decode.ts';
import { convertText } from './typed-values.ts';
import {
  DEFAULT_MAX_RECORD_LENGTH,
  type ReadSourceOptions,
  type SourceBadItem,
  SourceError,
  type SourceItem,
  type SourceValue,
} from './types.ts';

/*
 * One pass: the framer (csv-framer.ts) cuts the decoded text into records and their fields, with
 * exact row and line numbers, and takes out the ones with broken quoting; this file checks them
 * against the header and turns them into items, a chunk's worth at a time.
 */

const invalidEncodingName = (encoding: SourceEncoding): string =>
  encoding === 'utf16le' ? 'UTF-16' : 'UTF-8';

/** Decoded file → framed records, one array per chunk read (blank records left out, never empty). */
async function* frameFile(
  source: CsvSourceConfig,
  options: ReadSourceOptions,
): AsyncGenerator<FramedRecord[], void, undefined> {
  const framer = createCsvFramer({
    delimiter: source.delimiter,
    maxRecordLength: options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH,
  });
  for await (const chunk of decodeFile(source.path, source.encoding, options.signal)) {
    options.signal?.throwIfAborted();
    const records = framer.push(chunk);
    if (records.length > 0) yield records;
  }
  const rest = framer.end();
  if (rest.length > 0) yield rest;
}

const describeColumn = (headers: readonly string[], column: number): string => {
  const name = headers[column];
  return name === undefined || name === ''
    ? `column ${column + 1}`
    : `column ${column + 1} (${JSON.stringify(name)})`;
};

const describeProblem = (
  problem: FrameProblem,
  headers: readonly string[],
  maxRecordLength: number,
): string => {
  switch (problem.kind) {
    case 'unclosed-quote': {
      const opened = `the quote that opens ${describeColumn(headers, problem.column)} on line ${problem.quoteLine}`;
      const resumed = problem.resumedAt === undefined ? '' : `; reading resumed on line ${problem.resumedAt}`;
      return `broken quoting: ${opened} is never closed${resumed}`;
    }
    case 'text-after-quote':
      return `broken quoting in ${describeColumn(headers, problem.column)}: text after the closing quote`;
    case 'too-long':
      return `row longer than ${maxRecordLength} characters; skipped to the next line`;
  }
};

/** Reads the header row: the first non-blank record. */
const readHeader = (source: CsvSourceConfig, record: FramedRecord, maxRecordLength: number): string[] => {
  if (record.problem !== undefined) {
    throw new SourceError(
      source.path,
      `cannot read the header row (line ${record.line}): ${describeProblem(record.problem, [], maxRecordLength)}`,
    );
  }
  if (hasInvalidText(record.text)) {
    throw new SourceError(
      source.path,
      `the header row is not valid ${invalidEncodingName(source.encoding)}; is source.encoding right?`,
    );
  }
  // Spreadsheets leave stray spaces around names; nobody means a column called "email ".
  const headers = record.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of headers) {
    if (name === '') continue;
    if (seen.has(name))
      throw new SourceError(source.path, `the header has two columns named ${JSON.stringify(name)}`);
    seen.add(name);
  }
  if (!seen.has(source.idColumn)) {
    throw new SourceError(
      source.path,
      `id column ${JSON.stringify(source.idColumn)} (source.idColumn) is not in the header; ` +
        `columns: ${[...seen].map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
  for (const name of Object.keys(source.columns)) {
    if (!seen.has(name)) {
      throw new SourceError(
        source.path,
        `column ${JSON.stringify(name)} in source.columns is not in the header`,
      );
    }
  }
  return headers;
};

/**
 * The column names of a CSV file's header (trimmed, unnamed columns left out), checked as `readCsv`
 * checks them; reads no further than the header. For `ferry verify` to compare with the mapping.
 */
export const readCsvHeader = async (
  source: CsvSourceConfig,
  options: ReadSourceOptions = {},
): Promise<string[]> => {
  const maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  const batches = frameFile(source, options);
  try {
    const first = await batches.next();
    if (first.done === true) throw new SourceError(source.path, 'the file is empty: no header row');
    // Batches are never empty and hold no blank records: the header is the first record.
    return readHeader(source, first.value[0]!, maxRecordLength).filter((name) => name !== '');
  } finally {
    await batches.return();
  }
};

/** Turns the framed records after the header into items. */
const createItemReader = (
  source: CsvSourceConfig,
  headers: readonly string[],
  maxRecordLength: number,
): ((batch: readonly FramedRecord[], from: number) => SourceItem[]) => {
  const { idColumn } = source;
  const idIndex = headers.indexOf(idColumn);
  // Positions worked out once, not looked up by name on every row.
  const namedIndexes: number[] = [];
  const names: string[] = [];
  headers.forEach((name, index) => {
    if (name === '') return;
    namedIndexes.push(index);
    names.push(name);
  });
  const typed = Object.entries(source.columns).map(([name, type]): readonly [string, number, ColumnType] => [
    name,
    headers.indexOf(name),
    type,
  ]);

  const bad = (framed: FramedRecord, reason: string, id?: string): SourceBadItem =>
    id === undefined
      ? { kind: 'bad', row: framed.row, line: framed.line, reason }
      : { kind: 'bad', row: framed.row, line: framed.line, id, reason };

  const toItem = (framed: FramedRecord): SourceItem => {
    if (framed.problem !== undefined)
      return bad(framed, describeProblem(framed.problem, headers, maxRecordLength));
    const { fields } = framed;
    if (fields.length !== headers.length) {
      return bad(framed, `expected ${headers.length} columns (as in the header), found ${fields.length}`);
    }
    const id = fields[idIndex]!.trim();
    if (hasInvalidText(framed.text)) {
      const at = namedIndexes.findIndex((index) => hasInvalidText(fields[index]!));
      if (at !== -1) {
        const column = names[at]!;
        const reason = `invalid ${invalidEncodingName(source.encoding)} in column ${JSON.stringify(column)}`;
        return bad(framed, reason, column === idColumn || id === '' ? undefined : id);
      }
    }
    if (id === '') return bad(framed, `missing id: column ${JSON.stringify(idColumn)} is empty`);
    // No prototype: a column named `constructor` or `__proto__` is data like any other.
    const record: Record<string, SourceValue> = Object.create(null);
    for (let at = 0; at < names.length; at += 1) record[names[at]!] = fields[namedIndexes[at]!]!;
    for (const [name, index, type] of typed) {
      if (type === 'string') continue;
      const converted = convertText(fields[index]!, type);
      if (!converted.ok) return bad(framed, `column ${JSON.stringify(name)}: ${converted.reason}`, id);
      record[name] = converted.value;
    }
    return { kind: 'record', row: framed.row, line: framed.line, id, record };
  };

  return (batch, from) => {
    const items: SourceItem[] = [];
    for (let index = from; index < batch.length; index += 1) items.push(toItem(batch[index]!));
    return items;
  };
};

/**
 * Reads a CSV file as source items, one array per chunk read. See `readSource` for the contract; CSV
 * specifics: the first non-blank row is the header (names trimmed, empty names ignored, duplicates
 * refused); blank rows (nothing but spaces, or only delimiters) are skipped silently but counted;
 * values stay text unless `source.columns` gives the column a type.
 */
export async function* readCsv(
  source: CsvSourceConfig,
  options: ReadSourceOptions = {},
): AsyncGenerator<SourceItem[], void, undefined> {
  const maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  const batches = frameFile(source, options);
  try {
    let readItems: ((batch: readonly FramedRecord[], from: number) => SourceItem[]) | undefined;
    for await (const batch of batches) {
      let from = 0;
      if (readItems === undefined) {
        // Batches are never empty and hold no blank records: the header is the first record.
        readItems = createItemReader(source, readHeader(source, batch[0]!, maxRecordLength), maxRecordLength);
        from = 1;
      }
      const items = readItems(batch, from);
      if (items.length > 0) yield items;
    }
    if (readItems === undefined) throw new SourceError(source.path, 'the file is empty: no header row');
  } finally {
    await batches.return();
  }
}
