import { describe, expect, it } from 'vitest';
import {
  checkIdentity,
  fieldKind,
  formatDate,
  isPlausibleEmail,
  measureCsv,
  measureJson,
  sendgridOptions,
  toContact,
} from '../src/index.ts';
import { LIST_A, LIST_B, upsert } from './support.ts';

/** Encoding, validation and measure without any network. */

const options = sendgridOptions.parse({ apiKey: 'SG.x' });
/** The submission form (validating); without a lookup, toContact is the measuring form. */
const noCustomFields = () => undefined;
const strict = (change: Parameters<typeof toContact>[0]) => toContact(change, noCustomFields);

describe('fields', () => {
  it('tells reserved, read-only and custom names apart (reserved case-insensitively)', () => {
    expect(fieldKind('email')).toBe('email');
    expect(fieldKind('First_Name')).toBe('reserved');
    expect(fieldKind('phone_number_id')).toBe('reserved');
    expect(fieldKind('created_at')).toBe('read_only');
    expect(fieldKind('favourite_colour')).toBe('custom');
  });

  it('enforces the spec lengths in code points, so an emoji counts once', () => {
    const name = '🏳️‍🌈'.repeat(12); // 4 code points each: 48
    expect(strict(upsert(1, { first_name: name }))).toMatchObject({ ok: true });
    expect(strict(upsert(1, { first_name: `${name}abc` }))).toMatchObject({
      ok: false,
      code: 'oversized',
      field: 'first_name',
    });
    expect(strict(upsert(1, { address_line_2: 'a'.repeat(101) }))).toMatchObject({ field: 'address_line_2' });
    expect(strict(upsert(1, { postal_code: 'p'.repeat(500) }))).toMatchObject({ ok: true });
  });

  it('writes numbers, booleans and dates of reserved fields as text; null clears', () => {
    const built = strict(
      upsert(1, {
        postal_code: 8001,
        unique_name: true,
        address_line_1: new Date('2024-05-06T07:08:09.123Z'),
        city: null,
        external_id: null,
      }),
    );
    expect(built).toEqual({
      ok: true,
      contact: {
        email: 'user1@example.com',
        postal_code: '8001',
        unique_name: 'true',
        address_line_1: '2024-05-06T07:08:09Z',
        city: '',
      },
      // city is cleared (a CSV import cannot do that); external_id cannot be, so it is left out.
      clears: true,
    });
  });

  it('checks alternate_emails (at most 5 addresses) and phone_number_id (E.164)', () => {
    expect(
      strict(upsert(1, { alternate_emails: 'a@x.io,b@x.io,c@x.io,d@x.io,e@x.io,f@x.io' })),
    ).toMatchObject({
      code: 'invalid_value',
    });
    expect(strict(upsert(1, { alternate_emails: 'a@x.io, nope' }))).toMatchObject({ code: 'invalid_email' });
    expect(strict(upsert(1, { phone_number_id: '0155 123' }))).toMatchObject({ field: 'phone_number_id' });
    expect(strict(upsert(1, { phone_number_id: '+14155550123' }))).toMatchObject({ ok: true });
  });

  it('types custom fields by their definition', () => {
    const lookup = (name: string) =>
      ({ score: { id: 'e2_N', type: 'Number' as const }, dob: { id: 'e3_D', type: 'Date' as const } })[name];
    expect(toContact(upsert(1, { score: ' 1e3 ', dob: '12/31/2024' }), lookup)).toEqual({
      ok: true,
      contact: { email: 'user1@example.com', custom_fields: { e2_N: 1000, e3_D: '12/31/2024' } },
      clears: false,
    });
    expect(toContact(upsert(1, { score: Number.NaN }), lookup)).toMatchObject({ code: 'invalid_value' });
    expect(toContact(upsert(1, { dob: 20240131 }), lookup)).toMatchObject({
      code: 'invalid_value',
      field: 'dob',
    });
    expect(toContact(upsert(1, { dob: new Date('x') }), lookup)).toMatchObject({ code: 'invalid_value' });
    expect(toContact(upsert(1, { dob: '2024-13-45' }), lookup)).toMatchObject({ code: 'invalid_value' });
  });

  it('formats dates as a day at UTC midnight, else to the second', () => {
    expect(formatDate(new Date('2024-01-31T00:00:00Z'))).toBe('2024-01-31');
    expect(formatDate(new Date('2024-01-31T12:30:00.999Z'))).toBe('2024-01-31T12:30:00Z');
  });
});

describe('e-mail', () => {
  it('refuses only what no mail system takes, leaving subtler cases to SendGrid', () => {
    for (const bad of [
      '',
      'plain',
      'a@b',
      '@example.com',
      'a@',
      'two@@example.com',
      'a b@example.com',
      'a@.example.com',
    ]) {
      expect(isPlausibleEmail(bad), bad).toBe(false);
    }
    for (const good of [
      'a@example.com',
      'first.last+tag@sub.example.co.uk',
      'ünï@bücher.de',
      "o'neil@example.ie",
    ]) {
      expect(isPlausibleEmail(good), good).toBe(true);
    }
    expect(checkIdentity(upsert(1, {}, { identity: `${'x'.repeat(250)}@example.com` }))).toMatchObject({
      code: 'oversized',
      field: 'email',
    });
  });
});

describe('measure', () => {
  it('JSON: the contact, its separator and its own lists', () => {
    const change = upsert(1, { first_name: 'Zoë' }, { lists: { add: [LIST_B], remove: [] } });
    const contact = '{"email":"user1@example.com","first_name":"Zoë"}';
    expect(measureJson(change, options)).toBe(Buffer.byteLength(contact) + 1 + LIST_B.length + 3);
    // Lists every contact gets are in the envelope, not in each profile.
    expect(measureJson(change, { ...options, listIds: [LIST_B] })).toBe(Buffer.byteLength(contact) + 1);
    expect(measureJson(upsert(1, {}, { lists: { add: [LIST_A], remove: [] } }), options)).toBeGreaterThan(
      measureJson(upsert(1), options),
    );
  });

  it('CSV: the encoded row, line break included', () => {
    expect(measureCsv(upsert(1, { first_name: 'a,b', city: 'x' }))).toBe(
      Buffer.byteLength('user1@example.com,x,"a,b"\n'),
    );
  });

  it('never throws on values submission would reject', () => {
    const odd = upsert(1, { first_name: 'x'.repeat(5000), score: Number.NaN, dob: new Date('x') });
    expect(measureJson(odd, options)).toBeGreaterThan(5000);
    expect(measureCsv(odd)).toBeGreaterThan(0);
  });
});
