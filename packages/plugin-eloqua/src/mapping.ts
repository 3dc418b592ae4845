import {
  ConfigError,
  type CsvValue,
  encodeCsvRow,
  type FieldValue,
  type ProfileChange,
  type ProfileOutcome,
  type RejectedOutcome,
  type UpsertChange,
} from '@ferry/core';
import type { EloquaOptions } from './options.ts';
import type { SyncAction } from './types.ts';

/**
 * From ProfileChange to Eloqua's import CSV, and its exact size.
 *
 * A profile's row holds the identifier column (always the profile's `identity`) and then its other
 * fields sorted by name, so every profile with the same field names has the same columns in the same
 * order. `measure` is the byte length of exactly that row as core's CSV encoder writes it, and the
 * upload is written by the same encoder (`writeCsv`), so what the runner packs is what is sent.
 */

/** Destination fields are Eloqua internal names (`C_EmailAddress`, `C_Notes1`). */
export const FIELD_NAME = /^[A-Za-z0-9_]{1,100}$/;
/** Contact list ids are Eloqua's numeric ids. */
const LIST_ID = /^[1-9]\d{0,17}$/;
/** Eloqua refuses definitions with more fields than this (A.4). */
export const MAX_DEFINITION_FIELDS = 100;
/** Eloqua refuses definitions with more sync actions than this (A.3.10). */
export const MAX_SYNC_ACTIONS = 10;

export const fieldStatement = (internalName: string): string => `{{Contact.Field(${internalName})}}`;
export const listStatement = (listId: string): string => `{{ContactList[${listId}]}}`;

/**
 * A number as plain decimal text: Eloqua's number fields take `1234.5`, not `1.2345e+3`, so the
 * exponent form JavaScript uses for very large and very small numbers is expanded.
 */
export const encodeNumber = (value: number): string => {
  const text = String(value);
  const at = text.indexOf('e');
  if (at === -1) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, at);
  const exponent = Number(text.slice(at + 1));
  const point = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const pointAt = (point === -1 ? mantissa.length : point) + exponent;
  const plain =
    pointAt <= 0
      ? `0.${'0'.repeat(-pointAt)}${digits}`
      : pointAt >= digits.length
        ? digits + '0'.repeat(pointAt - digits.length)
        : `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${plain}` : plain;
};

/**
 * One value as import text: `null` (clear the field) is an empty value, never the text "null"
 * (which Eloqua rejects in number and date fields); dates are ISO 8601 in UTC; booleans `true`/`false`.
 * Invalid numbers and dates are caught by `validateChange` before this runs.
 */
export const encodeValue = (value: FieldValue | undefined): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return encodeNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return value.toISOString();
};

/** The columns of one field set, with what is computed once per set rather than once per profile. */
export interface ColumnSet {
  /** The identifier column first, then the other field names sorted. */
  readonly columns: readonly string[];
  /** Identifies the set in group keys. */
  readonly signature: string;
  /** A field name that cannot be an Eloqua internal name, if there is one. */
  readonly invalidField?: string;
}

/**
 * Column sets by identifier + field names in the profile's key order. A batch has one or a few
 * field sets, so sorting and checking the names once per set instead of once per profile is most of
 * what `measure` would otherwise spend on them. A pure cache (bounded): nothing depends on it.
 */
const columnSets = new Map<string, ColumnSet>();
const MAX_CACHED_SETS = 1000;
const SEPARATOR = '\u0001';

/** The last set looked up: a batch almost always has one field set, so this answers most calls. */
let last:
  | { readonly identifierField: string; readonly names: readonly string[]; readonly set: ColumnSet }
  | undefined;

/** Whether `fields` has exactly `names` as keys, in that order, without allocating. */
const hasKeys = (fields: object, names: readonly string[]): boolean => {
  let index = 0;
  for (const name in fields) {
    if (name !== names[index]) return false;
    index += 1;
  }
  return index === names.length;
};

