/**
 * The compact form of one contact's fields. A million contacts as plain objects cost several
 * hundred MB (an object plus a string per field); one flat JSON string per contact costs about
 * its text length. JSON also escapes every control character, so any value round-trips intact,
 * and JSON.parse yields fresh strings, so stored values never pin a request or CSV chunk.
 *
 * A record is a flat array `[key, value, key, value, ...]`: numeric keys index
 * `RECORD_FIELDS`, string keys are custom field ids (`e1_T`).
 */
export const RECORD_FIELDS = [
  'email',
  'phone_number_id',
  'external_id',
  'anonymous_id',
  'alternate_emails',
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
] as const;

export type RecordField = (typeof RECORD_FIELDS)[number];
export type RecordValue = string | number | readonly string[];
export type RecordEntries = (number | string | RecordValue)[];

export const FIELD_CODE: Readonly<Record<RecordField, number>> = Object.fromEntries(
  RECORD_FIELDS.map((name, code) => [name, code]),
) as Record<RecordField, number>;

/** The four identifiers a contact can be matched by, in matching priority. */
export const IDENTIFIERS = ['email', 'phone_number_id', 'external_id', 'anonymous_id'] as const;
export type Identifier = (typeof IDENTIFIERS)[number];

export const packRecord = (entries: RecordEntries): string => JSON.stringify(entries);

export const unpackRecord = (packed: string): RecordEntries => JSON.parse(packed) as RecordEntries;

export const recordGet = (entries: RecordEntries, key: number | string): RecordValue | undefined => {
  for (let i = 0; i < entries.length; i += 2) {
    if (entries[i] === key) return entries[i + 1] as RecordValue;
  }
  return undefined;
};

/** Overlays `update` on `base`: fields the update omits stay as they were (vendor upsert semantics). */
export const mergeRecords = (base: RecordEntries, update: RecordEntries): RecordEntries => {
  const out = base.slice();
  for (let i = 0; i < update.length; i += 2) {
    const key = update[i];
    let found = false;
    for (let j = 0; j < out.length; j += 2) {
      if (out[j] === key) {
        out[j + 1] = update[i + 1] as RecordValue;
        found = true;
        break;
      }
    }
    if (!found) out.push(key as number | string, update[i + 1] as RecordValue);
  }
  return out;
};

/** The record without `key` (the store keeps e-mails in their own column). */
export const recordWithout = (entries: RecordEntries, key: number | string): RecordEntries => {
  for (let i = 0; i < entries.length; i += 2) {
    if (entries[i] === key) return [...entries.slice(0, i), ...entries.slice(i + 2)];
  }
  return entries;
};
