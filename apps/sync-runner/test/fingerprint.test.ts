import type { Fields } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { canonicalText, fingerprint } from '../src/mapping/fingerprint.ts';

const NO_LISTS = { add: [], remove: [] };

describe('fingerprint', () => {
  it('is short base64url', () => {
    expect(fingerprint({ email: 'a@x.com' }, NO_LISTS)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('is stable across runs and machines (pinned value)', () => {
    // If this changes, every profile of every user is re-sent once: change it deliberately or not at all.
    expect(fingerprint({ email: 'a@x.com', age: 42, vip: true, gone: null }, NO_LISTS)).toBe(
      fingerprint({ gone: null, vip: true, age: 42, email: 'a@x.com' }),
    );
    expect(canonicalText({ email: 'a@x.com', age: 42, vip: true, gone: null })).toBe(
      '{"age":42,"email":"a@x.com","gone":null,"vip":true,}',
    );
    // sha256('{"email":"a@x.com",}'), base64url, first 22 characters (checked with openssl).
    expect(fingerprint({ email: 'a@x.com' })).toBe('G5kG12iL9iirEtqLkZylPs');
  });

  it('ignores key order and list order', () => {
    expect(fingerprint({ a: '1', b: '2' }, { add: ['x', 'y'], remove: [] })).toBe(
      fingerprint({ b: '2', a: '1' }, { add: ['y', 'x', 'x'], remove: [] }),
    );
  });

  it('treats no list changes and empty list changes alike', () => {
    expect(fingerprint({ a: '1' })).toBe(fingerprint({ a: '1' }, NO_LISTS));
  });

  it('counts dates as their instant', () => {
    expect(fingerprint({ d: new Date('2024-03-01T00:00:00Z') })).toBe(
      fingerprint({ d: new Date(Date.parse('2024-03-01T01:00:00+01:00')) }),
    );
  });

  it('tells apart values that JSON or naive joining would confuse', () => {
    const distinct: Fields[] = [
      { a: 1 },
      { a: '1' },
      { a: null },
      { a: '' },
      { a: 'null' },
      { a: true },
      { a: 'true' },
      { a: new Date('2024-03-01T00:00:00.000Z') },
      { a: '2024-03-01T00:00:00.000Z' },
      { a: '1', b: '2' },
      { 'a":"1","b': '2' },
      {},
    ];
    const prints = distinct.map((fields) => fingerprint(fields));
    expect(new Set(prints).size).toBe(distinct.length);
    expect(fingerprint({}, { add: ['a,b'], remove: [] })).not.toBe(
      fingerprint({}, { add: ['a', 'b'], remove: [] }),
    );
    expect(fingerprint({}, { add: ['a'], remove: [] })).not.toBe(fingerprint({}, { add: [], remove: ['a'] }));
  });

  it('changes when any value changes', () => {
    const base = { email: 'a@x.com', name: 'Ann' };
    expect(fingerprint(base)).not.toBe(fingerprint({ ...base, name: 'Anne' }));
    expect(fingerprint(base)).not.toBe(fingerprint({ ...base, extra: null }));
  });
});
