import {
  ConfigError,
  PermanentError,
  type ProfileBatch,
  type ProfileChange,
  type ProfileOutcome,
  type UpsertChange,
} from '@ferry/core';
import type { SendgridContext } from './client.ts';
import { type CustomFieldLookup, fieldKind, isPlausibleEmail, SEARCH_EMAIL_MAX_LENGTH } from './fields.ts';
import {
  checkContact,
  checkIdentity,
  contactColumns,
  csvCellBytes,
  emailKey,
  ownListIds,
  toContact,
} from './mapping.ts';
import {
  type CustomFieldResolver,
  customFieldResolver,
  missingFieldsError,
} from './operations/field-definitions.ts';

/**
 * The first reading of a batch (submit.ts makes the second): validates every change and finds the
 * one sent per e-mail, keeping only what the second reading and the plan need. The batch may hold
 * 100,000 profiles or more and is streamed from the runner's store, so nothing of a change outlives
 * its turn but a few numbers per index (typed arrays) and, until the end of the reading, its e-mail
 * (to find each e-mail's last change); per group of upserts there are tallies: the CSV columns, the
 * size of an uncompressed file, and the JSON of a batch small enough to go as JSON.
 */

/** `flags` bits: the change passed validation. */
export const VALID = 1;
/** The change is the one sent for its e-mail (its last valid change). */
export const SENT = 2;
/** An upsert with list removals (they are looked up like deletes). */
const REMOVES = 4;
/** `groupOf` of a delete. */
export const DELETE_GROUP = -1;

/** A contact kept from the first reading: its JSON as sent, and its profile. */
export interface HeldContact {
  readonly json: string;
  readonly profileId: string;
}

/** The upserts sent with the same `list_ids`: one SendGrid job (or more, for JSON bodies over the limits). */
export interface UpsertGroup {
  /** Index in `groupOf`. */
  readonly id: number;
  /** The option's lists, then the ones the group's profiles add. */
  readonly listIds: readonly string[];
  /** E-mails sent in the group. */
  readonly count: number;
  /** CSV columns: `email`, then every other key its contacts fill (custom fields by id), sorted. */
  readonly columns: readonly string[];
  /**
   * The contacts sent as JSON, by index in batch order, when the batch goes as JSON (`json`, or
   * `auto` with a batch that one request may hold): the bodies are made of these, so each contact is
   * built once (and `auto` sizes the request with them). `undefined` otherwise: a bulk load, whose
   * contacts are only checked here (a group of it small enough for JSON is sized by the second
   * reading). Emptied once the bodies are made.
   */
  readonly json: Map<number, HeldContact> | undefined;
  /** Σ `csvCellBytes` of its contacts (uncompressed CSV only: the upload's size is announced first). */
  readonly cellBytes: number;
  /**
   * Its contacts clear a field (`ContactResult.clears`), which only JSON does: with `csv` and `auto`
   * they form groups of their own, sent as JSON whatever their size, after the other groups (so each
   * of those, one SendGrid job, still fits the handle; see submit.ts).
   */
  readonly clears: boolean;
}

export interface Collapsed {
  /** Rejected at submission, in batch order. */
  readonly rejected: ProfileOutcome[];
  readonly lookup: CustomFieldLookup;
  /** Custom field id → the name mapped, for CSV headers. */
  readonly customNameById: ReadonlyMap<string, string>;
  /**
   * Per index: `VALID` when the change passed validation, and `SENT` when it is its e-mail's last
   * valid change, the one sent (SendGrid keeps the last anyway, and a delete after an upsert must
   * win). Earlier valid changes of that e-mail stay members and share its outcome, since their
   * values are not what SendGrid ends up holding.
   */
  readonly flags: Uint8Array;
  /** Whether an e-mail has more than one valid change (then the second reading gathers them). */
  readonly shared: boolean;
  /** Per index of a valid change: its group's id, or `DELETE_GROUP`. */
  readonly groupOf: Int32Array;
  /** In order of their first sent change (those that clear last), as the calls are made. */
  readonly groups: readonly UpsertGroup[];
  /** E-mails deleted. */
  readonly deletes: number;
  /** Whether a sent upsert removes lists. */
  readonly removals: boolean;
}

