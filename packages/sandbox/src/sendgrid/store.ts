import { randomBytes } from 'node:crypto';
import {
  FIELD_CODE,
  IDENTIFIERS,
  type Identifier,
  packRecord,
  type RecordEntries,
  recordGet,
  unpackRecord,
} from './record.ts';

/**
 * Contacts for one emulator, sized for a million of them: columns instead of objects, one packed
 * string per contact (see record.ts), timestamps in typed arrays, list memberships as bitsets.
 * A contact is addressed by its slot index; slots are never reused, so an id stays unique.
 */
export interface StoredContact {
  readonly index: number;
  readonly id: string;
  readonly email: string | undefined;
  /** Every field except `email`. */
  readonly entries: RecordEntries;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface ContactStore {
  readonly count: () => number;
  readonly get: (index: number) => StoredContact | undefined;
  /** Slot of the contact holding this identifier value (e-mails lower-cased by the caller). */
  readonly find: (identifier: Identifier, value: string) => number | undefined;
  /** Slot of the contact whose primary or alternate e-mail is `email`. */
  readonly findByAnyEmail: (email: string) => number | undefined;
  /** Creates (index undefined) or replaces a contact's fields; returns its slot. */
  readonly put: (
    index: number | undefined,
    email: string | undefined,
    entries: RecordEntries,
    nowMs: number,
  ) => number;
  readonly remove: (index: number) => boolean;
  readonly idOf: (index: number) => string;
  readonly indexOfId: (id: string) => number | undefined;
  readonly addToList: (listId: string, index: number) => void;
  /** Takes a contact off a list (membership only); false when it was not on it. */
  readonly removeFromList: (listId: string, index: number) => boolean;
  readonly listIdsOf: (index: number) => string[];
  readonly listSize: (listId: string) => number;
  readonly isOnList: (listId: string, index: number) => boolean;
  readonly dropList: (listId: string) => void;
  /** Live slots in creation order, starting at slot `from`. */
  readonly slots: (from?: number) => Iterable<number>;
  readonly clear: () => void;
}

interface ListBits {
  bits: Uint32Array;
  size: number;
}

const OTHER_IDENTIFIERS = IDENTIFIERS.filter((name) => name !== 'email');
const ALTERNATE_CODE = FIELD_CODE.alternate_emails;

export const createContactStore = (): ContactStore => {
  // Ids are UUID-shaped (the Lists spec types contact ids as uuid) and encode the slot in their
  // last 12 hex digits, so no id strings are stored; the random prefix changes on every clear.
  let prefix = '';
  let emails: (string | undefined)[] = [];
  let records: (string | undefined)[] = [];
  let created: Float64Array = new Float64Array(1024);
  let updated: Float64Array = new Float64Array(1024);
  let byEmail = new Map<string, number>();
  let byAlternate = new Map<string, number>();
  let byOther = new Map<Identifier, Map<string, number>>();
  let lists = new Map<string, ListBits>();
  let live = 0;

  const newPrefix = (): string => {
    const hex = randomBytes(9).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(12, 15)}-8${hex.slice(15, 18)}-`;
  };
  prefix = newPrefix();

  const grow = (array: Float64Array, needed: number): Float64Array => {
    if (needed <= array.length) return array;
    const next = new Float64Array(Math.max(needed, array.length * 2));
    next.set(array);
    return next;
  };

  const otherMap = (identifier: Identifier): Map<string, number> => {
    let map = byOther.get(identifier);
    if (map === undefined) {
      map = new Map();
      byOther.set(identifier, map);
    }
    return map;
  };

  const unindex = (index: number): void => {
    const email = emails[index];
    if (email !== undefined && byEmail.get(email) === index) byEmail.delete(email);
    const packed = records[index];
    if (packed === undefined) return;
    const entries = unpackRecord(packed);
    for (const identifier of OTHER_IDENTIFIERS) {
      const value = recordGet(entries, FIELD_CODE[identifier]);
      if (typeof value === 'string' && byOther.get(identifier)?.get(value) === index)
        byOther.get(identifier)?.delete(value);
    }
    const alternates = recordGet(entries, ALTERNATE_CODE);
    if (Array.isArray(alternates)) {
      for (const alternate of alternates)
        if (byAlternate.get(alternate) === index) byAlternate.delete(alternate);
    }
  };

  const index = (slot: number, email: string | undefined, entries: RecordEntries): void => {
    if (email !== undefined) byEmail.set(email, slot);
    for (const identifier of OTHER_IDENTIFIERS) {
      const value = recordGet(entries, FIELD_CODE[identifier]);
      if (typeof value === 'string') otherMap(identifier).set(value, slot);
    }
    const alternates = recordGet(entries, ALTERNATE_CODE);
    if (Array.isArray(alternates)) for (const alternate of alternates) byAlternate.set(alternate, slot);
  };

  const alive = (slot: number): boolean => records[slot] !== undefined;

  return {
    count: () => live,
    get: (slot) => {
      const packed = records[slot];
      if (packed === undefined) return undefined;
      return {
        index: slot,
        id: prefix + slot.toString(16).padStart(12, '0'),
        email: emails[slot],
        entries: unpackRecord(packed),
        createdAtMs: created[slot] ?? 0,
        updatedAtMs: updated[slot] ?? 0,
      };
    },
    find: (identifier, value) =>
      identifier === 'email' ? byEmail.get(value) : byOther.get(identifier)?.get(value),
    findByAnyEmail: (email) => byEmail.get(email) ?? byAlternate.get(email),
    put: (existing, email, entries, nowMs) => {
      let slot: number;
      if (existing === undefined || !alive(existing)) {
        slot = records.length;
        created = grow(created, slot + 1);
        updated = grow(updated, slot + 1);
        created[slot] = nowMs;
        live += 1;
      } else {
        slot = existing;
        unindex(slot);
      }
      emails[slot] = email;
      records[slot] = packRecord(entries);
      updated[slot] = nowMs;
      index(slot, email, entries);
      return slot;
    },
    remove: (slot) => {
      if (!alive(slot)) return false;
      unindex(slot);
      emails[slot] = undefined;
      records[slot] = undefined;
      for (const list of lists.values()) {
        const word = slot >>> 5;
        const bit = 1 << (slot & 31);
        const bits = list.bits[word];
        if (bits !== undefined && (bits & bit) !== 0) {
          list.bits[word] = bits & ~bit;
          list.size -= 1;
        }
      }
      live -= 1;
      return true;
    },
    idOf: (slot) => prefix + slot.toString(16).padStart(12, '0'),
    indexOfId: (id) => {
      if (id.length !== 36 || !id.startsWith(prefix)) return undefined;
      const slot = Number.parseInt(id.slice(24), 16);
      return Number.isSafeInteger(slot) && alive(slot) ? slot : undefined;
    },
    addToList: (listId, slot) => {
      let list = lists.get(listId);
      if (list === undefined) {
        list = { bits: new Uint32Array(1024), size: 0 };
        lists.set(listId, list);
      }
      const word = slot >>> 5;
      if (word >= list.bits.length) {
        const bits = new Uint32Array(Math.max(word + 1, list.bits.length * 2));
        bits.set(list.bits);
        list.bits = bits;
      }
      const bit = 1 << (slot & 31);
      const current = list.bits[word] ?? 0;
      if ((current & bit) === 0) {
        list.bits[word] = current | bit;
        list.size += 1;
      }
    },
    removeFromList: (listId, slot) => {
      const list = lists.get(listId);
      if (list === undefined) return false;
      const word = slot >>> 5;
      const bit = 1 << (slot & 31);
      const bits = list.bits[word] ?? 0;
      if ((bits & bit) === 0) return false;
      list.bits[word] = bits & ~bit;
      list.size -= 1;
      return true;
    },
    listIdsOf: (slot) => {
      const ids: string[] = [];
      const word = slot >>> 5;
      const bit = 1 << (slot & 31);
      for (const [listId, list] of lists) if (((list.bits[word] ?? 0) & bit) !== 0) ids.push(listId);
      return ids;
    },
    listSize: (listId) => lists.get(listId)?.size ?? 0,
    isOnList: (listId, slot) => ((lists.get(listId)?.bits[slot >>> 5] ?? 0) & (1 << (slot & 31))) !== 0,
    dropList: (listId) => {
      lists.delete(listId);
    },
    slots: function* (from = 0) {
      for (let slot = Math.max(0, from); slot < records.length; slot += 1)
        if (records[slot] !== undefined) yield slot;
    },
    clear: () => {
      prefix = newPrefix();
      emails = [];
      records = [];
      created = new Float64Array(1024);
      updated = new Float64Array(1024);
      byEmail = new Map();
      byAlternate = new Map();
      byOther = new Map();
      lists = new Map();
      live = 0;
    },
  };
};
