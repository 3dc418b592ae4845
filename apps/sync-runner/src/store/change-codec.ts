import type { Fields, FieldValue, ListChanges, ProfileChange, UpsertChange } from '@ferry/core';
import type { ChangeOp } from './schema.ts';
import type { PlannedMember } from './state-store.ts';

/*
 * Changes are stored as JSON so a job can be resubmitted after a restart without the source. Dates
 * are tagged rather than left as ISO strings: a plugin may format a `Date` field differently from a
 * string, and a resubmission must send exactly what the first submission sent.
 */

interface StoredUpsert {
  readonly fields: Record<string, FieldValue | { readonly $date: string }>;
  readonly lists?: ListChanges;
}

const storedUpsert = (change: UpsertChange): StoredUpsert => {
  // Only dates need a stored form; most changes have a few, so the fields object is copied only
  // when one is found (this runs for every planned profile).
  let fields: StoredUpsert['fields'] | undefined;
  for (const name in change.fields) {
    const value = change.fields[name];
    if (value instanceof Date) {
      fields ??= { ...change.fields } as StoredUpsert['fields'];
      fields[name] = { $date: value.toISOString() };
    }
  }
  const stored = fields ?? (change.fields as StoredUpsert['fields']);
  return change.lists === undefined ? { fields: stored } : { fields: stored, lists: change.lists };
};

export const encodeChange = (change: ProfileChange): string | null =>
  change.kind === 'delete' ? null : JSON.stringify(storedUpsert(change));

const fromStored = (
  profileId: string,
  identity: string,
  op: ChangeOp,
  stored: StoredUpsert | null,
): ProfileChange => {
  if (op === 'delete') return { kind: 'delete', profileId, identity };
  if (stored === null)
    throw new Error(`[ferry] state store: upsert of profile ${profileId} has no stored change`);
  // The parsed object is fresh and ours (JSON.parse makes every key an own data property, even
  // `__proto__`), so tagged dates are turned back into Dates in place rather than copied.
  const fields = stored.fields as Record<string, FieldValue | { readonly $date: string }>;
  for (const name in fields) {
    const value = fields[name];
    if (value !== null && typeof value === 'object')
      fields[name] = new Date((value as { $date: string }).$date);
  }
  const base = { kind: 'upsert' as const, profileId, identity, fields: fields as Fields };
  return stored.lists === undefined ? base : { ...base, lists: stored.lists };
};

export const decodeChange = (row: {
  readonly profile_id: string;
  readonly identity: string;
  readonly op: ChangeOp;
  readonly change: string | null;
}): ProfileChange =>
  fromStored(
    row.profile_id,
    row.identity,
    row.op,
    row.change === null ? null : (JSON.parse(row.change) as StoredUpsert),
  );

/** One job member as stored in a page: `[profileId, identity, op, fingerprint, attempts, change]`. */
type StoredMember = readonly [string, string, ChangeOp, string | null, number, StoredUpsert | null];

/** A page of members as the text of `job_members.members`. */
export const encodeMembers = (members: readonly PlannedMember[]): string => {
  const stored: StoredMember[] = members.map(({ change, fingerprint, attempts }) => [
    change.profileId,
    change.identity,
    change.kind,
    fingerprint,
    attempts,
    change.kind === 'delete' ? null : storedUpsert(change),
  ]);
  return JSON.stringify(stored);
};

/** Only the ids and identities of a page: what `checkStatus` maps results through. */
export const decodeMemberIds = (text: string): { profileId: string; identity: string }[] =>
  (JSON.parse(text) as StoredMember[]).map(([profileId, identity]) => ({ profileId, identity }));

export const decodeMembers = (text: string): PlannedMember[] =>
  (JSON.parse(text) as StoredMember[]).map(([profileId, identity, op, fingerprint, attempts, stored]) => ({
    change: fromStored(profileId, identity, op, stored),
    fingerprint,
    attempts,
  }));
