import type { ColumnType, JsonlSourceConfig } from '../config/schema.ts';
import { decodeFile, REPLACEMENT_CHARACTER, type SourceEncoding } from './decode.ts';
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

/** Lines of a decoded file with their 1-based numbers; LF ends a line, a CR before it is dropped. */
async function* lines(
  source: JsonlSourceConfig,
  options: ReadSourceOptions,
): AsyncGenerator<
  { readonly line: number; readonly text: string } | { readonly line: number; readonly tooLong: true }
> {
  const maxLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;
  let carry = '';
  let line = 0;
  /** Skipping the rest of a line that was already reported as too long. */
  let discarding = false;
  const finish = (text: string) => {
    line += 1;
    return { line, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  };
  for await (const chunk of decodeFile(source.path, source.encoding, options.signal)) {
    options.signal?.throwIfAborted();
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      if (discarding) discarding = false;
      else yield finish(carry + chunk.slice(start, end));
      carry = '';
      start = end + 1;
    }
    if (discarding) {
      carry = '';
      continue;
    }
    carry += chunk.slice(start);
    if (carry.length > maxLength) {
      line += 1;
      yield { line, tooLong: true };
      carry = '';
      discarding = true;
    }
  }
  if (!discarding && carry !== '') yield finish(carry);
}

/**
 * Reads a JSON Lines file as source items. See `readSource` for the contract; JSONL specifics: each
 * non-blank line is one JSON object (blank lines are skipped silently but counted), `row` is the line
 * number, nested objects are flattened to dotted keys, arrays kept as JSON text, and the id may be a
 * string or a number.
 */
export async function* readJsonl(
  source: JsonlSourceConfig,
  options: ReadSourceOptions = {},
): AsyncGenerator<SourceItem, void, undefined> {
  const typed: Array<readonly [string, ColumnType]> = Object.entries(source.properties);
  const idField = source.idField;
  const maxLength = options.maxRecordLength ?? DEFAULT_MAX_RECORD_LENGTH;

  for await (const entry of lines(source, options)) {
    const { line } = entry;
    const bad = (reason: string, id?: string): SourceBadItem =>
      id === undefined
        ? { kind: 'bad', row: line, line, reason }
        : { kind: 'bad', row: line, line, id, reason };
    if ('tooLong' in entry) {
      yield bad(`line longer than ${maxLength} characters; skipped`);
      continue;
    }
    const { text } = entry;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      yield bad(
        text.includes(REPLACEMENT_CHARACTER)
          ? `invalid ${invalidEncodingName(source.encoding)}`
          : `invalid JSON: ${shortMessage(error)}`,
      );
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      yield bad(`expected a JSON object, got ${describeJson(parsed)}`);
      continue;
    }
    const record = toRecord(parsed as Record<string, unknown>);
    const rawId = record[idField];
    const id =
      typeof rawId === 'string'
        ? rawId.trim()
        : typeof rawId === 'number' && Number.isFinite(rawId)
          ? String(rawId)
          : '';
    if (text.includes(REPLACEMENT_CHARACTER)) {
      const key = Object.keys(record).find(
        (name) =>
          name.includes(REPLACEMENT_CHARACTER) || String(record[name]).includes(REPLACEMENT_CHARACTER),
      );
      const where = key === undefined ? '' : ` in property ${JSON.stringify(key)}`;
      yield bad(
        `invalid ${invalidEncodingName(source.encoding)}${where}`,
        key === idField || id === '' ? undefined : id,
      );
      continue;
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
      yield bad(`missing id: property ${JSON.stringify(idField)} ${problem}`);
      continue;
    }
    let failed: string | undefined;
    for (const [name, type] of typed) {
      if (!Object.hasOwn(record, name)) continue;
      const converted = convertJson(record[name] as SourceValue, type);
      if (!converted.ok) {
        failed = `property ${JSON.stringify(name)}: ${converted.reason}`;
        break;
      }
      record[name] = converted.value;
    }
    if (failed !== undefined) {
      yield bad(failed, id);
      continue;
    }
    yield { kind: 'record', row: line, line, id, record };
  }
}
