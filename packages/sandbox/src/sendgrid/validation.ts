import type { FieldRegistry } from './field-definitions.ts';
import { FIELD_CODE, IDENTIFIERS, type RecordEntries, type RecordField } from './record.ts';

/** `maxLength` of each `ContactRequest` property in the spec [S1]; postal_code has none. */
export const FIELD_MAX_LENGTH: Readonly<Partial<Record<RecordField, number>>> = {
  email: 254,
  external_id: 254,
  anonymous_id: 254,
  first_name: 50,
  last_name: 50,
  address_line_1: 100,
  address_line_2: 100,
  city: 60,
  state_province_region: 50,
  country: 50,
};

/** `alternate_emails`: 0–5 items of ≤ 254 characters [S1]. */
export const MAX_ALTERNATE_EMAILS = 5;

const PLAIN_TEXT_FIELDS: readonly RecordField[] = [
  'first_name',
  'last_name',
  'address_line_1',
  'address_line_2',
  'city',
  'state_province_region',
  'postal_code',
  'country',
  'phone_number',
  'whatsapp',
  'line',
  'facebook',
  'unique_name',
];

/** Length in characters (code points), so an emoji counts once, not as two UTF-16 units. */
const lengthOf = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};
const longerThan = (text: string, limit: number): boolean => text.length > limit && lengthOf(text) > limit;

// atext of RFC 5322 plus any letter, mark or digit (RFC 6531 allows UTF-8 local parts and IDNs).
const ATOM = "[\\p{L}\\p{M}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`, 'u');
const DOMAIN_LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;
const TOP_LEVEL = /^(?:[\p{L}\p{M}]{2,63}|xn--[a-z0-9-]{1,59})$/iu;

/**
 * Address syntax, as strict as a mail system that must deliver to it: one `@`, a dot-atom local
 * part of ≤ 64 characters (no quoted forms, no spaces, no leading/trailing/double dots), a domain
 * of ≥ 2 labels with an alphabetic (or punycode) top level, ≤ 254 characters in all.
 */
export const isValidEmail = (address: string): boolean => {
  if (longerThan(address, 254)) return false;
  const at = address.indexOf('@');
  if (at <= 0 || at !== address.lastIndexOf('@')) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (longerThan(local, 64) || !LOCAL_PART.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) if (!DOMAIN_LABEL.test(label)) return false;
  return TOP_LEVEL.test(labels[labels.length - 1] ?? '');
};

/** E.164: `+`, then 7–15 digits, no leading zero (the spec only says "a valid phone number"). */
export const isValidPhoneNumberId = (value: string): boolean => /^\+[1-9]\d{6,14}$/.test(value);

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** A Date custom field value as ISO seconds, or undefined when it is no date the vendor takes. */
export const normalizeDate = (value: string): string | undefined => {
  let ms: number;
  const ymd = DATE_ONLY.exec(value);
  const us = US_DATE.exec(value);
  if (ymd !== null) ms = Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3]));
  else if (us !== null) ms = Date.UTC(Number(us[3]), Number(us[1]) - 1, Number(us[2]));
  else if (DATE_TIME.test(value)) ms = Date.parse(value);
  else return undefined;
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  // Reject roll-overs such as 2024-02-31, which Date.UTC silently turns into March.
  if (ymd !== null && iso.slice(0, 10) !== value) return undefined;
  if (us !== null && iso.slice(0, 10) !== `${us[3]}-${us[1]?.padStart(2, '0')}-${us[2]?.padStart(2, '0')}`)
    return undefined;
  return iso.replace(/\.\d{3}Z$/, 'Z');
};

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Identifier values as the client sent them, for the row of the errors file. */
export type RowIdentifiers = readonly [
  email: string,
  phoneNumberId: string,
  externalId: string,
  anonymousId: string,
];

export type ContactVerdict =
  | { readonly ok: true; readonly entries: RecordEntries; readonly identifierMask: number }
  | {
      readonly ok: false;
      readonly identifiers: RowIdentifiers;
      readonly message: string;
      readonly identifierMask: number;
    };

/**
 * Validates one contact of an upsert (or one mapped CSV row) and builds its record. Problems of
 * one contact reject only that contact (they reach the errors file); all its problems are joined
 * in one message. Unknown custom field ids are checked by the caller, since they fail the whole
 * request. `null` means "not sent", as for an omitted field.
 */
