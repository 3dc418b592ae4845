import { describe, expect, it } from 'vitest';
import { type DestinationConfigInput, destinationSchema } from '../src/config/schema.ts';
import { compileMapping, mappingColumns, mapRecord } from '../src/mapping/index.ts';
import type { SourceRecord } from '../src/source/types.ts';

/** A destination as the loader produces it (defaults applied). */
const destination = (input: Omit<DestinationConfigInput, 'plugin'>) =>
  destinationSchema.parse({ plugin: 'memory', ...input });

const record = (values: Record<string, string | number | boolean | null>): SourceRecord =>
  Object.assign(Object.create(null), values);

describe('compileMapping', () => {
  it('copies columns, applies transforms in order, and sets constants', () => {
    const map = compileMapping(
      destination({
        identity: 'email',
        fields: {
          email: { column: 'Email', transform: ['trim', 'lowercase'] },
          first_name: 'First',
          country: { column: 'Country', transform: 'uppercase' },
          source: { constant: 'ferry' },
          tier: { constant: 2 },
        },
      }),
    );
    expect(map(record({ Email: '  Ann@Example.COM ', First: 'Ann', Country: 'no' }))).toEqual({
      ok: true,
      identity: 'ann@example.com',
      fields: { email: 'ann@example.com', first_name: 'Ann', country: 'NO', source: 'ferry', tier: 2 },
      lists: { add: [], remove: [] },
    });
  });

  it('turns empty text into null (clear the field), also after trim; a missing column is null', () => {
    const map = compileMapping(
      destination({
        identity: 'id',
        fields: { a: 'a', b: { column: 'b', transform: 'trim' }, c: 'nope', d: { constant: '' }, e: 'e' },
      }),
    );
    expect(map(record({ id: '1', a: '', b: '   ', e: ' x ' }))).toMatchObject({
      ok: true,
      fields: { a: null, b: null, c: null, d: null, e: ' x ' },
    });
  });

  it('converts numbers and booleans from text, and passes typed values through', () => {
    const map = compileMapping(
      destination({
        identity: 'id',
        fields: {
          n: { column: 'n', transform: 'number' },
          b: { column: 'b', transform: 'boolean' },
          typed: { column: 't', transform: 'number' },
          flag: { column: 'f', transform: 'boolean' },
          lower: { column: 't', transform: 'lowercase' },
        },
      }),
    );
    expect(map(record({ id: 'x', n: ' -1.5e2 ', b: 'No', t: 7, f: 1 }))).toMatchObject({
      ok: true,
      fields: { n: -150, b: false, typed: 7, flag: true, lower: 7 },
    });
    expect(map(record({ id: 'x', n: '', b: '', t: null, f: null }))).toMatchObject({
      ok: true,
      fields: { n: null, b: null, typed: null, flag: null },
    });
  });

  it('formats dates: a Date by default, or iso, date-only, epoch-ms', () => {
    const map = compileMapping(
      destination({
        identity: 'id',
        fields: {
          raw: { column: 'at', transform: 'date' },
          iso: { column: 'at', transform: 'date', format: 'iso' },
          day: { column: 'at', transform: ['trim', 'date'], format: 'date-only' },
          ms: { column: 'at', transform: 'date', format: 'epoch-ms' },
          fromMs: { column: 'ms', transform: 'date', format: 'iso' },
          none: { column: 'missing', transform: 'date', format: 'iso' },
        },
      }),
    );
    const result = map(record({ id: '1', at: '2024-03-01T23:30:00-02:00', ms: 0 }));
    expect(result).toEqual({
      ok: true,
      identity: '1',
      fields: {
        raw: new Date('2024-03-02T01:30:00.000Z'),
        iso: '2024-03-02T01:30:00.000Z',
        day: '2024-03-02',
        ms: Date.parse('2024-03-02T01:30:00.000Z'),
        fromMs: '1970-01-01T00:00:00.000Z',
        none: null,
      },
      lists: { add: [], remove: [] },
    });
    // A date without a zone is UTC, whatever the machine's time zone.
    expect(map(record({ id: '1', at: '2024-03-01 10:00', ms: 0 }))).toMatchObject({
      fields: { iso: '2024-03-01T10:00:00.000Z' },
    });
  });

  it('names the field, the reason and the column when a value does not convert', () => {
    const map = compileMapping(
      destination({
        identity: 'id',
        fields: {
          ok: 'id',
          signed_up: { column: 'signup', transform: 'date' },
          age: { column: 'age', transform: 'number' },
          vip: { column: 'vip', transform: 'boolean' },
        },
      }),
    );
    expect(map(record({ id: '1', signup: 'yesterday', age: '3', vip: 'y' }))).toEqual({
      ok: false,
      field: 'signed_up',
      reason: 'expected a date such as 2024-03-01 or 2024-03-01T12:00:00Z, got "yesterday" (column "signup")',
    });
    expect(map(record({ id: '1', signup: '2024-02-30', age: '3', vip: 'y' }))).toMatchObject({
      ok: false,
      field: 'signed_up',
    });
    expect(map(record({ id: '1', signup: '', age: '1,5', vip: 'y' }))).toEqual({
      ok: false,
      field: 'age',
      reason: 'expected a number, got "1,5" (column "age")',
    });
    expect(map(record({ id: '1', signup: '', age: '', vip: 'perhaps' }))).toMatchObject({
      ok: false,
      field: 'vip',
    });
    expect(map(record({ id: '1', signup: '', age: '', vip: 2 }))).toEqual({
      ok: false,
      field: 'vip',
      reason: 'expected true or false, got 2 (column "vip")',
    });
  });

  it('takes the identity from the mapped field when there is one, else from the source column', () => {
    const byField = compileMapping(
      destination({ identity: 'email', fields: { email: { column: 'mail', transform: 'lowercase' } } }),
    );
    expect(byField(record({ mail: 'A@X.COM', email: 'ignored@x.com' }))).toMatchObject({
      identity: 'a@x.com',
    });
    const byColumn = compileMapping(destination({ identity: 'contact_id', fields: { name: 'name' } }));
    expect(byColumn(record({ contact_id: ' 42 ', name: 'n' }))).toEqual({
      ok: true,
      identity: '42',
      fields: { name: 'n' },
      lists: { add: [], remove: [] },
    });
    expect(byColumn(record({ contact_id: 42, name: 'n' }))).toMatchObject({ identity: '42' });
  });

  it('refuses a profile without identity, naming it', () => {
    const map = compileMapping(
      destination({ identity: 'email', fields: { email: { column: 'mail', transform: 'trim' } } }),
    );
    expect(map(record({ mail: '   ' }))).toEqual({
      ok: false,
      field: 'email',
      reason: 'no identity: field "email" is empty',
    });
    const byColumn = compileMapping(destination({ identity: 'email', fields: {} }));
    expect(byColumn(record({}))).toEqual({
      ok: false,
      field: 'email',
      reason: 'no identity: column "email" is empty',
    });
  });

  it('gives every profile the same frozen list changes', () => {
    const map = compileMapping(
      destination({
        identity: 'id',
        fields: {},
        lists: { add: ['newsletter', 'customers'], remove: ['prospects'] },
      }),
    );
    const first = map(record({ id: '1' }));
    const second = map(record({ id: '2' }));
    if (!first.ok || !second.ok) throw new Error('expected ok');
    expect(first.lists).toEqual({ add: ['newsletter', 'customers'], remove: ['prospects'] });
    expect(second.lists).toBe(first.lists);
    if (first.lists === undefined) throw new Error('expected list changes');
    expect(Object.isFrozen(first.lists) && Object.isFrozen(first.lists.add)).toBe(true);
  });

  it('builds a fresh fields object per record, in config order', () => {
    const map = compileMapping(destination({ identity: 'id', fields: { z: 'a', a: 'b' } }));
    const first = map(record({ id: '1', a: 'x', b: 'y' }));
    const second = map(record({ id: '2', a: 'p', b: 'q' }));
    if (!first.ok || !second.ok) throw new Error('expected ok');
    expect(Object.keys(first.fields)).toEqual(['z', 'a']);
    expect(first.fields).toEqual({ z: 'x', a: 'y' });
    expect(second.fields).toEqual({ z: 'p', a: 'q' });
  });
});

describe('mapRecord', () => {
  it('compiles once per destination object', () => {
    const config = destination({ identity: 'id', fields: { a: 'a' } });
    expect(mapRecord(record({ id: '1', a: 'x' }), config)).toMatchObject({ ok: true, fields: { a: 'x' } });
    expect(mapRecord(record({ id: '2', a: 'y' }), config)).toMatchObject({ ok: true, identity: '2' });
  });
});

describe('mappingColumns', () => {
  it('lists the columns a mapping reads, the identity column included when it is not a field', () => {
    expect(
      mappingColumns(
        destination({
          identity: 'contact_id',
          fields: { a: 'col_a', b: { column: 'col_b', transform: 'trim' }, c: { constant: 1 }, d: 'col_a' },
        }),
      ),
    ).toEqual(['col_a', 'col_b', 'contact_id']);
    expect(mappingColumns(destination({ identity: 'email', fields: { email: 'mail' } }))).toEqual(['mail']);
  });
});