/** The batch yielded other changes than on its first reading: refused rather than sent half right. */
export const batchChanged = (ctx: SendgridContext): PermanentError =>
  new PermanentError(
    ctx.destination,
    'the batch changed between two readings (a batch must yield the same changes, as many as its length, every time)',
    { code: 'batch_changed' },
  );

export const rejectedOutcome = (
  profileId: string,
  code: string,
  message: string,
  field?: string,
): ProfileOutcome => ({
  profileId,
  status: 'rejected',
  code,
  message,
  ...(field === undefined ? {} : { field }),
});

const deleteIssue = (identity: string): { code: string; message: string; field?: string } | undefined => {
  if (identity.trim() === '')
    return { code: 'missing_identity', message: 'the profile has no e-mail address' };
  if (identity.length > SEARCH_EMAIL_MAX_LENGTH && isPlausibleEmail(identity)) {
    return {
      code: 'unsupported',
      field: 'email',
      message: `SendGrid can only look up addresses of at most ${SEARCH_EMAIL_MAX_LENGTH} characters to delete them`,
    };
  }
  return undefined;
};

/**
 * Reads a batch, handing `visit` each change and its index, and waiting only when it returns a
 * promise. An array (a plain iterable) is read without a promise per change; either way it must
 * yield exactly `length` changes, since readings are matched index by index.
 */
export const readBatch = async (
  ctx: SendgridContext,
  batch: ProfileBatch,
  visit: (change: ProfileChange, at: number) => Promise<void> | undefined,
): Promise<void> => {
  let index = 0;
  const step = (change: ProfileChange): Promise<void> | undefined => {
    if (index >= batch.length) throw batchChanged(ctx);
    index += 1;
    return visit(change, index - 1);
  };
  if (Symbol.iterator in batch) {
    for (const change of batch) {
      const wait = step(change);
      if (wait !== undefined) await wait;
    }
  } else {
    for await (const change of batch) {
      const wait = step(change);
      if (wait !== undefined) await wait;
    }
  }
  if (index !== batch.length) throw batchChanged(ctx);
};

const sameColumns = (columns: readonly string[], shape: readonly string[] | undefined): boolean => {
  if (shape === undefined || shape.length !== columns.length) return false;
  for (let at = 0; at < columns.length; at += 1) if (columns[at] !== shape[at]) return false;
  return true;
};

/** The mapping's field names, gathered over every upsert: its errors are the whole batch's. */
interface FieldNames {
  /** Custom field names in the order they first appear. */
  readonly custom: Set<string>;
  readonly readOnly: Set<string>;
}

/** What one reading keeps per group of upserts. */
interface Gathering {
  readonly listIds: readonly string[];
  readonly clears: boolean;
  readonly json: Map<number, HeldContact> | undefined;
}

interface Tally {
  readonly id: number;
  readonly listIds: readonly string[];
  readonly clears: boolean;
  count: number;
  readonly shapes: Set<number>;
  cellBytes: number;
}

