import type { SendgridContext } from './context.ts';
import { FIELD_CODE, type RecordField, recordGet } from './record.ts';

/** ISO 8601 to the second, as the vendor's examples print timestamps (`2021-03-02T15:25:47Z`). */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const TEXT_FIELDS: readonly RecordField[] = [
  'address_line_1',
  'address_line_2',
  'city',
  'country',
  'first_name',
  'last_name',
  'postal_code',
  'state_province_region',
  'phone_number',
  'whatsapp',
  'line',
  'facebook',
  'unique_name',
];

/**
 * A stored contact as the read endpoints return it (`ContactDetails3`, shaped like the
 * search/emails example [S1]): unset reserved text fields read as "", the three newer
 * identifiers appear only when set, and `custom_fields` is keyed by field *name* (as in export
 * files; UNVERIFIED for the JSON endpoints).
 */
export const renderContact = (
  ctx: SendgridContext,
  slot: number,
  origin: string,
): Record<string, unknown> | undefined => {
  const contact = ctx.store.get(slot);
  if (contact === undefined) return undefined;
  const { entries } = contact;
  const view: Record<string, unknown> = { id: contact.id };
  if (contact.email !== undefined) view.email = contact.email;
  for (const identifier of ['phone_number_id', 'external_id', 'anonymous_id'] as const) {
    const value = recordGet(entries, FIELD_CODE[identifier]);
    if (typeof value === 'string') view[identifier] = value;
  }
  const alternates = recordGet(entries, FIELD_CODE.alternate_emails);
  view.alternate_emails = Array.isArray(alternates) ? alternates : [];
  for (const field of TEXT_FIELDS) {
    const value = recordGet(entries, FIELD_CODE[field]);
    view[field] = typeof value === 'string' ? value : '';
  }
  const customFields: Record<string, unknown> = {};
  for (let i = 0; i < entries.length; i += 2) {
    const key = entries[i];
    if (typeof key !== 'string') continue;
    // A value whose field was deleted since is not shown, as the vendor drops it with the field.
    const field = ctx.fields.byId(key);
    if (field !== undefined) customFields[field.name] = entries[i + 1];
  }
  view.list_ids = ctx.store.listIdsOf(slot).filter((id) => ctx.lists.get(id) !== undefined);
  view.segment_ids = [];
  view.custom_fields = customFields;
  view.created_at = isoSeconds(contact.createdAtMs);
  view.updated_at = isoSeconds(contact.updatedAtMs);
  view._metadata = { self: `${origin}/v3/marketing/contacts/${contact.id}` };
  return view;
};
