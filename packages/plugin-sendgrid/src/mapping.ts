import {
  createCsvRowEncoder,
  type FieldValue,
  type ProfileChange,
  type RejectedOutcome,
  type UpsertChange,
} from '@ferry/core';
import {
  type CustomFieldLookup,
  codePoints,
  E164,
  EMAIL_MAX_LENGTH,
  type FieldTarget,
  fieldKind,
  formatDate,
  isDateText,
  isPlausibleEmail,
  longerThan,
  MAX_ALTERNATE_EMAILS,
  NUMBER_TEXT,
  type ReservedSpec,
  targetFor,
} from './fields.ts';
import type { SendgridOptions } from './options.ts';

/**
 * From ProfileChange to SendGrid's contact shapes, validation before sending, and sizing.
 *
 * Field names in `change.fields` are the destination's: reserved field names (`first_name`, `city`,
 * ...) or the *names* of custom fields, which are resolved to field ids through the account's field
 * definitions at submission (custom_fields is keyed by id on the wire). `identity` is the e-mail.
 */

/** A wire value, `OMIT` (nothing to send), or a problem. */
const OMIT = Symbol('omit');
type Encoded =
  | string
  | number
  | readonly string[]
  | typeof OMIT
  | { readonly problem: string; readonly code: string };

const problem = (code: string, message: string) => ({ code, problem: message });

/**
 * How values are encoded: as sent (validated), as measured (before custom field types are known;
 * never failing), or only validated, for a first reading of a batch that keeps nothing of them.
 */
type Encoding = 'send' | 'measure' | 'check';

/** What `check` gives for a valid value it did not format (formatting dates is the costly part). */
const CHECKED = '';

/**
 * One value as SendGrid takes it. `null` clears a text field (`""`); typed custom fields and
 * identifiers cannot be cleared through an upsert, so they are left out (documented).
 */
const encodeValue = (name: string, value: FieldValue, target: FieldTarget, encoding: Encoding): Encoded => {
  const reserved = target.reserved;
  const type = target.type;
  // Measuring sizes a profile as it would be sent, whatever submission will say about it.
  if (encoding === 'measure') return measuringValue(value, reserved);
  if (value === null) {
    if (reserved?.kind === 'identifier' || type === 'Number' || type === 'Date') return OMIT;
    return reserved?.kind === 'list' ? [] : '';
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return problem('invalid_value', `${name} is an invalid date`);
    if (type === 'Number') return problem('invalid_value', `${name} is a Number field; got a date`);
    return encoding === 'check' ? CHECKED : formatDate(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return problem('invalid_value', `${name} is not a finite number`);
    if (type === 'Date') return problem('invalid_value', `${name} is a Date field; got the number ${value}`);
    if (encoding === 'check') return CHECKED;
    return type === 'Number' ? value : String(value);
  }
  if (typeof value === 'boolean') {
    if (type === 'Number' || type === 'Date') {
      return problem('invalid_value', `${name} is a ${type} field; got a boolean`);
    }
    return String(value);
  }
  if (type === 'Number') {
    const text = value.trim();
    if (!NUMBER_TEXT.test(text) || !Number.isFinite(Number(text))) {
      return problem('invalid_value', `${name} is a Number field; "${value.slice(0, 40)}" is not a number`);
    }
    return Number(text);
  }
  if (type === 'Date') {
    if (!isDateText(value.trim())) {
      return problem(
        'invalid_value',
        `${name} is a Date field; "${value.slice(0, 40)}" is not YYYY-MM-DD, MM/DD/YYYY or ISO 8601`,
      );
    }
    return value.trim();
  }
  if (reserved?.kind === 'list') {
    const addresses = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (addresses.length > MAX_ALTERNATE_EMAILS) {
      return problem(
        'invalid_value',
        `${name} holds ${addresses.length} addresses; at most ${MAX_ALTERNATE_EMAILS}`,
      );
    }
    const bad = addresses.find((item) => !isPlausibleEmail(item));
    if (bad !== undefined)
      return problem('invalid_email', `${name}: "${bad.slice(0, 60)}" is not an e-mail address`);
    return addresses;
  }
  if (target.key === 'phone_number_id' && !E164.test(value)) {
    return problem('invalid_value', `${name} must be an E.164 phone number such as +14155550123`);
  }
  const max = reserved?.maxLength;
  if (max !== undefined && longerThan(value, max)) {
    return problem('oversized', `${name} is ${codePoints(value)} characters long; SendGrid allows ${max}`);
  }
  return value;
};

/** The measuring form of a value: natural JSON, numbers of custom fields quoted (an upper bound). */
const measuringValue = (value: FieldValue, reserved: ReservedSpec | undefined): Encoded => {
  if (value === null) return reserved?.kind === 'list' ? [] : '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : formatDate(value);
  if (typeof value === 'string' && reserved?.kind === 'list') {
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }
  // A Text field sends `"42"` and a Number field `42`: the quoted form is the upper bound.
  return String(value);
};

/** A contact as `PUT /v3/marketing/contacts` takes it, built in the change's field order. */
export type WireContact = Record<string, unknown> & {
  email: string;
  custom_fields?: Record<string, unknown>;
};

export type ContactResult =
  | {
      readonly ok: true;
      readonly contact: WireContact;
      /** Whether it clears a field (`""` or `[]` sent): a CSV import cannot, see `clearsValue`. */
      readonly clears: boolean;
    }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly field?: string };

