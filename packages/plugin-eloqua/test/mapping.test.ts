import { ConfigError, type ProfileChange, parseOptions, writeCsv } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import {
  columnsOf,
  eloqua,
  eloquaOptions,
  encodeNumber,
  encodeValue,
  MAX_GROUPS_PER_JOB,
  measureChange,
  prepareJob,
} from '../src/index.ts';
import { BASIC_AUTH, upsert } from './helpers.ts';

const options = parseOptions('eloqua', eloquaOptions, { auth: BASIC_AUTH });

const collect = async (chunks: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
};

describe('value encoding', () => {
  it('writes null as an empty value, never the text "null"', () => {
    expect(encodeValue(null)).toBe('');
    expect(encodeValue(undefined)).toBe('');
  });

  it('writes dates as ISO 8601 in UTC, booleans as true/false, strings as they are', () => {
    expect(encodeValue(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)))).toBe('2024-01-02T03:04:05.006Z');
    expect(encodeValue(true)).toBe('true');
    expect(encodeValue(false)).toBe('false');
    expect(encodeValue('  spaced, "quoted"  ')).toBe('  spaced, "quoted"  ');
  });

  it('writes numbers in plain decimal, expanding exponents', () => {
    expect(encodeNumber(0)).toBe('0');
    expect(encodeNumber(-0)).toBe('0');
    expect(encodeNumber(1234.5)).toBe('1234.5');
    expect(encodeNumber(-42)).toBe('-42');
    expect(encodeNumber(1e21)).toBe('1000000000000000000000');
    expect(encodeNumber(1.5e22)).toBe('15000000000000000000000');
    expect(encodeNumber(-2.5e-7)).toBe('-0.00000025');
    expect(encodeNumber(1e-7)).toBe('0.0000001');
    expect(encodeNumber(1.2345e-10)).toBe('0.00000000012345');
  });
});

describe('rows and measure', () => {
  it('puts the identifier first (from the identity), then the other fields by name', () => {
    const change = upsert(1, { C_Zip: '1234', C_City: 'Delft' });
    expect(columnsOf(change, 'C_EmailAddress')).toEqual(['C_EmailAddress', 'C_City', 'C_FirstName', 'C_Zip']);
  });

  it('measures exactly the bytes writeCsv uploads for the row, for any value', async () => {
    const changes: ProfileChange[] = [
      upsert(1, { C_Notes1: 'naïve café – “quoted” 👩🏽‍💻 line\nbreak, comma', C_City: null }),
      upsert(2, { C_Number: 1e21, C_Flag: true, C_When: new Date(0), C_Blank: '   ' }),
      upsert(3, { C_Quote: '"', C_Lone: '' }),
    ];
    for (const change of changes) {
      const columns = columnsOf(change, 'C_EmailAddress');
      const prepared = prepareJob([change], options);
      const row = prepared.groups[0]?.rows[0];
      const body = await collect(writeCsv([row?.values ?? []], { headers: columns, writeHeaders: false }));
      expect(eloqua.measure(change, options)).toBe(body.length);
      expect(measureChange(change, options)).toBe(row?.bytes);
    }
  });
});

describe('prepareJob', () => {
  it('rejects at submission what can never be imported, naming the field', () => {
    const { groups, rejected } = prepareJob(
      [
        upsert(1),
        { kind: 'delete', profileId: 'd1', identity: 'gone@example.com' },
        upsert(2, {}, { identity: '  ' }),
        upsert(3, { C_Score: Number.NaN }),
        upsert(4, { C_When: new Date('nope') }),
      ],
      options,
    );
    expect(rejected).toEqual([
      expect.objectContaining({ profileId: 'd1', status: 'rejected', code: 'unsupported' }),
      expect.objectContaining({ profileId: 'p2', code: 'missing_identity' }),
      expect.objectContaining({ profileId: 'p3', code: 'invalid_value', field: 'C_Score' }),
      expect.objectContaining({ profileId: 'p4', code: 'invalid_value', field: 'C_When' }),
    ]);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.rows.map((row) => row.profileIds)).toEqual([['p1']]);
  });

  it('throws ConfigError for field names and list ids Eloqua cannot have', () => {
    expect(() => prepareJob([upsert(1, { 'First Name': 'x' })], options)).toThrow(ConfigError);
    expect(() =>
      prepareJob([upsert(1, {}, { lists: { add: ['newsletter'], remove: [] } })], options),
    ).toThrow(/list id "newsletter"/);
  });

  it('merges profiles sharing an identity into one row: last values, all list changes, last position', () => {
    const { groups } = prepareJob(
      [
        upsert(
          1,
          { C_City: 'first' },
          { identity: 'Grace@example.com', lists: { add: ['11', '12'], remove: [] } },
        ),
        upsert(2),
        upsert(3, { C_City: 'last' }, { identity: 'grace@example.com ', lists: { add: [], remove: ['11'] } }),
        upsert(4),
      ],
      options,
    );
    // p1/p3 have other list changes than p2/p4, so two groups; p1 and p3 share one row.
    expect(groups.map((group) => group.rows.map((row) => row.profileIds))).toEqual([
      [['p2'], ['p4']],
      [['p1', 'p3']],
    ]);
    const merged = groups[1];
    expect(merged?.actions).toEqual([
      { action: 'add', destination: '{{ContactList[12]}}' },
      { action: 'remove', destination: '{{ContactList[11]}}' },
    ]);
    expect(merged?.rows[0]?.values).toEqual(['grace@example.com ', 'last', 'User 3']);
  });

  it('uploads a contact with more than 10 list changes once per 10 of them', () => {
    const add = Array.from({ length: 13 }, (_, index) => String(100 + index));
    const { groups } = prepareJob([upsert(1, {}, { lists: { add, remove: [] } })], options);
    expect(groups.map((group) => group.actions.length)).toEqual([10, 3]);
    expect(groups.every((group) => group.rows[0]?.profileIds[0] === 'p1')).toBe(true);
  });

  it(`hands profiles back as retryable past ${MAX_GROUPS_PER_JOB} groups`, () => {
    const batch = Array.from({ length: MAX_GROUPS_PER_JOB + 2 }, (_, index) =>
      upsert(index, {}, { lists: { add: [String(index + 1)], remove: [] } }),
    );
    const { groups, rejected } = prepareJob(batch, options);
    expect(groups).toHaveLength(MAX_GROUPS_PER_JOB);
    expect(rejected.map((outcome) => [outcome.profileId, outcome.status])).toEqual([
      [`p${MAX_GROUPS_PER_JOB}`, 'retryable'],
      [`p${MAX_GROUPS_PER_JOB + 1}`, 'retryable'],
    ]);
  });

  it('groups profiles with different field sets apart, so a missing field is never blanked', () => {
    const { groups } = prepareJob([upsert(1, { C_City: 'Delft' }), upsert(2)], options);
    expect(groups.map((group) => group.columns)).toEqual([
      ['C_EmailAddress', 'C_City', 'C_FirstName'],
      ['C_EmailAddress', 'C_FirstName'],
    ]);
  });
});
