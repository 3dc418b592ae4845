import { describe, expect, it } from 'vitest';
import { formatDateOnly, formatDateTime, parseDate } from '../src/source/values.ts';

/*
 * The date functions do calendar arithmetic by hand for speed; `Date` is the reference. The reference
 * parser is the one written with `Date.UTC` that they replaced, with one fix: `Date.UTC` reads the
 * years 0–99 as 1900–1999, so the reference computes every date 400 years later (the Gregorian
 * calendar repeats every 400 years: 146,097 days) and moves it back.
 */

const FOUR_CENTURIES_MS = 146_097 * 86_400_000;
const utc = (year: number, ...rest: number[]): number =>
  Date.UTC(year + 400, rest[0] ?? 0, ...rest.slice(1)) - FOUR_CENTURIES_MS;

const DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const referenceParse = (text: string): { time: number; dateOnly: boolean } | undefined => {
  const match = DATE.exec(text.trim());
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const days = new Date(utc(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > days) return undefined;
  if (h === undefined) return { time: utc(year, month - 1, day), dateOnly: true };
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
  return {
    time: utc(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000,
    dateOnly: false,
  };
};

/** Small deterministic PRNG, so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

const digits = (value: number, width: number): string => String(value).padStart(width, '0');

describe('date arithmetic agrees with Date', () => {
  it('parses as Date computes, leap years and the years 0–99 (as themselves) included', () => {
    const next = random(1);
    const texts = [
      '2024-02-29',
      '2023-02-29',
      '1900-02-29',
      '2000-02-29',
      '0000-02-29',
      '0004-02-29',
      '0099-12-31',
    ];
    for (let round = 0; round < 20_000; round += 1) {
      const year = next() < 0.1 ? Math.floor(next() * 200) : Math.floor(next() * 10_000);
      const date = `${digits(year, 4)}-${digits(Math.floor(next() * 14), 2)}-${digits(Math.floor(next() * 33), 2)}`;
      const zone = ['', 'Z', '+02:00', '-0530', '+14', '-23:59'][Math.floor(next() * 6)];
      const time = `${digits(Math.floor(next() * 25), 2)}:${digits(Math.floor(next() * 61), 2)}:${digits(Math.floor(next() * 61), 2)}.${Math.floor(next() * 1000)}`;
      texts.push(next() < 0.5 ? date : `${date}T${time}${zone}`);
    }
    let valid = 0;
    for (const text of texts) {
      const expected = referenceParse(text);
      expect(parseDate(text), text).toEqual(expected);
      if (expected !== undefined) valid += 1;
    }
    expect(valid).toBeGreaterThan(3000);
  });

  it('formats as toISOString, for any valid time', () => {
    const next = random(2);
    const times = [
      0, -1, 1, 8.64e15, -8.64e15, -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999,
      253_402_300_800_000, 1.5, -1.5, -0.5,
    ];
    for (let round = 0; round < 50_000; round += 1) {
      const range = next() < 0.5 ? 1e13 : 8.64e15;
      times.push(Math.round((next() * 2 - 1) * range));
    }
    for (const time of times) {
      const iso = new Date(time).toISOString();
      expect(formatDateTime(time), String(time)).toBe(iso);
      expect(formatDateOnly(time), String(time)).toBe(iso.slice(0, 10));
    }
    expect(() => formatDateTime(Number.NaN)).toThrow(RangeError);
    expect(() => formatDateOnly(8.64e15 + 1)).toThrow(RangeError);
  });
});

describe('years before 100', () => {
  it('are those years, not 1900–1999', () => {
    const parsed = parseDate('0050-03-01');
    expect(parsed).toBeDefined();
    expect(formatDateOnly(parsed!.time)).toBe('0050-03-01');
    expect(new Date(parsed!.time).getUTCFullYear()).toBe(50);
    // 1900 was not a leap year; the year 0 was (proleptic Gregorian).
    expect(parseDate('0000-02-29')).toBeDefined();
    expect(parseDate('1900-02-29')).toBeUndefined();
  });
});