export const columnSetOf = (change: ProfileChange, identifierField: string): ColumnSet => {
  const fields = change.kind === 'delete' ? {} : change.fields;
  if (last !== undefined && last.identifierField === identifierField && hasKeys(fields, last.names))
    return last.set;
  const names = Object.keys(fields);
  const cacheKey = identifierField + SEPARATOR + names.join(SEPARATOR);
  let set = columnSets.get(cacheKey);
  if (set === undefined) {
    const others = names.filter((name) => name !== identifierField).sort();
    const columns = [identifierField, ...others];
    const invalidField = others.find((name) => !FIELD_NAME.test(name));
    set = { columns, signature: columns.join(','), ...(invalidField === undefined ? {} : { invalidField }) };
    if (columnSets.size >= MAX_CACHED_SETS) columnSets.clear();
    columnSets.set(cacheKey, set);
  }
  last = { identifierField, names, set };
  return set;
};

/** The identifier column first, then the profile's other fields by name. */
export const columnsOf = (change: ProfileChange, identifierField: string): readonly string[] =>
  columnSetOf(change, identifierField).columns;

/** The row's values for `columns`; the identifier column is always the profile's identity. */
export const rowValues = (change: ProfileChange, columns: readonly string[]): CsvValue[] => {
  const values: CsvValue[] = [change.identity];
  if (change.kind === 'delete') return values;
  for (let index = 1; index < columns.length; index += 1) {
    values.push(encodeValue(change.fields[columns[index] as string]));
  }
  return values;
};

/** Bytes of one CSV row (line break included), as `writeCsv` will send it. */
export const rowBytes = (values: readonly CsvValue[]): number =>
  Buffer.byteLength(encodeCsvRow(values), 'utf8');

/** Bytes of one profile's row in the upload: what the runner packs jobs with. */
export const measureChange = (
  change: ProfileChange,
  options: Pick<EloquaOptions, 'identifierField'>,
): number => rowBytes(rowValues(change, columnSetOf(change, options.identifierField).columns));

/** Bytes of a header row; every upload starts with one. */
export const headerBytes = (columns: readonly string[]): number => rowBytes(columns);

/** Two identities are the same contact when they differ only in case or surrounding blanks (as Eloqua matches). */
export const identityKey = (identity: string): string => identity.trim().toLowerCase();

const reject = (change: ProfileChange, code: string, message: string, field?: string): RejectedOutcome => ({
  profileId: change.profileId,
  status: 'rejected',
  code,
  message,
  ...(field === undefined ? {} : { field }),
});

/**
 * What can be known before uploading: profiles that can never be imported are rejected at submission
 * (deletes, which this destination does not do; an empty identity; numbers and dates that have no
 * text form). Field names and list ids that cannot be valid are configuration mistakes: ConfigError.
 */
export const validateChange = (
  change: ProfileChange,
  options: EloquaOptions,
): RejectedOutcome | undefined => {
  if (change.kind === 'delete') {
    return reject(
      change,
      'unsupported',
      'the Eloqua destination does not delete contacts (capabilities.delete is false)',
    );
  }
  if (change.identity.trim() === '') {
    return reject(change, 'missing_identity', `the profile has no identity for ${options.identifierField}`);
  }
  const { invalidField } = columnSetOf(change, options.identifierField);
  if (invalidField !== undefined) {
    throw new ConfigError(
      'eloqua',
      `field ${JSON.stringify(invalidField)} is not an Eloqua contact field internal name (letters, digits, _)`,
    );
  }
  for (const field in change.fields) {
    const value = change.fields[field];
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return reject(change, 'invalid_value', `${field} is not a finite number`, field);
    }
    if (value instanceof Date && Number.isNaN(value.getTime())) {
      return reject(change, 'invalid_value', `${field} is an invalid date`, field);
    }
  }
  const { lists } = change;
  if (lists !== undefined) {
    for (const id of [...lists.add, ...lists.remove]) {
      if (!LIST_ID.test(id)) {
        throw new ConfigError('eloqua', `list id ${JSON.stringify(id)} is not an Eloqua contact list id`);
      }
    }
  }
  return undefined;
};

