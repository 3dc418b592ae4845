import type { ProfileChange } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { encodeBatch, measureChange, toWireRecord, validateChange } from '../src/mapping.ts';
import { memoryOptions } from '../src/options.ts';

const options = memoryOptions.parse({ apiKey: 'test-key-123', validation: { maxFieldLength: 10 } });

const upsert = (
  profileId: string,
  fields: Record<string, string | number | boolean | Date | null>,
): ProfileChange => ({
  kind: 'upsert',
  profileId,
  identity: `${profileId}@example.com`,
  fields,
});

describe('toWireRecord', () => {
  it('sends dates as ISO strings and keeps null (it clears the field)', () => {
    const record = toWireRecord(
      upsert('a', { since: new Date('2024-05-01T10:00:00Z'), city: null, vip: true, n: 3 }),
    );
    expect(record).toEqual({
      op: 'upsert',
      email: 'a@example.com',
      fields: { since: '2024-05-01T10:00:00.000Z', city: null, vip: true, n: 3 },
    });
  });

  it('sends list changes and deletes', () => {
    const change: ProfileChange = {
      ...upsert('b', {}),
      lists: { add: ['x'], remove: ['y'] },
    } as ProfileChange;
    expect(toWireRecord(change)).toMatchObject({ lists: { add: ['x'], remove: ['y'] } });
    expect(toWireRecord({ kind: 'delete', profileId: 'c', identity: 'c@example.com' })).toEqual({
      op: 'delete',
      email: 'c@example.com',
    });
  });
});

describe('measureChange', () => {
  it('is the UTF-8 byte length of the NDJSON line, newline included', () => {
    const change = upsert('d', { name: 'Zoë 👩🏽‍💻' });
    const line = `${JSON.stringify(toWireRecord(change))}\n`;
    expect(measureChange(change)).toBe(Buffer.byteLength(line, 'utf8'));
    expect(measureChange(change)).toBeGreaterThan(line.length);
  });

  it('adds up to the exact body size, so packing by measure never overflows', async () => {
    const batch = [upsert('e', { a: 'ß' }), upsert('f', { b: '東京' }), upsert('g', { c: 'plain' })];
    const { body } = await encodeBatch(batch, options);
    expect(Buffer.byteLength(body, 'utf8')).toBe(
      batch.reduce((sum, change) => sum + measureChange(change), 0),
    );
  });
});

describe('validateChange / encodeBatch', () => {
  it('rejects an oversized value at submission, naming the field; length counts code points', () => {
    expect(validateChange(upsert('h', { note: '👩🏽‍💻👩🏽‍💻' }), options)).toBeUndefined(); // 10 code points
    expect(validateChange(upsert('i', { note: '12345678901' }), options)).toEqual({
      profileId: 'i',
      status: 'rejected',
      code: 'oversized',
      message: 'note is 11 characters long; the limit is 10',
      field: 'note',
    });
  });

  it('rejects values the vendor cannot store and profiles without an identity', () => {
    expect(validateChange(upsert('j', { score: Number.NaN }), options)).toMatchObject({
      code: 'invalid_value',
      field: 'score',
    });
    expect(validateChange(upsert('k', { at: new Date('nope') }), options)).toMatchObject({
      code: 'invalid_value',
      field: 'at',
    });
    expect(validateChange({ ...upsert('l', {}), identity: ' ' }, options)).toMatchObject({
      code: 'missing_identity',
    });
  });

  it('leaves e-mail syntax to the vendor, so it is rejected at completion', () => {
    expect(validateChange({ ...upsert('m', {}), identity: 'not-an-email' }, options)).toBeUndefined();
  });

  it('keeps accepted profiles in batch order (the members order) and lists the rejected', async () => {
    const { body, records, rejected } = await encodeBatch(
      [upsert('n', { a: '1' }), upsert('o', { a: 'far too long' }), upsert('p', { a: '2' })],
      options,
    );
    expect(records).toBe(2);
    expect(rejected.map((outcome) => outcome.profileId)).toEqual(['o']);
    expect(
      body
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line).email),
    ).toEqual(['n@example.com', 'p@example.com']);
  });
});