export const validateContact = (
  input: Readonly<Record<string, unknown>>,
  fields: FieldRegistry,
): ContactVerdict => {
  const problems: string[] = [];
  const entries: RecordEntries = [];
  let identifierMask = 0;
  let identifiers = 0;

  for (const [bit, name] of IDENTIFIERS.entries()) {
    const value = input[name];
    if (value === undefined || value === null || value === '') continue;
    identifierMask |= 1 << bit;
    if (typeof value !== 'string') {
      problems.push(`${name} must be a string`);
      continue;
    }
    if (name === 'email') {
      if (!isValidEmail(value)) {
        problems.push(
          longerThan(value, 254) ? 'email exceeds the maximum length of 254 characters' : 'invalid email',
        );
        continue;
      }
      // The vendor stores e-mails lower-cased and matches case-insensitively [S1].
      entries.push(FIELD_CODE.email, value.toLowerCase());
    } else if (name === 'phone_number_id') {
      if (!isValidPhoneNumberId(value)) {
        problems.push('invalid phone_number_id (expected an E.164 phone number such as +14155550123)');
        continue;
      }
      entries.push(FIELD_CODE.phone_number_id, value);
    } else {
      const max = FIELD_MAX_LENGTH[name] ?? Number.POSITIVE_INFINITY;
      if (longerThan(value, max)) {
        problems.push(`${name} exceeds the maximum length of ${max} characters`);
        continue;
      }
      entries.push(FIELD_CODE[name], value);
    }
    identifiers += 1;
  }
  if (identifierMask === 0)
    problems.push('contact must have at least one of email, phone_number_id, external_id, anonymous_id');

  const alternates = input.alternate_emails;
  if (alternates !== undefined && alternates !== null) {
    if (!Array.isArray(alternates) || alternates.some((item) => typeof item !== 'string')) {
      problems.push('alternate_emails must be an array of strings');
    } else if (alternates.length > MAX_ALTERNATE_EMAILS) {
      problems.push(`alternate_emails may hold at most ${MAX_ALTERNATE_EMAILS} addresses`);
    } else {
      const bad = (alternates as string[]).filter((item) => !isValidEmail(item));
      if (bad.length > 0) problems.push(`invalid alternate_emails: ${bad.join(', ')}`);
      else
        entries.push(
          FIELD_CODE.alternate_emails,
          (alternates as string[]).map((item) => item.toLowerCase()),
        );
    }
  }

  for (const name of PLAIN_TEXT_FIELDS) {
    const value = input[name];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      problems.push(`${name} must be a string`);
      continue;
    }
    const max = FIELD_MAX_LENGTH[name];
    if (max !== undefined && longerThan(value, max)) {
      problems.push(`${name} exceeds the maximum length of ${max} characters`);
      continue;
    }
    entries.push(FIELD_CODE[name], value);
  }

  const custom = input.custom_fields;
  if (custom !== undefined && custom !== null && typeof custom === 'object' && !Array.isArray(custom)) {
    for (const [id, value] of Object.entries(custom as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      const field = fields.byId(id);
      if (field === undefined) {
        problems.push(`unknown custom field id ${id}`);
        continue;
      }
      if (field.field_type === 'Number') {
        const number =
          typeof value === 'number'
            ? value
            : typeof value === 'string' && NUMBER_TEXT.test(value)
              ? Number(value)
              : Number.NaN;
        if (!Number.isFinite(number)) problems.push(`custom field ${field.name} (${id}) must be a number`);
        else entries.push(id, number);
      } else if (field.field_type === 'Date') {
        const date = typeof value === 'string' ? normalizeDate(value) : undefined;
        if (date === undefined)
          problems.push(
            `custom field ${field.name} (${id}) must be a date (YYYY-MM-DD, MM/DD/YYYY or ISO 8601)`,
          );
        else entries.push(id, date);
      } else if (typeof value === 'string' || typeof value === 'number') {
        entries.push(id, String(value));
      } else {
        problems.push(`custom field ${field.name} (${id}) must be text`);
      }
    }
  }

  if (problems.length === 0 && identifiers > 0) return { ok: true, entries, identifierMask };
  const raw = (name: string): string => {
    const value = input[name];
    return typeof value === 'string' ? value : '';
  };
  return {
    ok: false,
    identifiers: [raw('email'), raw('phone_number_id'), raw('external_id'), raw('anonymous_id')],
    message: problems.join('; '),
    identifierMask,
  };
};
