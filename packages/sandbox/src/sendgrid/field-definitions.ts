import type { FastifyInstance } from 'fastify';
import type { SendgridContext } from './context.ts';
import { sendError } from './errors.ts';
import type { RecordField } from './record.ts';

export type FieldType = 'Text' | 'Number' | 'Date';

export interface CustomField {
  readonly id: string;
  readonly name: string;
  readonly field_type: FieldType;
}

/** A custom field defined when the server starts; without `id` one is generated (`e1_T`...). */
export interface CustomFieldSeed {
  readonly id?: string;
  readonly name: string;
  readonly field_type: FieldType;
}

interface ReservedField {
  readonly id: string;
  readonly name: string;
  readonly field_type: FieldType;
  readonly read_only?: true;
  /** Where a CSV column mapped to this field lands in the contact record. */
  readonly record?: RecordField;
}

/**
 * The reserved fields exactly as the spec's example lists them [S2], then the three newer
 * identifier fields, whose ids are not published anywhere (UNVERIFIED, sandbox choice).
 */
export const RESERVED_FIELDS: readonly ReservedField[] = [
  { id: '_rf0_T', name: 'first_name', field_type: 'Text', record: 'first_name' },
  { id: '_rf1_T', name: 'last_name', field_type: 'Text', record: 'last_name' },
  { id: '_rf2_T', name: 'email', field_type: 'Text', record: 'email' },
  { id: '_rf3_T', name: 'alternate_emails', field_type: 'Text', record: 'alternate_emails' },
  { id: '_rf4_T', name: 'address_line_1', field_type: 'Text', record: 'address_line_1' },
  { id: '_rf5_T', name: 'address_line_2', field_type: 'Text', record: 'address_line_2' },
  { id: '_rf6_T', name: 'city', field_type: 'Text', record: 'city' },
  { id: '_rf7_T', name: 'state_province_region', field_type: 'Text', record: 'state_province_region' },
  { id: '_rf8_T', name: 'postal_code', field_type: 'Text', record: 'postal_code' },
  { id: '_rf9_T', name: 'country', field_type: 'Text', record: 'country' },
  { id: '_rf10_T', name: 'phone_number', field_type: 'Text', record: 'phone_number' },
  { id: '_rf11_T', name: 'whatsapp', field_type: 'Text', record: 'whatsapp' },
  { id: '_rf12_T', name: 'line', field_type: 'Text', record: 'line' },
  { id: '_rf13_T', name: 'facebook', field_type: 'Text', record: 'facebook' },
  { id: '_rf14_T', name: 'unique_name', field_type: 'Text', record: 'unique_name' },
  { id: '_rf15_T', name: 'email_domains', field_type: 'Text', read_only: true },
  { id: '_rf16_D', name: 'last_clicked', field_type: 'Date', read_only: true },
  { id: '_rf17_D', name: 'last_opened', field_type: 'Date', read_only: true },
  { id: '_rf18_D', name: 'last_emailed', field_type: 'Date', read_only: true },
  { id: '_rf19_T', name: 'singlesend_id', field_type: 'Text', read_only: true },
  { id: '_rf20_T', name: 'automation_id', field_type: 'Text', read_only: true },
  { id: '_rf21_D', name: 'created_at', field_type: 'Date', read_only: true },
  { id: '_rf22_D', name: 'updated_at', field_type: 'Date', read_only: true },
  { id: '_rf23_T', name: 'contact_id', field_type: 'Text', read_only: true },
  { id: '_rf24_T', name: 'phone_number_id', field_type: 'Text', record: 'phone_number_id' },
  { id: '_rf25_T', name: 'external_id', field_type: 'Text', record: 'external_id' },
  { id: '_rf26_T', name: 'anonymous_id', field_type: 'Text', record: 'anonymous_id' },
];

const RESERVED_BY_ID = new Map<string, ReservedField>();
for (const field of RESERVED_FIELDS) {
  RESERVED_BY_ID.set(field.id, field);
  // The spec's own field_mappings example writes `_rf1` for `_rf1_T`; accept both spellings.
  RESERVED_BY_ID.set(field.id.replace(/_[TDN]$/, ''), field);
}
const RESERVED_NAMES = new Set(RESERVED_FIELDS.map((field) => field.name.toLowerCase()));

export const MAX_CUSTOM_FIELDS = 500;
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_TYPES: readonly FieldType[] = ['Text', 'Number', 'Date'];

/** What a `field_mappings` entry of a CSV import points at. */
export type MappedField =
  | { readonly kind: 'reserved'; readonly record: RecordField }
  | { readonly kind: 'custom'; readonly field: CustomField }
  | { readonly kind: 'read_only'; readonly name: string };

export interface FieldRegistry {
  readonly custom: () => readonly CustomField[];
  readonly byId: (id: string) => CustomField | undefined;
  readonly resolve: (id: string) => MappedField | undefined;
  /** Returns the new field, or the 400 message and the offending request field. */
  readonly create: (name: unknown, fieldType: unknown) => CustomField | { message: string; field: string };
  readonly rename: (
    id: string,
    name: unknown,
  ) => CustomField | { message: string; field: string } | undefined;
  readonly remove: (id: string) => boolean;
  readonly reset: () => void;
}