/** One reading of the batch (`visit` per change), and what it found (`finish`). */
const reading = (ctx: SendgridContext, length: number, resolver: CustomFieldResolver, names: FieldNames) => {
  const { submission, csv, json } = ctx.options;
  const { lookup } = resolver;
  const rejected: ProfileOutcome[] = [];
  const seen = new Set<string>();
  const flags = new Uint8Array(length);
  const groupOf = new Int32Array(length);
  // Shapes (the columns a contact fills) and sizes are only kept for the paths that need them.
  const shapeOf = submission === 'json' ? undefined : new Int32Array(length);
  const cellBytes = submission !== 'json' && !csv.gzip ? new Uint32Array(length) : undefined;
  // A batch over the JSON limits (what `auto` is packed to) usually goes as one CSV import.
  const keepJson = submission === 'json' || (submission === 'auto' && length <= json.maxProfilesPerJob);
  const groupIds = new Map<string, number>();
  const gatherings: Gathering[] = [];
  const shapeIds = new Map<string, number>();
  const shapes: (readonly string[])[] = [];
  let lastShape = -1;
  // E-mail key → index of its last valid change; re-inserted so that the map's order is the order
  // of those changes. The largest thing kept, and dropped once `SENT` is marked.
  const sent = new Map<string, number>();
  let shared = false;

  /** Field names not seen before; resolves new custom ones (which may fetch the definitions). */
  const noteNames = (change: UpsertChange): Promise<void> | undefined => {
    const added: string[] = [];
    for (const name in change.fields) {
      // Every profile usually maps the same fields: each name is looked at once.
      if (seen.has(name)) continue;
      seen.add(name);
      const kind = fieldKind(name);
      if (kind === 'read_only') names.readOnly.add(name);
      else if (kind === 'custom' && !names.custom.has(name)) {
        names.custom.add(name);
        added.push(name);
      }
    }
    // A read-only field refuses the mapping whatever the definitions say: no calls for them then.
    if (added.length === 0 || names.readOnly.size > 0) return undefined;
    return (async () => {
      for (const name of added) await resolver.add(name);
    })();
  };

  const groupFor = (change: UpsertChange, clearing: boolean): number => {
    const own = ownListIds(change, ctx.options);
    // JSON clears anyway: one group per lists there, as few requests as can be.
    const clears = clearing && submission !== 'json';
    const groupKey = clears ? `${own.join(',')}|clears` : own.join(',');
    const known = groupIds.get(groupKey);
    if (known !== undefined) return known;
    groupIds.set(groupKey, gatherings.length);
    gatherings.push({
      listIds: [...ctx.options.listIds, ...own],
      clears,
      json: keepJson ? new Map() : undefined,
    });
    return gatherings.length - 1;
  };

  const shapeFor = (columns: readonly string[]): number => {
    // Usually the same columns as the change before: compared, not looked up.
    if (sameColumns(columns, shapes[lastShape])) return lastShape;
    const shapeKey = columns.join('\n');
    let shape = shapeIds.get(shapeKey);
    if (shape === undefined) {
      shape = shapes.length;
      shapeIds.set(shapeKey, shape);
      shapes.push(columns);
    }
    lastShape = shape;
    return shape;
  };

  const validate = (change: ProfileChange, at: number): void => {
    // The batch will be refused: only the names it maps matter from here on.
    if (names.readOnly.size > 0) return;
    const issue = change.kind === 'upsert' ? checkIdentity(change) : deleteIssue(change.identity);
    if (issue !== undefined) {
      rejected.push(rejectedOutcome(change.profileId, issue.code, issue.message, issue.field));
      return;
    }
    // The contact is built when its JSON or size is kept; else only checked (the second reading
    // builds the ones sent).
    const built =
      change.kind !== 'upsert'
        ? undefined
        : keepJson || cellBytes !== undefined
          ? toContact(change, lookup)
          : checkContact(change, lookup);
    if (built !== undefined && !built.ok) {
      rejected.push(rejectedOutcome(change.profileId, built.code, built.message, built.field));
      return;
    }
    const group = change.kind === 'upsert' ? groupFor(change, built?.clears === true) : DELETE_GROUP;
    const gathering = gatherings[group];
    const key = emailKey(change.identity);
    const before = sent.get(key);
    if (before !== undefined) {
      shared = true;
      sent.delete(key);
      gatherings[groupOf[before] as number]?.json?.delete(before);
    }
    sent.set(key, at);
    groupOf[at] = group;
    if (built === undefined || gathering === undefined || change.kind !== 'upsert') {
      flags[at] = VALID;
      return;
    }
    flags[at] = (change.lists?.remove?.length ?? 0) > 0 ? VALID | REMOVES : VALID;
    if (shapeOf !== undefined) {
      shapeOf[at] = shapeFor('contact' in built ? contactColumns(built.contact) : built.columns);
    }
    if ('contact' in built) {
      gathering.json?.set(at, { json: JSON.stringify(built.contact), profileId: change.profileId });
      if (cellBytes !== undefined) cellBytes[at] = csvCellBytes(built.contact);
    }
  };

  const visit = (change: ProfileChange, at: number): Promise<void> | undefined => {
    const resolving = change.kind === 'upsert' ? noteNames(change) : undefined;
    if (resolving === undefined) {
      validate(change, at);
      return undefined;
    }
    return resolving.then(() => validate(change, at));
  };

  /** Marks the changes sent and tallies their groups, in the order of those changes. */
  const finish = (): Omit<Collapsed, 'lookup' | 'customNameById'> => {
    const tallies: Tally[] = [];
    const ordered: Tally[] = [];
    let deletes = 0;
    let removals = false;
    for (const at of sent.values()) {
      flags[at] = (flags[at] as number) | SENT;
      const id = groupOf[at] as number;
      if (id === DELETE_GROUP) {
        deletes += 1;
        continue;
      }
      if (((flags[at] as number) & REMOVES) !== 0) removals = true;
      let tally = tallies[id];
      if (tally === undefined) {
        const gathering = gatherings[id];
        tally = {
          id,
          listIds: gathering?.listIds ?? [],
          clears: gathering?.clears === true,
          count: 0,
          shapes: new Set(),
          cellBytes: 0,
        };
        tallies[id] = tally;
        ordered.push(tally);
      }
      tally.count += 1;
      if (shapeOf !== undefined) tally.shapes.add(shapeOf[at] as number);
      if (cellBytes !== undefined) tally.cellBytes += cellBytes[at] as number;
    }
    // Groups that clear go last (see `UpsertGroup.clears`); the others keep their order.
    const sorted = [...ordered.filter((tally) => !tally.clears), ...ordered.filter((tally) => tally.clears)];
    const groups = sorted.map(({ shapes: used, ...tally }): UpsertGroup => {
      const columnSet = new Set<string>();
      for (const shape of used) for (const column of shapes[shape] ?? []) columnSet.add(column);
      columnSet.delete('email');
      return { ...tally, columns: ['email', ...[...columnSet].sort()], json: gatherings[tally.id]?.json };
    });
    return { rejected, flags, shared, groupOf, groups, deletes, removals };
  };

  return { visit, finish };
};

