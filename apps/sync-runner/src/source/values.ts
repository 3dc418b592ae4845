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

/** The value of ASCII digits; `Number()` of a fresh string costs more than the rest of a date. */
const digitsValue = (digits: string): number => {
  let value = 0;
  for (let index = 0; index < digits.length; index += 1) value = value * 10 + digits.charCodeAt(index) - 48;
  return value;
};

/** A parsed date: the instant, and whether the text had a time of day (`2024-03-01` has none). */
export interface ParsedDate {
  readonly time: number;
  readonly dateOnly: boolean;
}

/*
 * Calendar arithmetic in plain numbers rather than through `Date`: a source may hold millions of dates,
 * and `Date.UTC`, `new Date` and `toISOString` cost more than the rest of reading the row. Results are
 * exactly those of `Date` (proleptic Gregorian calendar, UTC) except that years 0–99 are those years,
 * not 1900–1999 as `Date.UTC` reads them (`0050-01-01` is the year 50); test/source-values.test.ts
 * compares them.
 */

const DAY_MS = 86_400_000;

const isLeapYear = (year: number): boolean => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
};

/** Days from 1970-01-01 to a date (month 1–12): `Date.UTC(year, month - 1, day) / DAY_MS`. */
const daysFromCivil = (year: number, month: number, day: number): number => {
  // H. Hinnant's days_from_civil: years counted from March, so the leap day ends the year.
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
};

/**
 * Parses ISO 8601 dates: `2024-03-01`, `2024-03-01T12:30`, `2024-03-01 12:30:00.5+02:00`,
 * `2024-03-01T12:30:00Z`. A date-time without a zone is taken as UTC so that results never depend on
 * the machine's time zone. Impossible dates (`2024-02-30`, `25:00`) are refused instead of rolled over.
 */
export const parseDate = (text: string): ParsedDate | undefined => {
  const match = DATE.exec(text.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = digitsValue(y!);
  const month = digitsValue(mo!);
  const day = digitsValue(d!);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const days = daysFromCivil(year, month, day);
  if (h === undefined) return { time: days * DAY_MS, dateOnly: true };
  const hour = digitsValue(h);
  const minute = digitsValue(mi!);
  const second = s === undefined ? 0 : digitsValue(s);
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
  const time = days * DAY_MS + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + ms;
  return { time, dateOnly: false };
};

const pad2 = (value: number): string => (value < 10 ? `0${value}` : `${value}`);

const pad3 = (value: number): string => (value < 10 ? `00${value}` : value < 100 ? `0${value}` : `${value}`);

/** `YYYY-MM-DD` of the day `days` after 1970-01-01, or undefined outside the years 0–9999. */
const civilText = (days: number): string | undefined => {
  // H. Hinnant's civil_from_days, the inverse of daysFromCivil.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return undefined;
  return `${year < 1000 ? `000${year}`.slice(-4) : year}-${pad2(month)}-${pad2(day)}`;
};

/** `YYYY-MM-DD` of an instant, in UTC. */
export const formatDateOnly = (time: number): string => {
  // `Date` drops fractions of a millisecond toward zero. Years outside 0–9999 and invalid times are
  // left to `Date`, which writes them in another form (or throws).
  const text = isValidTime(time) ? civilText(Math.floor(Math.trunc(time) / DAY_MS)) : undefined;
  return text ?? new Date(time).toISOString().slice(0, 10);
};

/** `Date#toISOString()` of an instant: `YYYY-MM-DDTHH:MM:SS.sssZ`. */
export const formatDateTime = (time: number): string => {
  const whole = Math.trunc(time);
  const days = Math.floor(whole / DAY_MS);
  const date = isValidTime(time) ? civilText(days) : undefined;
  if (date === undefined) return new Date(time).toISOString();
  const ms = whole - days * DAY_MS;
  const seconds = Math.floor(ms / 1000);
  return `${date}T${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}.${pad3(ms % 1000)}Z`;
};

/** Epoch milliseconds that `Date` can represent (±8.64e15). */
export const isValidTime = (time: number): boolean => Number.isFinite(time) && Math.abs(time) <= 8.64e15;

/** A short, printable rendering of a value for error messages (source data, never config secrets). */
export const preview = (value: unknown): string => {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
};