type ContactProblem = Extract<ContactResult, { ok: false }>;

/**
 * Encodes an upsert's fields in order, handing each value to send to `put` (a value set twice, by
 * names differing in case, keeps its first place and its last value); returns the first problem.
 */
const encodeFields = (
  change: UpsertChange,
  lookup: CustomFieldLookup | undefined,
  encoding: Encoding,
  put: (target: FieldTarget, encoded: string | number | readonly string[], clears: boolean) => void,
): ContactProblem | undefined => {
  const strict = encoding !== 'measure';
  for (const [name, value] of Object.entries(change.fields)) {
    const kind = fieldKind(name);
    if (kind === 'email') {
      // The identity is the address sent; a mapped `email` field must agree with it.
      if (
        strict &&
        typeof value === 'string' &&
        value.trim().toLowerCase() !== change.identity.trim().toLowerCase()
      ) {
        return {
          ok: false,
          code: 'invalid_value',
          field: name,
          message: `${name} differs from the profile's identity`,
        };
      }
      continue;
    }
    if (kind === 'read_only' && strict) {
      return {
        ok: false,
        code: 'read_only_field',
        field: name,
        message: `${name} is maintained by SendGrid`,
      };
    }
    const target = targetFor(name, lookup);
    if (target === undefined) {
      return { ok: false, code: 'unknown_field', field: name, message: `no custom field named ${name}` };
    }
    const encoded = encodeValue(name, value, target, encoding);
    if (encoded === OMIT) continue;
    if (typeof encoded === 'object' && 'problem' in encoded) {
      return { ok: false, code: encoded.code, field: name, message: encoded.problem };
    }
    put(target, encoded, clearsValue(value, encoded));
  }
  return undefined;
};

/**
 * Whether a value sent clears its field: empty text or an empty list, from `null` or empty text
 * (`check` encodes valid numbers and dates as `''` too, hence the value's type). In JSON that clears
 * the field; in a CSV import it is an empty cell, which leaves the field as it is (SendGrid documents
 * nothing else, and the sandbox models it so), so contacts that clear go as JSON (submit.ts).
 */
const clearsValue = (value: FieldValue, encoded: string | number | readonly string[]): boolean =>
  (value === null || typeof value === 'string') &&
  (encoded === '' || (Array.isArray(encoded) && encoded.length === 0));

