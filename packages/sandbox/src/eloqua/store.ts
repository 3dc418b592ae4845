import { type FieldRegistry, SYSTEM_DATE_FIELDS } from './fields.ts';
import { eloquaTime } from './wire.ts';

/**
 * The emulated instance's contacts, lists and subscription statuses.
 *
 * Sized for a million contacts: a contact is ONE flat string (every field slot, then the created
 * and modified times in base 36, joined by U+001F) in a dense array indexed by contact id, plus
 * an e-mail → id map whose keys are cut from the records themselves. A record of objects or
 * arrays would cost several times as much (headers, pointers, per-value strings), and flat
 * strings drop any reference to the upload text a value was sliced from.
 */

const SEP = '\u001f';

export interface ContactList {
  readonly id: number;
  readonly name: string;
  readonly members: Set<number>;
  /** When the list came to exist in the sandbox (seeded lists: at start and at each reset). */
  readonly createdAtMs: number;
}

export interface ContactListSeed {
  readonly id: number;
  readonly name: string;
}

/** How a contact looks through the inspection API. */
export interface ContactView {
  readonly id: number;
  readonly emailAddress: string;
  /** Non-empty field values by internal name, plus C_DateCreated / C_DateModified. */
  readonly fields: Record<string, string>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly listIds: number[];
  /** `setStatus` results by destination (`{{GlobalSubscribe}}`, `{{EmailGroup[1]}}`). */
  readonly statuses: Record<string, string>;
}

export interface ContactStore {
  readonly registry: FieldRegistry;
  readonly size: () => number;
  /** Contact id for an e-mail address (case-insensitive). */
  readonly idByEmail: (email: string) => number | undefined;
  readonly exists: (id: number) => boolean;
  /**
   * A record-shaped array (one entry per field slot plus two for timestamps) holding the fields'
   * default values. It is reused: fill it and pass it to `create` before calling `blank` again.
   */
  readonly blank: () => string[];
  /** A contact's record-shaped values (fresh array: callers may modify and `write` it back). */
  readonly read: (id: number) => string[] | undefined;
  /** Stores a new contact; the e-mail slot must hold an address no other contact has. */
  readonly create: (values: string[], nowMs: number) => number;
  /** Replaces a contact's values (from `read`), re-keying it when its e-mail changed (caller checks uniqueness). */
  readonly write: (id: number, values: string[], nowMs: number) => void;
  /** Marks a contact as touched by `generation` (a sync id), for duplicate detection within a sync. */
  readonly mark: (id: number, generation: number) => void;
  readonly marked: (id: number, generation: number) => boolean;
  /** Ids of contacts whose value in `slot` equals `value` after `normalize`; built per call. */
  readonly indexBy: (slot: number, normalize: (value: string) => string) => Map<string, number[]>;
  readonly view: (id: number) => ContactView | undefined;
  /** Contact ids in creation order, `offset`..`offset + limit`. */
  readonly page: (offset: number, limit: number) => number[];
  readonly lists: Map<number, ContactList>;
  readonly createList: (seed: { readonly id?: number; readonly name: string }) => ContactList | string;
  readonly setStatus: (destination: string, id: number, status: string) => void;
  /**
   * Deletes a contact (the sandbox's `DELETE /__sandbox/contacts`, which plants drift for tests:
   * Eloqua deletes contacts through its REST API and UI, which the sandbox does not emulate).
   */
  readonly remove: (id: number) => boolean;
  readonly clear: () => void;
}