/** One contact's row in a job: the last profile with its identity, standing for all of them. */
export interface PreparedRow {
  /** The change whose values are uploaded (the last one with this identity). */
  readonly change: UpsertChange;
  /** Every profile with this identity, in batch order; they share the row's outcome. */
  readonly profileIds: readonly string[];
  readonly values: readonly CsvValue[];
  readonly bytes: number;
}

/** One import definition, one sync: the columns and list actions its rows share. */
export interface PlannedGroup {
  readonly columns: readonly string[];
  readonly actions: readonly SyncAction[];
}

/** Rows with the same columns and list actions: one import definition, one sync. */
export interface PreparedGroup extends PlannedGroup {
  readonly rows: readonly PreparedRow[];
}

export interface PreparedJob {
  readonly groups: readonly PreparedGroup[];
  readonly rejected: readonly ProfileOutcome[];
}

const NO_ACTIONS: readonly (readonly SyncAction[])[] = [[]];

/** A contact's list changes as sync actions (adds, then removes, by id), at most 10 per definition. */
const actionChunks = (
  lists: ReadonlyMap<string, 'add' | 'remove'> | undefined,
): readonly (readonly SyncAction[])[] => {
  if (lists === undefined || lists.size === 0) return NO_ACTIONS;
  const actions = [...lists]
    .sort(([a, x], [b, y]) => (x === y ? Number(a) - Number(b) : x === 'add' ? -1 : 1))
    .map(([id, action]): SyncAction => ({ action, destination: listStatement(id) }));
  const chunks: SyncAction[][] = [];
  for (let at = 0; at < actions.length; at += MAX_SYNC_ACTIONS)
    chunks.push(actions.slice(at, at + MAX_SYNC_ACTIONS));
  return chunks;
};

/** Most syncs one job may have; keeps the handle small (each sync costs ~80 bytes of it). */
export const MAX_GROUPS_PER_JOB = 24;

/**
 * How a batch becomes rows, known from one pass over it without keeping its profiles: positions
 * (a profile's index in the batch) stand for them. A later pass reads the batch again and picks the
 * rows by position (`inGroup`); profile ids are read again only for the few outcomes that need them.
 */
export interface JobPlan {
  readonly length: number;
  readonly groups: readonly PlannedGroup[];
  /** Profiles rejected by `validateChange`, in batch order. */
  readonly rejected: readonly RejectedOutcome[];
  /** Rows handed back past MAX_GROUPS_PER_JOB (by position), in row order. */
  readonly deferred: readonly number[];
  /** Whether the row of group `group` sits at `position`. */
  readonly inGroup: (position: number, group: number) => boolean;
  /** The positions of a group's rows, in row order. */
  readonly rowsOf: (group: number) => Generator<number, void, undefined>;
  /** Bytes of the row at `position`, as `writeCsv` uploads it. */
  readonly bytesAt: (position: number) => number;
  /** The positions of every profile the row at `position` stands for, in batch order. */
  readonly profilesOf: (position: number) => number[];
}

export interface JobPlanner {
  /** Takes the batch's next profile; call once per profile, in batch order. */
  readonly add: (change: ProfileChange) => void;
  /** Groups the rows; call once, after the last profile. */
  readonly finish: () => JobPlan;
}

// What sits at a position, one byte each: no row (rejected, or a profile whose identity comes again
// later), a row not yet grouped, a row of group `code - FIRST_GROUP`, or a row of several groups.
const NO_ROW = 0;
const ROW = 1;
const FIRST_GROUP = 2;
const SEVERAL_GROUPS = 255;