/**
 * Builds (and, with a lookup, validates) the wire contact of an upsert. Without `lookup` it is the
 * measuring form: custom fields keyed by name, nothing validated, never failing.
 */
export const toContact = (change: UpsertChange, lookup?: CustomFieldLookup): ContactResult => {
  const contact: WireContact = { email: change.identity };
  let custom: Record<string, unknown> | undefined;
  let clears = false;
  const problem = encodeFields(
    change,
    lookup,
    lookup === undefined ? 'measure' : 'send',
    (target, encoded, clearing) => {
      if (clearing) clears = true;
      if (target.custom) {
        custom ??= {};
        custom[target.key] = encoded;
      } else {
        contact[target.key] = encoded;
      }
    },
  );
  if (problem !== undefined) return problem;
  if (custom !== undefined) contact.custom_fields = custom;
  return { ok: true, contact, clears };
};

/**
 * Validates an upsert exactly as `toContact(change, lookup)` does, without building it: the problem,
 * or the columns its contact fills (`contactColumns` of it). For reading a batch that is encoded in
 * a second reading, so that each change is only built once.
 */
export const checkContact = (
  change: UpsertChange,
  lookup: CustomFieldLookup,
): ContactProblem | { readonly ok: true; readonly columns: string[]; readonly clears: boolean } => {
  const direct = ['email'];
  const custom: string[] = [];
  let clears = false;
  const problem = encodeFields(change, lookup, 'check', (target, _encoded, clearing) => {
    if (clearing) clears = true;
    const columns = target.custom ? custom : direct;
    if (!columns.includes(target.key)) columns.push(target.key);
  });
  if (problem !== undefined) return problem;
  return { ok: true, columns: custom.length === 0 ? direct : [...direct, ...custom], clears };
};

/** Checks what SendGrid needs of every upsert before anything else: a plausible e-mail. */
export const checkIdentity = (
  change: ProfileChange,
): Omit<RejectedOutcome, 'profileId' | 'status'> | undefined => {
  const email = change.identity;
  if (email.trim() === '')
    return { code: 'missing_identity', message: 'the profile has no e-mail address', field: 'email' };
  if (longerThan(email, EMAIL_MAX_LENGTH)) {
    return {
      code: 'oversized',
      field: 'email',
      message: `email is ${codePoints(email)} characters long; SendGrid allows ${EMAIL_MAX_LENGTH}`,
    };
  }
  if (!isPlausibleEmail(email)) {
    return {
      code: 'invalid_email',
      field: 'email',
      message: `"${email.slice(0, 100)}" is not an e-mail address`,
    };
  }
  return undefined;
};

/** E-mails are compared as SendGrid stores them: trimmed and lower-cased. */
export const emailKey = (email: string): string => email.trim().toLowerCase();

/** The list ids a profile adds, beyond the ones every contact gets; sorted and unique. */
export const ownListIds = (change: UpsertChange, options: SendgridOptions): string[] => {
  const added = change.lists?.add ?? [];
  if (added.length === 0) return [];
  const everyone = new Set(options.listIds);
  return [...new Set(added.filter((id) => !everyone.has(id)))].sort();
};

// --- JSON sizing -----------------------------------------------------------------------------------

/** `{"list_ids":[...],"contacts":[` + `]}`: what one upsert body costs besides its contacts. */
export const jsonEnvelope = (
  listIds: readonly string[],
): { readonly head: string; readonly tail: string } => ({
  head: `{"list_ids":${JSON.stringify(listIds)},"contacts":[`,
  tail: ']}',
});

export const jsonOverheadBytes = (options: SendgridOptions): number => {
  const { head, tail } = jsonEnvelope(options.listIds);
  return Buffer.byteLength(head + tail, 'utf8');
};

