import { hash } from 'node:crypto';
import type { Fields, FieldValue, ListChanges } from '@ferry/core';

/*
 * The change detector: a profile is sent again only when the fingerprint of its mapped fields and
 * list changes differs from the one the destination last confirmed. So the encoding must be
 * canonical — the same values give the same text whatever the key order, run or machine — and
 * different values must give different text: `1` vs `"1"`, `null` vs `""`, a date vs its ISO text,
 * lists `["a,b"]` vs `["a","b"]`. JSON-quoting every string and key makes it unambiguous.
 */

const encodeValue = (value: FieldValue): string => {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      // -0 and 0 are the same value to every vendor; NaN/Infinity cannot come out of a mapping,
      // but are kept distinct rather than collapsed into `null` as JSON would.
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return `D${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()}`;
  }
};

const encodeList = (ids: readonly string[]): string => {
  // Membership is a set: order and repeats do not change what the destination ends up with.
  const sorted = [...new Set(ids)].sort();
  let text = '[';
  for (const id of sorted) text += `${JSON.stringify(id)},`;
  return `${text}]`;
};

interface KeyOrder {
  /** The keys in the order `Object.keys` gave them. */
  readonly keys: readonly string[];
  /** The same keys sorted, each with its encoded prefix (`"key":`). */
  readonly sorted: readonly { readonly key: string; readonly prefix: string }[];
}

// A run maps every record of a destination to the same keys in the same order, so the sorted order
// and the quoted keys are worked out once per key list instead of once per profile (about half the
// cost of a fingerprint). A few entries cover several destinations fingerprinting in turn.
const KEY_ORDERS = 8;
const keyOrders: KeyOrder[] = [];

const sortedKeys = (fields: Fields): KeyOrder['sorted'] => {
  const keys = Object.keys(fields);
  for (const order of keyOrders) {
    if (order.keys.length !== keys.length) continue;
    let same = true;
    for (let index = 0; index < keys.length; index += 1) {
      if (order.keys[index] !== keys[index]) {
        same = false;
        break;
      }
    }
    if (same) return order.sorted;
  }
  const sorted = [...keys].sort().map((key) => ({ key, prefix: `${JSON.stringify(key)}:` }));
  keyOrders.unshift({ keys, sorted });
  if (keyOrders.length > KEY_ORDERS) keyOrders.pop();
  return sorted;
};

// A destination passes the same frozen list changes for every profile: encode them once per object.
let lastLists: ListChanges | undefined;
let lastListsText = '';

const encodeLists = (lists: ListChanges): string => {
  if (lists === lastLists) return lastListsText;
  const text = `+${encodeList(lists.add)}-${encodeList(lists.remove)}`;
  if (Object.isFrozen(lists) && Object.isFrozen(lists.add) && Object.isFrozen(lists.remove)) {
    lastLists = lists;
    lastListsText = text;
  }
  return text;
};

/** The canonical text that `fingerprint` hashes (exported for tests and debugging). */
export const canonicalText = (fields: Fields, lists?: ListChanges): string => {
  let text = '{';
  for (const { key, prefix } of sortedKeys(fields))
    text += `${prefix}${encodeValue(fields[key] as FieldValue)},`;
  text += '}';
  if (lists !== undefined && (lists.add.length > 0 || lists.remove.length > 0)) text += encodeLists(lists);
  return text;
};

/**
 * A short, stable digest of what would be sent for one profile: 22 base64url characters (132 bits
 * of SHA-256). Key order does not matter; `Date` values count as their ISO instant (distinct from the
 * same text in a string). No list changes and empty list changes give the same fingerprint, so a
 * destination whose plugin ignores lists is not re-sent everything when lists are configured. The
 * identity is not part of it: it is normally a mapped field already.
 */
export const fingerprint = (fields: Fields, lists?: ListChanges): string =>
  hash('sha256', canonicalText(fields, lists), 'base64url').slice(0, 22);