/**
 * Turns a batch into rows grouped by import definition, profile by profile, keeping a few bytes per
 * profile (about 13, plus one map entry per identity until `finish`) rather than the profiles: a
 * 200,000-profile job is about 170 MB as objects.
 *
 * - Profiles rejected by `validateChange` are left out.
 * - Profiles sharing an identity become ONE row, because Eloqua imports the first row of an
 *   identifier in a sync and rejects the others as duplicates, while the last profile is the one
 *   that should win. The row has the last profile's fields and the list changes of all of them
 *   applied in batch order, and it sits where the last of them was.
 * - Rows are grouped by (columns, list actions): Eloqua applies a definition's `syncActions` to
 *   every row it imports, so different list changes need different definitions. A contact with more
 *   than 10 list changes is uploaded once per 10 (the same values each time: upserts are idempotent).
 * - Beyond MAX_GROUPS_PER_JOB groups, the remaining rows are `deferred`: their profiles are handed
 *   back as retryable (`deferredOutcomes`), for the runner to put in a later job.
 */
export const createJobPlanner = (length: number, options: EloquaOptions): JobPlanner => {
  const rejected: RejectedOutcome[] = [];
  /** Identity key → position of its last profile so far; only needed until `finish`. */
  const lastAt = new Map<string, number>();
  /** Position of the previous profile with the same identity, or -1. */
  const previous = new Int32Array(length).fill(-1);
  const code = new Uint8Array(length);
  const bytes = new Uint32Array(length);
  // Column sets by number: a batch has one or a few, and a position needs only its number.
  const setAt = new Uint32Array(length);
  const sets: ColumnSet[] = [];
  const setIds = new Map<ColumnSet, number>();
  /** List id → last change, in batch order, at the position of the identity's last profile; only for identities with list changes. */
  const listsAt = new Map<number, Map<string, 'add' | 'remove'>>();
  let count = 0;

  const add = (change: ProfileChange): void => {
    const position = count;
    if (position >= length) throw new Error(`the batch yielded more profiles than its length, ${length}`);
    count += 1;
    const problem = validateChange(change, options);
    if (problem !== undefined || change.kind === 'delete') {
      if (problem !== undefined) rejected.push(problem);
      return;
    }
    const set = columnSetOf(change, options.identifierField);
    let setId = setIds.get(set);
    if (setId === undefined) {
      setId = sets.length;
      sets.push(set);
      setIds.set(set, setId);
    }
    setAt[position] = setId;
    // Measured now, for every profile: only the last of an identity's is used, but which one that is
    // is known only at the end, and duplicates are rare.
    bytes[position] = rowBytes(rowValues(change, set.columns));
    code[position] = ROW;
    const key = identityKey(change.identity);
    const before = lastAt.get(key);
    lastAt.set(key, position);
    let lists: Map<string, 'add' | 'remove'> | undefined;
    if (before !== undefined) {
      previous[position] = before;
      code[before] = NO_ROW;
      lists = listsAt.get(before);
      if (lists !== undefined) {
        listsAt.delete(before);
        listsAt.set(position, lists);
      }
    }
    const changes = change.lists;
    if (changes !== undefined && changes.add.length + changes.remove.length > 0) {
      if (lists === undefined) {
        lists = new Map();
        listsAt.set(position, lists);
      }
      // Applied like the contract reads them: a profile's additions, then its removals.
      for (const id of changes.add) lists.set(id, 'add');
      for (const id of changes.remove) lists.set(id, 'remove');
    }
  };

  const finish = (): JobPlan => {
    if (count !== length) throw new Error(`the batch yielded ${count} profiles, not its length ${length}`);
    lastAt.clear();
    const groups: PlannedGroup[] = [];
    const groupIds = new Map<string, number>();
    const several = new Map<number, readonly number[]>();
    const deferred: number[] = [];
    for (let position = 0; position < length; position += 1) {
      if (code[position] !== ROW) continue;
      const { columns, signature } = sets[setAt[position] as number] as ColumnSet;
      if (columns.length > MAX_DEFINITION_FIELDS) {
        throw new ConfigError(
          'eloqua',
          `a profile maps ${columns.length} fields; an Eloqua import definition holds at most ${MAX_DEFINITION_FIELDS}`,
        );
      }
      const chunks = actionChunks(listsAt.get(position));
      const keys = chunks.map((chunk) =>
        chunk.length === 0
          ? signature
          : `${signature}|${chunk.map((a) => a.action + a.destination).join(',')}`,
      );
      const newGroups = keys.filter((key) => !groupIds.has(key)).length;
      if (newGroups > 0 && groups.length + newGroups > MAX_GROUPS_PER_JOB) {
        code[position] = NO_ROW;
        deferred.push(position);
        continue;
      }
      const ids = chunks.map((chunk, index) => {
        const key = keys[index] as string;
        let id = groupIds.get(key);
        if (id === undefined) {
          id = groups.length;
          groups.push({ columns, actions: chunk });
          groupIds.set(key, id);
        }
        return id;
      });
      if (ids.length === 1) code[position] = FIRST_GROUP + (ids[0] as number);
      else {
        code[position] = SEVERAL_GROUPS;
        several.set(position, ids);
      }
    }
    listsAt.clear();

    const inGroup = (position: number, group: number): boolean => {
      const at = code[position] as number;
      if (at === SEVERAL_GROUPS) return several.get(position)?.includes(group) === true;
      return at === FIRST_GROUP + group;
    };
    return {
      length,
      groups,
      rejected,
      deferred,
      inGroup,
      rowsOf: function* rowsOf(group) {
        for (let position = 0; position < length; position += 1) if (inGroup(position, group)) yield position;
      },
      bytesAt: (position) => bytes[position] as number,
      profilesOf: (position) => {
        const positions: number[] = [];
        for (let at = position; at !== -1; at = previous[at] as number) positions.push(at);
        return positions.reverse();
      },
    };
  };

  return { add, finish };
};

