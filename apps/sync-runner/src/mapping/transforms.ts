import type { FieldValue } from '@ferry/core';
import type { DateFormat, FieldTransform } from '../config/schema.ts';
import type { SourceValue } from '../source/types.ts';
import {
  formatDateOnly,
  isValidTime,
  parseBoolean,
  parseDate,
  parseNumber,
  preview,
} from '../source/values.ts';

/**
 * A value a transform refused. A class rather than a thrown error: bad values are common in real
 * files, and the hot path only pays an `instanceof` check.
 */
export class TransformFailure {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/** One step: a value in, a value (or a failure) out. */
export type Transform = (value: FieldValue | SourceValue) => FieldValue | TransformFailure;

const describe = (value: FieldValue): string => {
  if (typeof value === 'string') return preview(value);
  if (value instanceof Date) return 'a date';
  return String(value);
};

const refuse = (expected: string, value: FieldValue): TransformFailure =>
  new TransformFailure(`expected ${expected}, got ${describe(value)}`);

// Text transforms leave other types alone: `lowercase` on a number column is not worth a bad row.
const trim: Transform = (value) => (typeof value === 'string' ? value.trim() : value);
const lowercase: Transform = (value) => (typeof value === 'string' ? value.toLowerCase() : value);
const uppercase: Transform = (value) => (typeof value === 'string' ? value.toUpperCase() : value);

const number: Transform = (value) => {
  if (value === null || typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    return parseNumber(value) ?? refuse('a number', value);
  }
  return refuse('a number', value);
};

const boolean: Transform = (value) => {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    return parseBoolean(value) ?? refuse('true or false (also yes/no, y/n, 1/0)', value);
  }
  if (value === 1 || value === 0) return value === 1;
  return refuse('true or false', value);
};

const DATE_EXPECTED = 'a date such as 2024-03-01 or 2024-03-01T12:00:00Z';

const toTime = (value: FieldValue): number | TransformFailure | null => {
  if (value === null) return null;
  if (value instanceof Date)
    return isValidTime(value.getTime()) ? value.getTime() : refuse(DATE_EXPECTED, value);
  if (typeof value === 'number') return isValidTime(value) ? value : refuse('epoch milliseconds', value);
  if (typeof value === 'string') {
    if (value.trim() === '') return null;
    return parseDate(value)?.time ?? refuse(DATE_EXPECTED, value);
  }
  return refuse(DATE_EXPECTED, value);
};

/**
 * `date`: text (ISO 8601; no zone means UTC), epoch milliseconds, or a date in; out as a `Date` for
 * the destination to format, or as `format` says.
 */
const date =
  (format: DateFormat | undefined): Transform =>
  (value) => {
    const time = toTime(value);
    if (time === null || time instanceof TransformFailure) return time;
    switch (format) {
      case undefined:
        return new Date(time);
      case 'iso':
        return new Date(time).toISOString();
      case 'date-only':
        return formatDateOnly(time);
      case 'epoch-ms':
        return time;
    }
  };

/** The function for a transform name; `format` only matters to `date`. */
export const transformFor = (name: FieldTransform, format: DateFormat | undefined): Transform => {
  switch (name) {
    case 'trim':
      return trim;
    case 'lowercase':
      return lowercase;
    case 'uppercase':
      return uppercase;
    case 'number':
      return number;
    case 'boolean':
      return boolean;
    case 'date':
      return date(format);
  }
};
