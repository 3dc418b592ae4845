import { parseCsv } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { classifyError, mapErrorRows } from '../src/index.ts';

/** The errors_url file: layout guessed from headers, mapped to members by e-mail. */

const index = new Map([
  ['ann@example.com', [0]],
  ['bob@example.com', [1, 2]],
  ['zoë@bücher.de', [3]],
]);

const map = (text: string | Uint8Array) => mapErrorRows(parseCsv(text), index);

describe('mapErrorRows', () => {
  it('reads quoted fields with commas, quotes and line breaks, and unicode addresses', async () => {
    const result = await map(
      'email,error\n' +
        '"ANN@example.com","bad, ""really"" bad"\n' +
        'zoë@bücher.de,"two\r\nlines"\n' +
        'bob@example.com,dup\n',
    );
    expect([...result.rejected]).toEqual([
      [0, 'bad, "really" bad'],
      [3, 'two\r\nlines'],
      [1, 'dup'],
      [2, 'dup'],
    ]);
    expect(result).toMatchObject({ unmapped: 0, jobMessages: [] });
  });

  it('finds the columns by name whatever else the file holds, and skips a BOM', async () => {
    const bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('external_id,Email Address,Error Message,row\ncrm-1,ann@example.com,nope,2\n'),
    ]);
    const result = await map(bom);
    expect([...result.rejected]).toEqual([[0, 'nope']]);
  });

  it('separates rows about the whole job from rows it cannot map', async () => {
    const result = await map(
      'email,external_id,error\n,,file broken\n,crm-9,no email\nnobody@example.com,,x\n',
    );
    expect(result.jobMessages).toEqual(['file broken']);
    expect(result.unmapped).toBe(2);
  });

  it('counts a row with the wrong number of columns as unmapped, and keeps reading', async () => {
    const result = await map('email,error\nann@example.com\nbob@example.com,late\n');
    expect(result.unmapped).toBe(1);
    expect(result.rejected.get(1)).toBe('late');
  });
});

describe('classifyError', () => {
  it('derives a code and the field from the reason', () => {
    expect(classifyError('invalid email')).toEqual({ code: 'invalid_email', field: 'email' });
    expect(classifyError('email exceeds the maximum length of 254 characters')).toEqual({
      code: 'value_too_long',
      field: 'email',
    });
    expect(classifyError('state_province_region is too long')).toEqual({
      code: 'value_too_long',
      field: 'state_province_region',
    });
    expect(classifyError('custom field dob (e3_D) must be a date')).toEqual({
      code: 'sendgrid_rejected',
      field: 'dob',
    });
    expect(classifyError('row has 3 columns on line 4')).toEqual({ code: 'sendgrid_rejected' });
  });
});