/**
 * Bytes one change adds to an upsert body: its contact's JSON plus the `,` separating it from the
 * next, plus its own list ids (`"<uuid>",` each, since a request's list_ids are the union of its
 * contacts'). Exact for reserved fields; custom fields are counted under their *name* — the id that
 * goes out instead is usually shorter, and submission re-measures exactly and splits if needed.
 */
export const measureJson = (change: ProfileChange, options: SendgridOptions): number => {
  if (change.kind === 'delete') return Buffer.byteLength(change.identity, 'utf8') + 1;
  const built = toContact(change);
  const contact = built.ok ? built.contact : { email: change.identity };
  let bytes = Buffer.byteLength(JSON.stringify(contact), 'utf8') + 1;
  for (const id of ownListIds(change, options)) bytes += Buffer.byteLength(id, 'utf8') + 3;
  return bytes;
};

// --- CSV sizing and rows ------------------------------------------------------------------------------

/** The CSV dialect of uploads: RFC 4180 quoting, `\n` line ends (SendGrid takes both). */
export const csvFormat = { lineBreak: '\n' } as const;
const encodeRow = createCsvRowEncoder(csvFormat);

/**
 * A wire value as one CSV cell: lists comma-joined, numbers as text. An empty cell leaves the field
 * as it is, so a contact that clears a field never goes in a CSV import (`ContactResult.clears`).
 */
export const csvCell = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
};

/**
 * Values of one contact in `columns` order (`email` first; then field keys, custom ids as in
 * `custom_fields`). Cells the contact does not set are empty.
 */
export const csvValues = (contact: WireContact, columns: readonly string[]): string[] =>
  columns.map((column) => {
    if (column === 'email') return contact.email;
    const direct = contact[column];
    if (direct !== undefined) return csvCell(direct);
    return csvCell(contact.custom_fields?.[column]);
  });

/**
 * Bytes one change adds to a CSV import: its row, line break included, encoded by the same encoder
 * the upload uses. Exact when the batch's profiles map the same fields (as the runner's mapping
 * does); a profile lacking a column another one has costs one more `,` per missing column.
 */
export const measureCsv = (change: ProfileChange): number => {
  if (change.kind === 'delete') return Buffer.byteLength(change.identity, 'utf8') + 1;
  const built = toContact(change);
  if (!built.ok) return Buffer.byteLength(encodeRow([change.identity]), 'utf8');
  return Buffer.byteLength(encodeRow(cellValues(built.contact)), 'utf8');
};

// A row's size does not depend on its column order, so no sorting here (hot path).
const cellValues = (contact: WireContact): string[] => {
  const values: string[] = [];
  for (const key in contact) if (key !== 'custom_fields') values.push(csvCell(contact[key]));
  for (const key in contact.custom_fields) values.push(csvCell(contact.custom_fields[key]));
  return values;
};

/** The columns a contact fills in a CSV import: its keys, custom fields by id as in `custom_fields`. */
export const contactColumns = (contact: WireContact): string[] => {
  const columns: string[] = [];
  for (const key in contact) if (key !== 'custom_fields') columns.push(key);
  for (const key in contact.custom_fields) columns.push(key);
  return columns;
};

/**
 * Bytes of a contact's cells as the upload encodes them, without delimiters and line break. In a
 * file of `n` columns its row is this plus `n` (n − 1 delimiters, one line break; cells it does not
 * fill are empty), which sizes an uncompressed upload without encoding it first. The e-mail cell is
 * never empty (the address was checked), so the encoder's `""` for a lone empty cell cannot occur.
 */
export const csvCellBytes = (contact: WireContact): number => {
  const values = cellValues(contact);
  return Buffer.byteLength(encodeRow(values), 'utf8') - values.length;
};

/**
 * Room for the CSV header row, which names the batch's columns and so is not known when limits are
 * computed. The CSV byte limit is the plugin's own (far below the vendor's 5 GB), so a longer header
 * only costs a little of that margin.
 */
export const CSV_HEADER_BUDGET = 4096;
