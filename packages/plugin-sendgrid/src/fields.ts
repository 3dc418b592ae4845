import type { FieldType } from './types.ts';

/*
 * SendGrid's field catalogue and the shapes of its values: reserved fields and their limits, which
 * kind a mapped name is, custom field targets, plausible e-mails, dates. mapping.ts encodes contacts
 * with them.
 */

/** Writable reserved fields and the spec's `maxLength` (code points), from `ContactRequest` [S1]. */
export interface ReservedSpec {
  readonly maxLength?: number;
  /** `list`: alternate_emails (0–5 addresses); `identifier`: cannot be cleared by an upsert. */
  readonly kind: 'text' | 'list' | 'identifier';
}

export const RESERVED_FIELDS: Readonly<Record<string, ReservedSpec>> = {
  first_name: { kind: 'text', maxLength: 50 },
  last_name: { kind: 'text', maxLength: 50 },
  address_line_1: { kind: 'text', maxLength: 100 },
  address_line_2: { kind: 'text', maxLength: 100 },
  city: { kind: 'text', maxLength: 60 },
  state_province_region: { kind: 'text', maxLength: 50 },
  postal_code: { kind: 'text' },
  country: { kind: 'text', maxLength: 50 },
  alternate_emails: { kind: 'list' },
  phone_number_id: { kind: 'identifier' },
  external_id: { kind: 'identifier', maxLength: 254 },
  anonymous_id: { kind: 'identifier', maxLength: 254 },
  // In field definitions and older docs of the upsert; not in the current ContactRequest schema
  // (UNVERIFIED for JSON, mapped by reserved field id for CSV).
  phone_number: { kind: 'text' },
  whatsapp: { kind: 'text' },
  line: { kind: 'text' },
  facebook: { kind: 'text' },
  unique_name: { kind: 'text' },
};

/** Reserved fields SendGrid maintains itself; mapping to them is a configuration error. */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'email_domains',
  'last_clicked',
  'last_opened',
  'last_emailed',
  'singlesend_id',
  'automation_id',
  'created_at',
  'updated_at',
  'contact_id',
]);

export const EMAIL_MAX_LENGTH = 254;
/** `search/emails` takes addresses of at most 100 characters [S1]. */
export const SEARCH_EMAIL_MAX_LENGTH = 100;
export const MAX_ALTERNATE_EMAILS = 5;

export type FieldKind = 'email' | 'reserved' | 'custom' | 'read_only';

/** Which kind of field a mapped name is; reserved names are matched case-insensitively. */
export const fieldKind = (name: string): FieldKind => {
  const lower = name.toLowerCase();
  if (lower === 'email') return 'email';
  if (Object.hasOwn(RESERVED_FIELDS, lower)) return 'reserved';
  if (READ_ONLY_FIELDS.has(lower)) return 'read_only';
  return 'custom';
};

/** How one mapped field is written: the JSON key (reserved name or custom field id) and its type. */
export interface FieldTarget {
  readonly key: string;
  readonly custom: boolean;
  /** Custom fields' declared type; `undefined` while measuring (types are not known then). */
  readonly type?: FieldType;
  readonly reserved?: ReservedSpec;
}

/** Resolves a mapped custom field name to its definition; `undefined` when the account has none. */
export type CustomFieldLookup = (
  name: string,
) => { readonly id: string; readonly type: FieldType } | undefined;

export const targetFor = (name: string, lookup: CustomFieldLookup | undefined): FieldTarget | undefined => {
  const lower = name.toLowerCase();
  const reserved = RESERVED_FIELDS[lower];
  if (reserved !== undefined) return { key: lower, custom: false, reserved };
  if (lookup === undefined) return { key: name, custom: true };
  const found = lookup(name);
  return found === undefined ? undefined : { key: found.id, custom: true, type: found.type };
};

export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

// A string can only exceed a limit in code points if it does in UTF-16 units: counting is the slow path.
export const longerThan = (text: string, limit: number): boolean =>
  text.length > limit && codePoints(text) > limit;

// A deliberately lenient syntax check: it only refuses what no mail system accepts, so that those
// profiles are rejected at submission (an invalid address may fail a whole upsert synchronously —
// UNVERIFIED) while SendGrid stays the judge of everything subtler, reported at completion.
export const EMAIL_SHAPE = /^[^\s@"(),:;<>[\\\]]+@[^\s@"(),:;<>[\\\]]+\.[^\s@"(),:;<>[\\\].]{2,}$/u;

export const isPlausibleEmail = (address: string): boolean =>
  !longerThan(address, EMAIL_MAX_LENGTH) &&
  EMAIL_SHAPE.test(address) &&
  !address.startsWith('.') &&
  !address.includes('@.') &&
  !address.includes('.@');

export const E164 = /^\+[1-9]\d{6,14}$/;
export const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
export const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
export const US_DATE = /^\d{1,2}\/\d{1,2}\/\d{4}$/;
export const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** Dates go out as ISO 8601: `YYYY-MM-DD` at UTC midnight, else to the second (`...T12:30:00Z`). */
export const formatDate = (date: Date): string => {
  const iso = date.toISOString();
  // Years beyond 9999 print as `+010000-...`; the common form is cut by position (hot path).
  if (iso.length !== 24) return iso.replace(/\.\d{3}Z$/, 'Z');
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`;
};

/** Date text SendGrid takes for Date fields: `YYYY-MM-DD`, `MM/DD/YYYY` or ISO 8601 date-time. */
export const isDateText = (text: string): boolean =>
  (DATE_ONLY.test(text) || US_DATE.test(text) || DATE_TIME.test(text)) &&
  !Number.isNaN(Date.parse(US_DATE.test(text) ? text : text.length === 10 ? `${text}T00:00:00Z` : text));