/**
 * Reads the batch once (twice in one rare case: a custom field that a fresh fetch of the definitions
 * shows was recreated since they were cached, so the changes validated before must be again).
 * Throws a ConfigError for a mapping no profile can be sent with, as before anything is sent.
 */
export const collapseBatch = async (ctx: SendgridContext, batch: ProfileBatch): Promise<Collapsed> => {
  const resolver = customFieldResolver(ctx);
  const names: FieldNames = { custom: new Set(), readOnly: new Set() };
  for (;;) {
    const read = reading(ctx, batch.length, resolver, names);
    await readBatch(ctx, batch, read.visit);
    const { readOnly } = names;
    if (readOnly.size > 0) {
      throw new ConfigError(
        ctx.destination,
        `${[...readOnly].join(', ')} ${readOnly.size === 1 ? 'is' : 'are'} maintained by SendGrid and cannot be mapped`,
      );
    }
    const absent = resolver.missing(names.custom);
    if (absent.length > 0) throw missingFieldsError(ctx, absent);
    if (resolver.takeRedefined()) continue;

    const customNameById = new Map<string, string>();
    for (const name of names.custom) {
      const found = resolver.lookup(name);
      if (found !== undefined) customNameById.set(found.id, name);
    }
    return { ...read.finish(), lookup: resolver.lookup, customNameById };
  }
};
