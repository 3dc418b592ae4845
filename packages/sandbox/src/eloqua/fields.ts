/**
 * Contact field definitions served by `GET /api/bulk/2.0/contacts/fields` and used to resolve
 * import-definition statements. Ids and internal names follow a stock Eloqua instance; the
 * `C_..._1`-style entries are custom fields of the kinds a real instance tends to have.
 */

/** Bulk API `DataType` enum (OpenAPI `components.schemas.DataType`). */
export type BulkDataType = 'number' | 'string' | 'boolean' | 'date' | 'emailAddress';

export interface ContactFieldSpec {
  /** Numeric id, the last segment of `uri` (`/contacts/fields/100001`). */
  readonly id: number;
  /** Display name. */
  readonly name: string;
  /** `C_EmailAddress`; referenced as `{{Contact.Field(C_EmailAddress)}}`. */
  readonly internalName: string;
  readonly dataType: BulkDataType;
  readonly hasReadOnlyConstraint?: boolean;
  readonly hasNotNullConstraint?: boolean;
  readonly hasUniquenessConstraint?: boolean;
  readonly defaultValue?: string;
  /**
   * Longest accepted value. The Bulk API does not expose it (vendor-apis.md A.3.1): contact
   * small text is 100 characters, large text 32,000. Defaults: 100 for `string`, 254 for
   * `emailAddress` (the practical SMTP limit; Eloqua's own number is not documented).
   */
  readonly maxLength?: number;
}

export const SMALL_TEXT_MAX = 100;
export const LARGE_TEXT_MAX = 32_000;
export const EMAIL_MAX = 254;

/** Stock system fields carry this date in Oracle's example (A.3.1). */
const SYSTEM_FIELD_DATE = '1900-01-01T05:00:00.0000000Z';

const text = (id: number, internalName: string, name: string, extra: Partial<ContactFieldSpec> = {}) =>
  ({ id, internalName, name, dataType: 'string', ...extra }) as const satisfies ContactFieldSpec;

/** A realistic default field set; replace or extend it with the `fields` option. */
export const DEFAULT_CONTACT_FIELDS: readonly ContactFieldSpec[] = [
  {
    id: 100001,
    internalName: 'C_EmailAddress',
    name: 'Email Address',
    dataType: 'emailAddress',
    hasUniquenessConstraint: true,
  },
  text(100002, 'C_FirstName', 'First Name'),
  text(100003, 'C_LastName', 'Last Name'),
  text(100004, 'C_Company', 'Company'),
  text(100005, 'C_EmailDisplayName', 'Email Display Name'),
  text(100006, 'C_Address1', 'Address 1'),
  text(100007, 'C_Address2', 'Address 2'),
  text(100008, 'C_Address3', 'Address 3'),
  text(100009, 'C_City', 'City'),
  text(100010, 'C_State_Prov', 'State or Province'),
  text(100011, 'C_Zip_Postal', 'Zip or Postal Code'),
  text(100012, 'C_Country', 'Country'),
  text(100013, 'C_BusPhone', 'Business Phone'),
  text(100014, 'C_MobilePhone', 'Mobile Phone'),
  text(100015, 'C_Fax', 'Fax'),
  text(100017, 'C_Title', 'Title'),
  text(100018, 'C_Salutation', 'Salutation'),
  text(100019, 'C_Salesperson', 'Salesperson'),
  text(100020, 'C_SFDCContactID', 'SFDC Contact ID'),
  text(100021, 'C_SFDCLeadID', 'SFDC Lead ID'),
  {
    id: 100026,
    internalName: 'C_DateCreated',
    name: 'Date Created',
    dataType: 'date',
    hasReadOnlyConstraint: true,
  },
  {
    id: 100027,
    internalName: 'C_DateModified',
    name: 'Date Modified',
    dataType: 'date',
    hasReadOnlyConstraint: true,
  },
  text(100046, 'C_Industry1', 'Industry'),
  text(100047, 'C_Lead_Source___Most_Recent1', 'Lead Source - Most Recent'),
  { id: 100200, internalName: 'C_Number_of_Employees1', name: 'Number of Employees', dataType: 'number' },
  { id: 100201, internalName: 'C_Last_Purchase_Date1', name: 'Last Purchase Date', dataType: 'date' },
  { id: 100202, internalName: 'C_Is_Customer1', name: 'Is Customer', dataType: 'boolean' },
  text(100203, 'C_Notes1', 'Notes', { maxLength: LARGE_TEXT_MAX }),
];