export const createContactStore = (
  registry: FieldRegistry,
  seeds: readonly ContactListSeed[],
  now: () => number = Date.now,
): ContactStore => {
  const slots = registry.fields.length;
  const emailSlot = registry.emailSlot;
  const createdSlot = registry.slotOf.get(SYSTEM_DATE_FIELDS.created);
  const modifiedSlot = registry.slotOf.get(SYSTEM_DATE_FIELDS.modified);
  const defaults = registry.fields.map((field) => field.defaultValue ?? '');
  // Built with push so the array stays PACKED (join is slower on holey arrays).
  const scratch: string[] = [];
  for (let i = 0; i < slots + 2; i += 1) scratch.push('');
  // records[id - 1]; contacts are never deleted through the Bulk import API, so the array stays
  // dense unless a test deletes one through the inspection API (`remove`).
  let records: string[] = [];
  let marks = new Uint32Array(1024);
  let byEmail = new Map<string, number>();
  const lists = new Map<number, ContactList>();
  let statuses = new Map<string, Map<number, string>>();

  const seedLists = () => {
    lists.clear();
    const createdAtMs = now();
    for (const seed of seeds)
      lists.set(seed.id, { id: seed.id, name: seed.name, members: new Set(), createdAtMs });
  };
  seedLists();

  const emailKey = (email: string) => email.toLowerCase();
  /**
   * The map key is cut from the stored record: a key taken from the parsed upload would be a
   * slice of the staged row and keep that whole row alive as long as the contact exists. An
   * update with an unchanged address keeps the old key (re-keying costs two more hash-map
   * operations per row), so at most one superseded record per contact stays referenced.
   */
  const keyOf = (record: string): string => {
    let start = 0;
    for (let i = 0; i < emailSlot; i += 1) start = record.indexOf(SEP, start) + 1;
    const end = record.indexOf(SEP, start);
    return emailKey(record.slice(start, end === -1 ? undefined : end));
  };
  const timeOf = (value: string | undefined) => Number.parseInt(value ?? '0', 36);

  return {
    registry,
    size: () => byEmail.size,
    idByEmail: (email) => byEmail.get(emailKey(email)),
    exists: (id) => records[id - 1] !== undefined,
    blank: () => {
      for (let i = 0; i < slots; i += 1) scratch[i] = defaults[i] ?? '';
      return scratch;
    },
    read: (id) => records[id - 1]?.split(SEP),
    create: (values, nowMs) => {
      const id = records.length + 1;
      const time = nowMs.toString(36);
      values[slots] = time;
      values[slots + 1] = time;
      const record = values.length === slots + 2 ? values.join(SEP) : values.slice(0, slots + 2).join(SEP);
      records.push(record);
      byEmail.set(keyOf(record), id);
      return id;
    },
    write: (id, values, nowMs) => {
      const record = records[id - 1];
      if (record === undefined) return;
      values[slots + 1] = nowMs.toString(36);
      const next = values.join(SEP);
      records[id - 1] = next;
      const oldKey = keyOf(record);
      const newKey = keyOf(next);
      if (oldKey !== newKey) {
        byEmail.delete(oldKey);
        byEmail.set(newKey, id);
      }
    },
    mark: (id, generation) => {
      if (id >= marks.length) {
        const grown = new Uint32Array(Math.max(id + 1, marks.length * 2));
        grown.set(marks);
        marks = grown;
      }
      marks[id] = generation;
    },
    marked: (id, generation) => marks[id] === generation,
    indexBy: (slot, normalize) => {
      const index = new Map<string, number[]>();
      for (let i = 0; i < records.length; i += 1) {
        const record = records[i];
        if (record === undefined) continue;
        const value = normalize(record.split(SEP, slot + 1)[slot] ?? '');
        if (value === '') continue;
        const ids = index.get(value);
        if (ids === undefined) index.set(value, [i + 1]);
        else ids.push(i + 1);
      }
      return index;
    },
    view: (id) => {
      const record = records[id - 1];
      if (record === undefined) return undefined;
      const values = record.split(SEP);
      const created = timeOf(values[slots]);
      const modified = timeOf(values[slots + 1]);
      const fields: Record<string, string> = {};
      registry.fields.forEach((field, slot) => {
        const value =
          slot === createdSlot
            ? eloquaTime(created)
            : slot === modifiedSlot
              ? eloquaTime(modified)
              : values[slot];
        if (value !== undefined && value !== '') fields[field.internalName] = value;
      });
      const contactStatuses: Record<string, string> = {};
      for (const [destination, byId] of statuses) {
        const status = byId.get(id);
        if (status !== undefined) contactStatuses[destination] = status;
      }
      return {
        id,
        emailAddress: values[emailSlot] ?? '',
        fields,
        createdAt: eloquaTime(created),
        updatedAt: eloquaTime(modified),
        listIds: [...lists.values()].filter((list) => list.members.has(id)).map((list) => list.id),
        statuses: contactStatuses,
      };
    },
    page: (offset, limit) => {
      const ids: number[] = [];
      for (let i = offset; i < records.length && ids.length < limit; i += 1) {
        if (records[i] !== undefined) ids.push(i + 1);
      }
      return ids;
    },
    lists,
    createList: ({ id, name }) => {
      const listId = id ?? Math.max(1000, ...lists.keys()) + 1;
      if (!Number.isSafeInteger(listId) || listId < 1) return 'id must be a positive integer';
      if (lists.has(listId)) return `list ${listId} already exists`;
      const list: ContactList = { id: listId, name, members: new Set(), createdAtMs: now() };
      lists.set(listId, list);
      return list;
    },
    setStatus: (destination, id, status) => {
      let byId = statuses.get(destination);
      if (byId === undefined) {
        byId = new Map();
        statuses.set(destination, byId);
      }
      byId.set(id, status);
    },
    remove: (id) => {
      const record = records[id - 1];
      if (record === undefined) return false;
      byEmail.delete(keyOf(record));
      delete records[id - 1];
      for (const list of lists.values()) list.members.delete(id);
      for (const byId of statuses.values()) byId.delete(id);
      return true;
    },
    clear: () => {
      records = [];
      marks = new Uint32Array(1024);
      byEmail = new Map();
      statuses = new Map();
      seedLists();
    },
  };
};