/** The outcomes of the deferred rows' profiles, in batch order; `profileIdAt` names them by position. */
export const deferredOutcomes = (
  plan: JobPlan,
  profileIdAt: (position: number) => string,
): ProfileOutcome[] =>
  plan.deferred
    .flatMap((position) => plan.profilesOf(position))
    .sort((a, b) => a - b)
    .map(
      (position): ProfileOutcome => ({
        profileId: profileIdAt(position),
        status: 'retryable',
        code: 'too_many_list_groups',
        message: `the batch has more than ${MAX_GROUPS_PER_JOB} different sets of fields and list changes; this profile goes in a later job`,
        retryAfterMs: 0,
      }),
    );

/**
 * The rows of a batch held in memory, grouped by import definition (see `createJobPlanner`): for
 * tests and tools. Submitting a job never makes them; it reads the batch again instead.
 */
export const prepareJob = (batch: readonly ProfileChange[], options: EloquaOptions): PreparedJob => {
  const planner = createJobPlanner(batch.length, options);
  for (const change of batch) planner.add(change);
  const plan = planner.finish();
  const changeAt = (position: number): ProfileChange => batch[position] as ProfileChange;
  // A row of several groups is one object in each, as a contact is one row.
  const rows = new Map<number, PreparedRow>();
  const rowAt = (position: number, columns: readonly string[]): PreparedRow => {
    let row = rows.get(position);
    if (row === undefined) {
      const values = rowValues(changeAt(position), columns);
      row = {
        change: changeAt(position) as UpsertChange,
        profileIds: plan.profilesOf(position).map((at) => changeAt(at).profileId),
        values,
        bytes: plan.bytesAt(position),
      };
      rows.set(position, row);
    }
    return row;
  };
  const groups = plan.groups.map((group, index) => ({
    ...group,
    rows: Array.from(plan.rowsOf(index), (position) => rowAt(position, group.columns)),
  }));
  const rejected = [...plan.rejected, ...deferredOutcomes(plan, (at) => changeAt(at).profileId)];
  return { groups, rejected };
};