const typeSuffix = (type: FieldType): string => (type === 'Text' ? 'T' : type === 'Number' ? 'N' : 'D');

export const createFieldRegistry = (seeds: readonly CustomFieldSeed[]): FieldRegistry => {
  let fields = new Map<string, CustomField>();
  let next = 1;

  const nameProblem = (name: unknown, exceptId?: string): string | undefined => {
    if (typeof name !== 'string' || name.length < 1 || name.length > 100)
      return 'name must be 1 to 100 characters';
    if (!NAME_PATTERN.test(name)) {
      return 'name may contain only letters A-Z, digits 0-9 and underscores, and must start with a letter or underscore';
    }
    const lower = name.toLowerCase();
    if (RESERVED_NAMES.has(lower)) return `name "${name}" is a reserved field name`;
    for (const field of fields.values()) {
      if (field.id !== exceptId && field.name.toLowerCase() === lower)
        return `a field named "${field.name}" already exists`;
    }
    return undefined;
  };

  const define = (
    name: unknown,
    fieldType: unknown,
    id?: string,
  ): CustomField | { message: string; field: string } => {
    if (fields.size >= MAX_CUSTOM_FIELDS)
      return { field: 'name', message: `at most ${MAX_CUSTOM_FIELDS} custom fields` };
    const problem = nameProblem(name);
    if (problem !== undefined) return { field: 'name', message: problem };
    if (!FIELD_TYPES.includes(fieldType as FieldType)) {
      return { field: 'field_type', message: 'field_type must be one of Text, Number, Date' };
    }
    const type = fieldType as FieldType;
    let fieldId = id;
    while (fieldId === undefined || (id === undefined && fields.has(fieldId))) {
      fieldId = `e${next}_${typeSuffix(type)}`;
      next += 1;
    }
    const field: CustomField = { id: fieldId, name: name as string, field_type: type };
    fields.set(fieldId, field);
    return field;
  };

  const seed = (): void => {
    fields = new Map();
    next = 1;
    for (const item of seeds) {
      if (item.id !== undefined && (fields.has(item.id) || RESERVED_BY_ID.has(item.id))) {
        throw new Error(`sandbox: sendgrid customFields: duplicate field id "${item.id}"`);
      }
      const made = define(item.name, item.field_type, item.id);
      if ('message' in made) throw new Error(`sandbox: sendgrid customFields: ${item.name}: ${made.message}`);
    }
  };
  seed();

  return {
    custom: () => [...fields.values()],
    byId: (id) => fields.get(id),
    resolve: (id) => {
      const custom = fields.get(id);
      if (custom !== undefined) return { kind: 'custom', field: custom };
      const reserved = RESERVED_BY_ID.get(id);
      if (reserved === undefined) return undefined;
      return reserved.record === undefined
        ? { kind: 'read_only', name: reserved.name }
        : { kind: 'reserved', record: reserved.record };
    },
    create: (name, fieldType) => define(name, fieldType),
    rename: (id, name) => {
      const field = fields.get(id);
      if (field === undefined) return undefined;
      const problem = nameProblem(name, id);
      if (problem !== undefined) return { field: 'name', message: problem };
      const renamed: CustomField = { ...field, name: name as string };
      fields.set(id, renamed);
      return renamed;
    },
    remove: (id) => fields.delete(id),
    reset: seed,
  };
};

const reservedView = (field: ReservedField): Record<string, unknown> => ({
  id: field.id,
  name: field.name,
  field_type: field.field_type,
  ...(field.read_only ? { read_only: true } : {}),
});

export const registerFieldDefinitionRoutes = (app: FastifyInstance, ctx: SendgridContext): void => {
  const config = { endpoint: 'sendgrid.fieldDefinitions' };
  const self = (origin: string, id?: string): string =>
    `${origin}/v3/marketing/field_definitions${id === undefined ? '' : `/${encodeURIComponent(id)}`}`;

  app.get('/v3/marketing/field_definitions', { config }, async (request) => ({
    custom_fields: ctx.fields.custom(),
    reserved_fields: RESERVED_FIELDS.map(reservedView),
    _metadata: { self: self(ctx.originOf(request)) },
  }));

  app.post('/v3/marketing/field_definitions', { config }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const made = ctx.fields.create(body.name, body.field_type);
    if ('message' in made) return sendError(reply, 400, made.message, made.field);
    return { ...made, _metadata: { self: self(ctx.originOf(request), made.id) } };
  });

  app.patch<{ Params: { id: string } }>(
    '/v3/marketing/field_definitions/:id',
    { config },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const renamed = ctx.fields.rename(request.params.id, body.name);
      if (renamed === undefined) return sendError(reply, 404, 'custom field not found', 'custom_field_id');
      if ('message' in renamed) return sendError(reply, 400, renamed.message, renamed.field);
      return { ...renamed, _metadata: { self: self(ctx.originOf(request), renamed.id) } };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v3/marketing/field_definitions/:id',
    { config },
    async (request, reply) => {
      if (!ctx.fields.remove(request.params.id))
        return sendError(reply, 404, 'custom field not found', 'custom_field_id');
      return reply.code(204).send();
    },
  );
};
