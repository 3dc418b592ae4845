import { ConfigError } from '@ferry/core';
import { callApi, type SendgridContext } from '../client.ts';
import type { CustomFieldLookup } from '../fields.ts';
import type { FieldDefinition, FieldDefinitionsResponse, FieldType } from '../types.ts';

/**
 * `GET /v3/marketing/field_definitions`: custom field names → ids and types (custom_fields is keyed
 * by id on the wire), and the reserved fields' ids, which CSV `field_mappings` need.
 *
 * Cached per destination instance (per `ctx`) for a few minutes, so a sync of many jobs asks once.
 * The cache is only a saving: submission refetches when a name is missing (a field created since)
 * and drops it when SendGrid refuses the ids (a field deleted since); status checks never use it.
 */
export interface FieldDefinitions {
  /** Lower-cased custom field name → definition (names are unique case-insensitively). */
  readonly custom: ReadonlyMap<string, FieldDefinition>;
  /** Reserved field name → definition. */
  readonly reserved: ReadonlyMap<string, FieldDefinition>;
}

const TTL_MS = 5 * 60_000;
const cache = new WeakMap<
  SendgridContext,
  { readonly until: number; readonly value: Promise<FieldDefinitions> }
>();

const FIELD_TYPES: ReadonlySet<string> = new Set(['Text', 'Number', 'Date']);

const definitionsOf = (list: unknown): FieldDefinition[] =>
  Array.isArray(list)
    ? list.filter(
        (item): item is FieldDefinition =>
          typeof item === 'object' &&
          item !== null &&
          typeof (item as FieldDefinition).id === 'string' &&
          typeof (item as FieldDefinition).name === 'string',
      )
    : [];

const fetchDefinitions = async (ctx: SendgridContext): Promise<FieldDefinitions> => {
  const { data } = await callApi<FieldDefinitionsResponse>(ctx, {
    method: 'GET',
    url: '/v3/marketing/field_definitions',
    operation: 'get field definitions',
  });
  return {
    custom: new Map(definitionsOf(data?.custom_fields).map((field) => [field.name.toLowerCase(), field])),
    reserved: new Map(definitionsOf(data?.reserved_fields).map((field) => [field.name, field])),
  };
};

/** The account's field definitions; `fresh` skips the cache (and refills it). */
export const getFieldDefinitions = (
  ctx: SendgridContext,
  options: { readonly fresh?: boolean } = {},
): Promise<FieldDefinitions> => {
  const now = Date.now();
  const hit = cache.get(ctx);
  if (options.fresh !== true && hit !== undefined && hit.until > now) return hit.value;
  const value = fetchDefinitions(ctx);
  cache.set(ctx, { until: now + TTL_MS, value });
  // A failed fetch must not be served from the cache to the next caller.
  value.catch(() => {
    if (cache.get(ctx)?.value === value) cache.delete(ctx);
  });
  return value;
};

/** Forget the cached definitions, after SendGrid refused ids taken from them. */
export const dropFieldDefinitions = (ctx: SendgridContext): void => {
  cache.delete(ctx);
};

const typeOf = (field: FieldDefinition): FieldType =>
  FIELD_TYPES.has(field.field_type) ? field.field_type : 'Text';

const sameField = (a: FieldDefinition | undefined, b: FieldDefinition | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.id === b.id && typeOf(a) === typeOf(b));

/** A custom field named in the mapping that the account does not have: no profile can be sent. */
export const missingFieldsError = (ctx: SendgridContext, absent: readonly string[]): ConfigError =>
  new ConfigError(
    ctx.destination,
    `no custom field named ${absent.join(', ')} in SendGrid: create ${absent.length === 1 ? 'it' : 'them'} ` +
      '(Marketing → Custom Fields) or fix the mapping',
  );

export interface CustomFieldResolver {
  /** Makes `name` resolvable, fetching the definitions if this is the first name (see below). */
  readonly add: (name: string) => Promise<void>;
  readonly lookup: CustomFieldLookup;
  /** The names given that the account has no custom field for, in the order given. */
  readonly missing: (names: Iterable<string>) => string[];
  /**
   * `true` (once) when the fresh fetch redefined a name resolved before it (a field recreated with
   * another id or type): what was validated with the older definitions must be validated again.
   */
  readonly takeRedefined: () => boolean;
}

/**
 * Resolves custom field names as a scan of the batch meets them (the batch is streamed, so its names
 * are not known up front). The calls are those of resolving the whole batch's names at once: none
 * for a batch without custom fields, the cached definitions at the first name, and one fresh fetch
 * at the first name they lack (a field created since); a name still missing then is a mapping error.
 */
export const customFieldResolver = (ctx: SendgridContext): CustomFieldResolver => {
  let definitions: FieldDefinitions | undefined;
  let refreshed = false;
  let redefined = false;
  const added: string[] = [];
  return {
    add: async (name) => {
      definitions ??= await getFieldDefinitions(ctx);
      if (!refreshed && !definitions.custom.has(name.toLowerCase())) {
        refreshed = true;
        const stale = definitions;
        const fresh = await getFieldDefinitions(ctx, { fresh: true });
        redefined = added.some((earlier) => {
          const key = earlier.toLowerCase();
          return !sameField(stale.custom.get(key), fresh.custom.get(key));
        });
        definitions = fresh;
      }
      added.push(name);
    },
    lookup: (name) => {
      const field = definitions?.custom.get(name.toLowerCase());
      return field === undefined ? undefined : { id: field.id, type: typeOf(field) };
    },
    missing: (names) => [...names].filter((name) => definitions?.custom.has(name.toLowerCase()) !== true),
    takeRedefined: () => {
      const was = redefined;
      redefined = false;
      return was;
    },
  };
};
