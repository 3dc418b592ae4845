/*
 * Strict text → value parsers shared by the source readers (declared column types) and the mapping
 * transforms. Strict on purpose: a value that only parses by guessing (`1,5`, `03/04/2024`, `0x10`)
 * is reported as a bad row rather than sent to a vendor as something the user did not mean.
 */

// Plain decimal notation with an optional exponent. `Number()` alone would also take hex, binary,
// `Infinity` and whitespace-only text (as 0).
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a decimal number (`42`, `-1.5`, `1e3`); surrounding whitespace is ignored. */
export const parseNumber = (text: string): number | undefined => {
  const trimmed = text.trim();
  if (!NUMBER.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
};

const TRUE = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE = new Set(['false', 'f', 'no', 'n', '0']);

/** `true/t/yes/y/1` and `false/f/no/n/0`, case-insensitive, surrounding whitespace ignored. */
export const parseBoolean = (text: string): boolean | undefined => {
  const key = text.trim().toLowerCase();
  if (TRUE.has(key)) return true;
  if (FALSE.has(key)) return false;
  return undefined;
};

// YYYY-MM-DD, optionally followed by T or a space, HH:MM, optional :SS and fraction, optional zone.
const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/** A parsed date: the instant, and whether the text had a time of day (`2024-03-01` has none). */
export interface ParsedDate {
  readonly time: number;
  readonly dateOnly: boolean;
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses ISO 8601 dates: `2024-03-01`, `2024-03-01T12:30`, `2024-03-01 12:30:00.5+02:00`,
 * `2024-03-01T12:30:00Z`. A date-time without a zone is taken as UTC so that results never depend on
 * the machine's time zone. Impossible dates (`2024-02-30`, `25:00`) are refused instead of rolled over.
 */
export const parseDate = (text: string): ParsedDate | undefined => {
  const match = DATE.exec(text.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (h === undefined) return { time: Date.UTC(year, month - 1, day), dateOnly: true };
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000);
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zoneHours > 23 || zoneMinutes > 59) return undefined;
    offsetMinutes = sign * (zoneHours * 60 + zoneMinutes);
  }
  const time = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
  return { time, dateOnly: false };
};

/** `YYYY-MM-DD` of an instant, in UTC. */
export const formatDateOnly = (time: number): string => new Date(time).toISOString().slice(0, 10);

/** Epoch milliseconds that `Date` can represent (±8.64e15). */
export const isValidTime = (time: number): boolean => Number.isFinite(time) && Math.abs(time) <= 8.64e15;

/** A short, printable rendering of a value for error messages (source data, never config secrets). */
export const preview = (value: unknown): string => {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
};
