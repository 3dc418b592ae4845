import { CsvError, type CsvParseItem, parseCsv } from '@ferry/core';
import type { ColumnType, CsvSourceConfig } from '../config/schema.ts';
import { createCsvFramer, type FramedRecord, type FrameProblem } from './csv-framer.ts';
import { decodeFile, REPLACEMENT_CHARACTER, type SourceEncoding } from './decode.ts';
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
 * The framer (csv-framer.ts) cuts the text into records with exact row and line numbers and takes
 * out the ones with broken quoting; core's `parseCsv` (fast-csv) parses the fields of the rest and
 * checks column counts. Records wait in a FIFO queue between the two, so items come out in file order
 * and each parsed row is paired with its numbers. The queue holds only what fast-csv has buffered
 * (a few chunks), never the file.
 */

const invalidEncodingName = (encoding: SourceEncoding): string =>
  encoding === 'utf16le' ? 'UTF-16' : 'UTF-8';

/** Decoded file → framed records, one array per chunk read. */
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
const readHeader = async (
  source: CsvSourceConfig,
  record: FramedRecord,
  maxRecordLength: number,
): Promise<string[]> => {
  if (record.problem !== undefined) {
    throw new SourceError(
      source.path,
      `cannot read the header row (line ${record.line}): ${describeProblem(record.problem, [], maxRecordLength)}`,
    );
  }
  if (record.text.includes(REPLACEMENT_CHARACTER)) {
    throw new SourceError(
      source.path,
      `the header row is not valid ${invalidEncodingName(source.encoding)}; is source.encoding right?`,
    );
  }
  let values: readonly string[] | undefined;
  for await (const item of parseCsv(record.text, { headers: false, delimiter: source.delimiter })) {
    values = item.kind === 'record' ? Object.values(item.record) : item.values;
  }
  // Spreadsheets leave stray spaces around names; nobody means a column called "email ".
  const headers = (values ?? []).map((name) => name.trim());
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
    for await (const batch of batches) {
      const header = batch.find(
        (record) => record.problem !== undefined || !isBlankRecord(record.text, source.delimiter),
      );
      if (header !== undefined) {
        return (await readHeader(source, header, maxRecordLength)).filter((name) => name !== '');
      }
    }
  } finally {
    await batches.return();
  }
  throw new SourceError(source.path, 'the file is empty: no header row');
};

/**
 * Reads a CSV file as source items. See `readSource` for the contract; CSV specifics: the first
 * non-blank row is the header (names trimmed, empty names ignored, duplicates refused); blank rows
 * (nothing but spaces, or only delimiters) are skipped silently but counted; values stay text unless
 * `source.columns` gives the column a type.
 */
export async function* readCsv(
  source: CsvSourceConfig,
  options: ReadSourceOptions = {},
): AsyncGenerator<SourceItem, void, undefined> {
  const maxRecordLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  const batches = frameFile(source, options);
  try {
    // The header, and whatever came with it in the same chunk.
    let headers: string[] | undefined;
    let leftover: FramedRecord[] = [];
    // `next()` rather than `for await`: leaving that loop with `break` would close the generator.
    for (let result = await batches.next(); !result.done; result = await batches.next()) {
      const batch = result.value;
      const index = batch.findIndex(
        (record) => record.problem !== undefined || !isBlankRecord(record.text, source.delimiter),
      );
      if (index === -1) continue;
      headers = await readHeader(source, batch[index]!, maxRecordLength);
      leftover = batch.slice(index + 1);
      break;
    }
    if (headers === undefined) throw new SourceError(source.path, 'the file is empty: no header row');

    const typed: Array<readonly [string, ColumnType]> = Object.entries(source.columns);
    const namedColumns = headers.filter((name) => name !== '');
    const queue: FramedRecord[] = [];
    let queueHead = 0;

    // Feeds fast-csv the text of well-framed records, one string per chunk; every non-blank record
    // (broken ones too) goes into the queue in file order.
    async function* feed(): AsyncGenerator<string, void, undefined> {
      const take = (batch: readonly FramedRecord[]): string => {
        let text = '';
        for (const record of batch) {
          if (record.problem === undefined && isBlankRecord(record.text, source.delimiter)) continue;
          queue.push(record);
          if (record.problem === undefined) text += `${record.text}\n`;
        }
        return text;
      };
      const first = take(leftover);
      leftover = [];
      if (first !== '') yield first;
      for await (const batch of batches) {
        const text = take(batch);
        if (text !== '') yield text;
      }
    }

    const bad = (record: FramedRecord, reason: string, id?: string): SourceBadItem =>
      id === undefined
        ? { kind: 'bad', row: record.row, line: record.line, reason }
        : { kind: 'bad', row: record.row, line: record.line, id, reason };

    const next = (): FramedRecord | undefined => {
      const record = queue[queueHead];
      if (record === undefined) return undefined;
      queueHead += 1;
      // Compact now and then instead of shifting on every record.
      if (queueHead > 1024) {
        queue.splice(0, queueHead);
        queueHead = 0;
      }
      return record;
    };

    const toItem = (framed: FramedRecord, item: CsvParseItem): SourceItem => {
      if (item.kind === 'invalid') {
        return bad(
          framed,
          `expected ${headers.length} columns (as in the header), found ${item.values.length}`,
        );
      }
      const record = item.record as Record<string, SourceValue>;
      const rawId = record[source.idColumn] as string;
      const id = rawId.trim();
      if (framed.text.includes(REPLACEMENT_CHARACTER)) {
        const column = namedColumns.find((name) => (record[name] as string).includes(REPLACEMENT_CHARACTER));
        if (column !== undefined) {
          const reason = `invalid ${invalidEncodingName(source.encoding)} in column ${JSON.stringify(column)}`;
          return bad(framed, reason, column === source.idColumn || id === '' ? undefined : id);
        }
      }
      if (id === '') return bad(framed, `missing id: column ${JSON.stringify(source.idColumn)} is empty`);
      for (const [name, type] of typed) {
        const converted = convertText(record[name] as string, type);
        if (!converted.ok) return bad(framed, `column ${JSON.stringify(name)}: ${converted.reason}`, id);
        record[name] = converted.value;
      }
      return { kind: 'record', row: framed.row, line: framed.line, id, record };
    };

    const problemItem = (record: FramedRecord, problem: FrameProblem): SourceBadItem =>
      bad(record, describeProblem(problem, headers, maxRecordLength));

    for await (const item of parseCsv(feed(), { headers, delimiter: source.delimiter })) {
      let framed = next();
      while (framed?.problem !== undefined) {
        yield problemItem(framed, framed.problem);
        framed = next();
      }
      if (framed === undefined)
        throw new SourceError(source.path, 'internal error: CSV rows and records out of step');
      yield toItem(framed, item);
    }
    // Broken records after the last good one.
    for (let framed = next(); framed !== undefined; framed = next()) {
      if (framed.problem !== undefined) yield problemItem(framed, framed.problem);
    }
  } catch (error) {
    // Only if fast-csv disagreed with the framer about a record it was handed (a bug, not bad input).
    if (error instanceof CsvError) throw new SourceError(source.path, error.message, { cause: error });
    throw error;
  } finally {
    await batches.return();
  }
}

/** Nothing but whitespace and delimiters: an empty line, or a spreadsheet's padding row (`,,,`). */
const isBlankRecord = (text: string, delimiter: string): boolean => {
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (char !== delimiter && char.trim() !== '') return false;
  }
  return true;
};