/** Fields whose values the store derives itself instead of accepting from imports. */
export const SYSTEM_DATE_FIELDS = { created: 'C_DateCreated', modified: 'C_DateModified' } as const;

export const CONTACT_ID_STATEMENT = '{{Contact.Id}}';
export const fieldStatement = (internalName: string): string => `{{Contact.Field(${internalName})}}`;

export const maxLengthOf = (field: ContactFieldSpec): number | undefined =>
  field.maxLength ??
  (field.dataType === 'string' ? SMALL_TEXT_MAX : field.dataType === 'emailAddress' ? EMAIL_MAX : undefined);

/** Where one import column goes: the contact id (match only) or a field slot in the store. */
export type StatementTarget =
  | { readonly kind: 'id' }
  | { readonly kind: 'field'; readonly field: ContactFieldSpec; readonly slot: number };

export interface FieldRegistry {
  readonly fields: readonly ContactFieldSpec[];
  /** Position of each field in a stored contact record. */
  readonly slotOf: ReadonlyMap<string, number>;
  readonly byId: ReadonlyMap<number, ContactFieldSpec>;
  /** Resolves `{{Contact.Field(X)}}` / `{{Contact.Id}}`; undefined when unknown or malformed. */
  readonly resolve: (statement: string) => StatementTarget | undefined;
  /** Slot of the e-mail field every contact needs (the first `emailAddress` field). */
  readonly emailSlot: number;
  readonly emailField: ContactFieldSpec;
}

const FIELD_STATEMENT = /^\{\{Contact\.Field\(([A-Za-z0-9_]+)\)\}\}$/;

export const createFieldRegistry = (fields: readonly ContactFieldSpec[]): FieldRegistry => {
  const slotOf = new Map<string, number>();
  const byId = new Map<number, ContactFieldSpec>();
  const byName = new Map<string, { field: ContactFieldSpec; slot: number }>();
  fields.forEach((field, slot) => {
    if (slotOf.has(field.internalName)) throw new Error(`eloqua: duplicate field ${field.internalName}`);
    slotOf.set(field.internalName, slot);
    byId.set(field.id, field);
    // Eloqua treats internal names case-insensitively in statements (UNVERIFIED; it is lenient elsewhere).
    byName.set(field.internalName.toLowerCase(), { field, slot });
  });
  const emailField = fields.find((f) => f.dataType === 'emailAddress');
  if (emailField === undefined) throw new Error('eloqua: the field set needs an emailAddress field');
  return {
    fields,
    slotOf,
    byId,
    emailField,
    emailSlot: slotOf.get(emailField.internalName) ?? 0,
    resolve: (statement) => {
      const trimmed = statement.trim();
      if (trimmed === CONTACT_ID_STATEMENT) return { kind: 'id' };
      const match = FIELD_STATEMENT.exec(trimmed);
      const hit = match?.[1] === undefined ? undefined : byName.get(match[1].toLowerCase());
      return hit === undefined ? undefined : { kind: 'field', field: hit.field, slot: hit.slot };
    },
  };
};

/** The `ContactField` item as the Bulk API returns it (A.3.1). */
export const contactFieldJson = (field: ContactFieldSpec): Record<string, unknown> => ({
  name: field.name,
  internalName: field.internalName,
  dataType: field.dataType,
  ...(field.defaultValue === undefined ? {} : { defaultValue: field.defaultValue }),
  hasReadOnlyConstraint: field.hasReadOnlyConstraint ?? false,
  hasNotNullConstraint: field.hasNotNullConstraint ?? false,
  hasUniquenessConstraint: field.hasUniquenessConstraint ?? false,
  statement: fieldStatement(field.internalName),
  uri: `/contacts/fields/${field.id}`,
  createdAt: SYSTEM_FIELD_DATE,
  updatedAt: SYSTEM_FIELD_DATE,
});
