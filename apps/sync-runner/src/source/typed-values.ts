import type { ColumnType } from '../config/schema.ts';
import type { SourceValue } from './types.ts';
import {
  formatDateOnly,
  formatDateTime,
  isValidTime,
  parseBoolean,
  parseDate,
  parseNumber,
  preview,
} from './values.ts';

/** The value in its declared type, or why it does not fit. */
export type Converted =
  | { readonly ok: true; readonly value: SourceValue }
  | { readonly ok: false; readonly reason: string };

const NULL: Converted = { ok: true, value: null };

const failure = (expected: string, value: unknown): Converted => ({
  ok: false,
  reason: `expected ${expected}, got ${typeof value === 'string' ? preview(value) : String(value)}`,
});

const NUMBER = 'a number';
const BOOLEAN = 'true or false (also yes/no, y/n, 1/0)';
const DATE = 'a date such as 2024-03-01 or 2024-03-01T12:00:00Z';

/**
 * Date columns hold canonical text rather than `Date` objects (source values are JSON scalars):
 * `2024-03-01` for a date, the full UTC ISO form for a date-time.
 */
const canonicalDate = (time: number, dateOnly: boolean): string =>
  dateOnly ? formatDateOnly(time) : formatDateTime(time);

/** CSV text → the declared type. Empty or whitespace-only text is `null` for every type but string. */
export const convertText = (text: string, type: ColumnType): Converted => {
  if (type === 'string') return { ok: true, value: text };
  if (text.trim() === '') return NULL;
  switch (type) {
    case 'number': {
      const value = parseNumber(text);
      return value === undefined ? failure(NUMBER, text) : { ok: true, value };
    }
    case 'boolean': {
      const value = parseBoolean(text);
      return value === undefined ? failure(BOOLEAN, text) : { ok: true, value };
    }
    case 'date': {
      const parsed = parseDate(text);
      return parsed === undefined
        ? failure(DATE, text)
        : { ok: true, value: canonicalDate(parsed.time, parsed.dateOnly) };
    }
  }
};

/**
 * A JSON scalar → the declared type. Text is read as in CSV; a number is taken as epoch milliseconds
 * for a date and as 1/0 for a boolean; a string column takes numbers and booleans as their text.
 */
export const convertJson = (value: SourceValue, type: ColumnType): Converted => {
  if (value === null) return NULL;
  if (typeof value === 'string') return convertText(value, type);
  switch (type) {
    case 'string':
      return { ok: true, value: String(value) };
    case 'number':
      return typeof value === 'number' ? { ok: true, value } : failure(NUMBER, value);
    case 'boolean':
      if (typeof value === 'boolean') return { ok: true, value };
      return value === 1 || value === 0 ? { ok: true, value: value === 1 } : failure(BOOLEAN, value);
    case 'date':
      return typeof value === 'number' && isValidTime(value)
        ? { ok: true, value: formatDateTime(value) }
        : failure(`${DATE}, or epoch milliseconds`, value);
  }
};
