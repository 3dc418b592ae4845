import type { ColumnType, JsonlSourceConfig } from '../config/schema.ts';
import { decodeFile, hasInvalidText, type SourceEncoding } from './decode.ts';
import { convertJson } from './typed-values.ts';
import {
  DEFAULT_MAX_RECORD_LENGTH,
  type ReadSourceOptions,
  type SourceBadItem,
  type SourceItem,
  type SourceValue,
} from './types.ts';

const describeJson = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
};

/**
 * Nested objects become dotted keys (`{"address":{"city":"Oslo"}}` → `address.city`), so a mapping
 * can name them like columns; arrays are kept as their JSON text.
 */
const flatten = (
  object: Record<string, unknown>,
  prefix: string,
  into: Record<string, SourceValue>,
): void => {
  for (const key of Object.keys(object)) {
    const value = object[key];
    const name = prefix === '' ? key : `${prefix}.${key}`;
    if (value === null || typeof value !== 'object') into[name] = value as SourceValue;
    else if (Array.isArray(value)) into[name] = JSON.stringify(value);
    else flatten(value as Record<string, unknown>, name, into);
  }
};

/**
 * Copied into an object without a prototype, as CSV records are, so that a property or column named
 * `constructor` or `toString` reads as data and never as something inherited.
 */
const toRecord = (object: Record<string, unknown>): Record<string, SourceValue> => {
  const record: Record<string, SourceValue> = Object.create(null);
  flatten(object, '', record);
  return record;
};

const invalidEncodingName = (encoding: SourceEncoding): string =>
  encoding === 'utf16le' ? 'UTF-16' : 'UTF-8';

/** V8 quotes the input in some messages: keep the reason to one short line. */
const shortMessage = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 160 ? `${message.slice(0, 160)}…` : message;
};

/** Turns one line (its text without the line break) into an item; `undefined` for a blank line. */
const createLineReader = (
  source: JsonlSourceConfig,
): ((line: number, text: string) => SourceItem | undefined) => {
  const typed: Array<readonly [string, ColumnType]> = Object.entries(source.properties);
  const idField = source.idField;

  return (line, text) => {
    const bad = (reason: string, id?: string): SourceBadItem =>
      id === undefined
        ? { kind: 'bad', row: line, line, reason }
        : { kind: 'bad', row: line, line, id, reason };
    if (text.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      return bad(
        hasInvalidText(text)
          ? `invalid ${invalidEncodingName(source.encoding)}`
          : `invalid JSON: ${shortMessage(error)}`,
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return bad(`expected a JSON object, got ${describeJson(parsed)}`);
    }
    const record = toRecord(parsed as Record<string, unknown>);
    const rawId = record[idField];
    const id =
      typeof rawId === 'string'
        ? rawId.trim()
        : typeof rawId === 'number' && Number.isFinite(rawId)
          ? String(rawId)
          : '';
    if (hasInvalidText(text)) {
      const key = Object.keys(record).find(
        (name) => hasInvalidText(name) || hasInvalidText(String(record[name])),
      );
      const where = key === undefined ? '' : ` in property ${JSON.stringify(key)}`;
      return bad(
        `invalid ${invalidEncodingName(source.encoding)}${where}`,
        key === idField || id === '' ? undefined : id,
      );
    }
    if (id === '') {
      const problem =
        rawId === undefined
          ? 'is missing'
          : rawId === null || rawId === ''
            ? 'is empty'
            : typeof rawId === 'string'
              ? 'is blank'
              : `must be a string or a number, got ${describeJson(rawId)}`;
      return bad(`missing id: property ${JSON.stringify(idField)} ${problem}`);
    }
    for (const [name, type] of typed) {
      if (!Object.hasOwn(record, name)) continue;
      const converted = convertJson(record[name] as SourceValue, type);
      if (!converted.ok) return bad(`property ${JSON.stringify(name)}: ${converted.reason}`, id);
      record[name] = converted.value;
    }
    return { kind: 'record', row: line, line, id, record };
  };
};

/**
 * Reads a JSON Lines file as source items, one array per chunk read. See `readSource` for the
 * contract; JSONL specifics: each non-blank line is one JSON object (blank lines are skipped silently
 * but counted), `row` is the line number, nested objects are flattened to dotted keys, arrays kept as
 * JSON text, and the id may be a string or a number. LF ends a line; a CR before it is dropped.
 */
export async function* readJsonl(
  source: JsonlSourceConfig,
  options: ReadSourceOptions = {},
): AsyncGenerator<SourceItem[], void, undefined> {
  const maxLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  const readLine = createLineReader(source);
  let carry = '';
  let line = 0;
  /** Skipping the rest of a line that was already reported as too long. */
  let discarding = false;
  const take = (text: string, items: SourceItem[]): void => {
    line += 1;
    const item = readLine(line, text.endsWith('\r') ? text.slice(0, -1) : text);
    if (item !== undefined) items.push(item);
  };
  for await (const chunk of decodeFile(source.path, source.encoding, options.signal)) {
    options.signal?.throwIfAborted();
    const items: SourceItem[] = [];
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      if (discarding) discarding = false;
      else take(carry + chunk.slice(start, end), items);
      carry = '';
      start = end + 1;
    }
    if (discarding) carry = '';
    else {
      carry += chunk.slice(start);
      if (carry.length > maxLength) {
        line += 1;
        items.push({
          kind: 'bad',
          row: line,
          line,
          reason: `line longer than ${maxLength} characters; skipped`,
        });
        carry = '';
        discarding = true;
      }
    }
    if (items.length > 0) yield items;
  }
  if (!discarding && carry !== '') {
    const items: SourceItem[] = [];
    take(carry, items);
    if (items.length > 0) yield items;
  }
}
