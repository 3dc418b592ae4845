import type { Fields, FieldValue, ListChanges } from '@ferry/core';
import type { DestinationConfig, FieldMapping } from '../config/schema.ts';
import type { SourceRecord } from '../source/types.ts';
import { type Transform, TransformFailure, transformFor } from './transforms.ts';

/** A source record as one destination will receive it, or the field that stopped it. */
export type MapResult =
  | { readonly ok: true; readonly identity: string; readonly fields: Fields; readonly lists?: ListChanges }
  | { readonly ok: false; readonly field: string; readonly reason: string };

/** Maps records for one destination; compiled once, called per profile. */
export type CompiledMapping = (record: SourceRecord) => MapResult;

/** Reads one destination field's value from a record. */
type FieldReader = (record: SourceRecord) => FieldValue | TransformFailure;

/** `''` means "no value": the destination clears the field rather than storing empty text. */
const emptyToNull = (value: FieldValue): FieldValue => (value === '' ? null : value);

const compileField = (mapping: FieldMapping): FieldReader => {
  if (typeof mapping === 'string') return (record) => emptyToNull(record[mapping] ?? null);
  if ('constant' in mapping) {
    const value = emptyToNull(mapping.constant);
    return () => value;
  }
  const { column } = mapping;
  const names =
    mapping.transform === undefined
      ? []
      : Array.isArray(mapping.transform)
        ? mapping.transform
        : [mapping.transform];
  const steps: Transform[] = names.map((name) => transformFor(name, mapping.format));
  if (steps.length === 0) return (record) => emptyToNull(record[column] ?? null);
  const from = ` (column ${JSON.stringify(column)})`;
  return (record) => {
    let value: FieldValue | TransformFailure = record[column] ?? null;
    for (const step of steps) {
      value = step(value as FieldValue);
      if (value instanceof TransformFailure) return new TransformFailure(value.reason + from);
    }
    return emptyToNull(value as FieldValue);
  };
};

/** An identity is text the vendor matches on: surrounding whitespace never belongs to it. */
const identityText = (value: FieldValue | undefined): string => {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? '' : value.toISOString();
  return typeof value === 'string' ? value.trim() : String(value);
};

/**
 * Compiles a destination's mapping into a function of a record: transforms resolved, list changes
 * built, identity lookup decided, all once. The result of a call:
 *
 * - `fields`: every mapped field, in config order. A value that ends up `''` is `null`, which
 *   destinations treat as "clear the field"; a column missing from the record is `null` too.
 * - `identity`: the mapped field named by `destination.identity` when there is one (its transforms
 *   apply: map `email` with `lowercase` and the identity is lowercased), else that source column;
 *   trimmed. Empty → not ok.
 * - `lists`: `destination.lists`, the same (frozen) object for every record.
 * - not ok: the destination field (or identity column) at fault and why, e.g. field `signed_up`,
 *   reason `expected a date such as 2024-03-01 ..., got "yesterday" (column "signup")`.
 */
export const compileMapping = (destination: DestinationConfig): CompiledMapping => {
  const entries = Object.entries(destination.fields);
  const names = entries.map(([name]) => name);
  const readers = entries.map(([, mapping]) => compileField(mapping));
  const count = names.length;
  const lists: ListChanges = Object.freeze({
    add: Object.freeze([...destination.lists.add]),
    remove: Object.freeze([...destination.lists.remove]),
  });
  const identityName = destination.identity;
  const identityIsField = Object.hasOwn(destination.fields, identityName);

  return (record) => {
    const fields: Record<string, FieldValue> = {};
    for (let index = 0; index < count; index += 1) {
      const value = readers[index]!(record);
      if (value instanceof TransformFailure) return { ok: false, field: names[index]!, reason: value.reason };
      fields[names[index]!] = value;
    }
    const identity = identityText(identityIsField ? fields[identityName] : record[identityName]);
    if (identity === '') {
      const what = identityIsField
        ? `field ${JSON.stringify(identityName)}`
        : `column ${JSON.stringify(identityName)}`;
      return { ok: false, field: identityName, reason: `no identity: ${what} is empty` };
    }
    return { ok: true, identity, fields, lists };
  };
};

const compiled = new WeakMap<DestinationConfig, CompiledMapping>();

/**
 * `compileMapping(destination)(record)`, compiling once per destination config object. Hot loops
 * should hold on to `compileMapping`'s result instead.
 */
export const mapRecord = (record: SourceRecord, destination: DestinationConfig): MapResult => {
  let mapping = compiled.get(destination);
  if (mapping === undefined) {
    mapping = compileMapping(destination);
    compiled.set(destination, mapping);
  }
  return mapping(record);
};

/**
 * The source columns a destination's mapping reads, identity included when it is not a mapped
 * field: for `ferry verify` to compare with the CSV header.
 */
export const mappingColumns = (destination: DestinationConfig): string[] => {
  const columns = new Set<string>();
  for (const mapping of Object.values(destination.fields)) {
    if (typeof mapping === 'string') columns.add(mapping);
    else if ('column' in mapping) columns.add(mapping.column);
  }
  if (!Object.hasOwn(destination.fields, destination.identity)) columns.add(destination.identity);
  return [...columns];
};
