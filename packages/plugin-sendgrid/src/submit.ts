import {
  ConfigError,
  type ExportResult,
  type ProfileChange,
  type ProfileOutcome,
  type UpsertChange,
} from '@ferry/core';
import type { SendgridContext } from './client.ts';
import { MAX_JOBS_PER_HANDLE, type SendgridHandle, toHandle } from './handle.ts';
import {
  type CustomFieldLookup,
  checkIdentity,
  csvValues,
  emailKey,
  fieldKind,
  isPlausibleEmail,
  jsonEnvelope,
  ownListIds,
  SEARCH_EMAIL_MAX_LENGTH,
  toContact,
  type WireContact,
} from './mapping.ts';
import { deleteContacts, searchContactIds, upsertContacts } from './operations/contacts.ts';
import { getFieldDefinitions, resolveCustomFields } from './operations/field-definitions.ts';
import { columnFieldIds, importCsv } from './operations/imports.ts';
import { removeFromList } from './operations/lists.ts';

/**
 * exportProfiles, step by step: validate and collapse the batch, plan the SendGrid calls so the
 * handle stays small, then make them. Nothing here waits for a job.
 *
 * Decisions (README "Capabilities and limits"):
 * - Per e-mail, the last change of the batch is the one sent (SendGrid keeps the last anyway, and a
 *   delete after an upsert must win); earlier changes of that e-mail stay members and share its
 *   outcome, since their values are not what SendGrid ends up holding.
 * - `list_ids` is per request, so upserts are grouped by the lists they add: one request (or
 *   import) per group, usually one in all.
 * - Deletes go in the same job: e-mails → contact ids (search/emails, 100 per call), then
 *   `DELETE /v3/marketing/contacts?ids=` per `deleteIdsPerRequest` ids, each a job of the handle.
 * - A batch needing more SendGrid jobs than a handle holds (80) defers the rest: those profiles come
 *   back as `retryable` (code `deferred`) for the runner to send in a later job.
 */

type Path = 'json' | 'csv';

interface Entry {
  readonly change: ProfileChange;
  readonly contact: WireContact | undefined;
  /** This change's and the earlier changes' of the same e-mail (members sharing the outcome). */
  readonly profileIds: readonly string[];
}

interface UpsertGroup {
  readonly listIds: readonly string[];
  readonly entries: Entry[];
}

/** One planned SendGrid job of upserts. */
type UpsertUnit =
  | { readonly path: 'json'; readonly body: string; readonly entries: readonly Entry[] }
  | { readonly path: 'csv'; readonly listIds: readonly string[]; readonly entries: readonly Entry[] };

const rejectedOutcome = (
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

/** Custom field names the batch maps; a read-only reserved field is a mapping error. */
const customFieldNames = (ctx: SendgridContext, batch: readonly ProfileChange[]): Set<string> => {
  const names = new Set<string>();
  const readOnly = new Set<string>();
  for (const change of batch) {
    if (change.kind !== 'upsert') continue;
    for (const name of Object.keys(change.fields)) {
      const kind = fieldKind(name);
      if (kind === 'custom') names.add(name);
      else if (kind === 'read_only') readOnly.add(name);
    }
  }
  if (readOnly.size > 0) {
    throw new ConfigError(
      ctx.destination,
      `${[...readOnly].join(', ')} ${readOnly.size === 1 ? 'is' : 'are'} maintained by SendGrid and cannot be mapped`,
    );
  }
  return names;
};

/** Validates every change and keeps the last valid one per e-mail, in the order of those last ones. */
const collapse = (
  batch: readonly ProfileChange[],
  lookup: CustomFieldLookup,
  rejected: ProfileOutcome[],
): Entry[] => {
  const latest = new Map<string, Entry>();
  for (const change of batch) {
    const issue = change.kind === 'upsert' ? checkIdentity(change) : deleteIssue(change.identity);
    if (issue !== undefined) {
      rejected.push(rejectedOutcome(change.profileId, issue.code, issue.message, issue.field));
      continue;
    }
    let contact: WireContact | undefined;
    if (change.kind === 'upsert') {
      const built = toContact(change, lookup);
      if (!built.ok) {
        rejected.push(rejectedOutcome(change.profileId, built.code, built.message, built.field));
        continue;
      }
      contact = built.contact;
    }
    const key = emailKey(change.identity);
    const earlier = latest.get(key);
    const profileIds = earlier === undefined ? [change.profileId] : [...earlier.profileIds, change.profileId];
    // Re-inserted so that the map's order is the order of each e-mail's last change.
    if (earlier !== undefined) latest.delete(key);
    latest.set(key, { change, contact, profileIds });
  }
  return [...latest.values()];
};

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

const groupUpserts = (ctx: SendgridContext, entries: readonly Entry[]): UpsertGroup[] => {
  const groups = new Map<string, UpsertGroup>();
  for (const entry of entries) {
    if (entry.change.kind !== 'upsert') continue;
    const own = ownListIds(entry.change as UpsertChange, ctx.options);
    const key = own.join(',');
    let group = groups.get(key);
    if (group === undefined) {
      group = { listIds: [...ctx.options.listIds, ...own], entries: [] };
      groups.set(key, group);
    }
    group.entries.push(entry);
  }
  return [...groups.values()];
};

/**
 * JSON bodies for a group, each within the JSON limits, measured exactly (custom fields keyed by id,
 * as sent). A contact too large for any body goes to `oversized` instead.
 */
const jsonBodies = (
  ctx: SendgridContext,
  group: UpsertGroup,
  oversized: (entry: Entry, bytes: number, limit: number) => void,
): { body: string; entries: Entry[] }[] => {
  const { maxProfilesPerJob, maxBytesPerJob } = ctx.options.json;
  const { head, tail } = jsonEnvelope(group.listIds);
  const fixed = Buffer.byteLength(head + tail, 'utf8');
  const bodies: { body: string; entries: Entry[] }[] = [];
  let parts: string[] = [];
  let entries: Entry[] = [];
  let bytes = fixed;
  const close = () => {
    if (parts.length > 0) bodies.push({ body: `${head}${parts.join(',')}${tail}`, entries });
    parts = [];
    entries = [];
    bytes = fixed;
  };
  for (const entry of group.entries) {
    const json = JSON.stringify(entry.contact);
    const size = Buffer.byteLength(json, 'utf8');
    if (fixed + size > maxBytesPerJob) {
      oversized(entry, size, maxBytesPerJob - fixed);
      continue;
    }
    const added = size + (parts.length > 0 ? 1 : 0);
    if (parts.length >= maxProfilesPerJob || bytes + added > maxBytesPerJob) close();
    bytes += size + (parts.length > 0 ? 1 : 0);
    parts.push(json);
    entries.push(entry);
  }
  close();
  return bodies;
};

/** Picks the path of each group (see `submission` in options.ts) and lays out its SendGrid jobs. */
const planUpserts = (
  ctx: SendgridContext,
  groups: readonly UpsertGroup[],
  rejected: ProfileOutcome[],
): UpsertUnit[] => {
  const units: UpsertUnit[] = [];
  const oversized = (entry: Entry, bytes: number, limit: number) => {
    for (const profileId of entry.profileIds) {
      rejected.push(
        rejectedOutcome(
          profileId,
          'oversized',
          `the contact is ${bytes} bytes of JSON; at most ${limit} fit a request`,
        ),
      );
    }
  };
  const { submission, json } = ctx.options;
  for (const group of groups) {
    if (submission === 'csv') {
      units.push({ path: 'csv', listIds: group.listIds, entries: group.entries });
      continue;
    }
    if (submission === 'auto' && group.entries.length > json.maxProfilesPerJob) {
      units.push({ path: 'csv', listIds: group.listIds, entries: group.entries });
      continue;
    }
    const skipped: Entry[] = [];
    const bodies = jsonBodies(ctx, group, (entry, bytes, limit) => {
      if (submission === 'json') oversized(entry, bytes, limit);
      else skipped.push(entry);
    });
    if (submission === 'auto' && (bodies.length > 1 || skipped.length > 0)) {
      units.push({ path: 'csv', listIds: group.listIds, entries: group.entries });
      continue;
    }
    for (const body of bodies) units.push({ path: 'json', ...body });
  }
  return units;
};

const deferred = (profileId: string): ProfileOutcome => ({
  profileId,
  status: 'retryable',
  code: 'deferred',
  message: `the job already holds ${MAX_JOBS_PER_HANDLE} SendGrid jobs; this profile goes in a later one`,
  retryAfterMs: 0,
});

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const chunks: T[][] = [];
  for (let at = 0; at < items.length; at += size) chunks.push(items.slice(at, at + size));
  return chunks;
};

/** Sends one CSV import for a group: columns are the union of its contacts' fields. */
const sendCsv = async (
  ctx: SendgridContext,
  unit: Extract<UpsertUnit, { path: 'csv' }>,
  customNameById: ReadonlyMap<string, string>,
): Promise<string> => {
  const columnSet = new Set<string>();
  for (const entry of unit.entries) {
    const contact = entry.contact as WireContact;
    for (const key in contact) if (key !== 'custom_fields') columnSet.add(key);
    for (const key in contact.custom_fields) columnSet.add(key);
  }
  columnSet.delete('email');
  const columns = ['email', ...[...columnSet].sort()];
  const definitions = await getFieldDefinitions(ctx);
  const { header, fieldIds } = columnFieldIds(ctx, columns, definitions, customNameById);
  const rows = unit.entries.map((entry) => csvValues(entry.contact as WireContact, columns));
  return importCsv(ctx, { header, fieldIds, rows, listIds: unit.listIds });
};

export const exportBatch = async (
  ctx: SendgridContext,
  batch: readonly ProfileChange[],
): Promise<ExportResult> => {
  if (batch.length === 0) return { job: null, rejected: [] };
  const rejected: ProfileOutcome[] = [];

  const names = customFieldNames(ctx, batch);
  const lookup: CustomFieldLookup = names.size > 0 ? await resolveCustomFields(ctx, names) : () => undefined;
  const customNameById = new Map<string, string>();
  for (const name of names) {
    const found = lookup(name);
    if (found !== undefined) customNameById.set(found.id, name);
  }

  const entries = collapse(batch, lookup, rejected);
  const units = planUpserts(ctx, groupUpserts(ctx, entries), rejected);
  const deletes = entries.filter((entry) => entry.change.kind === 'delete');

  // The handle budget: upsert jobs first (in batch order), then delete calls.
  let room = MAX_JOBS_PER_HANDLE;
  const sent: UpsertUnit[] = [];
  for (const unit of units) {
    if (room > 0) {
      sent.push(unit);
      room -= 1;
    } else {
      for (const entry of unit.entries) for (const id of entry.profileIds) rejected.push(deferred(id));
    }
  }
  const deleteCapacity = room * ctx.options.deleteIdsPerRequest;
  // Addresses SendGrid cannot hold need no lookup: their contacts do not exist.
  const searchable = deletes.filter((entry) => isPlausibleEmail(entry.change.identity));
  for (const entry of searchable.slice(deleteCapacity))
    for (const id of entry.profileIds) rejected.push(deferred(id));
  const toDelete = searchable.slice(0, deleteCapacity);

  const handled = new Set(rejected.map((outcome) => outcome.profileId));
  if (batch.every((change) => handled.has(change.profileId))) return { job: null, rejected };

  const handle: SendgridHandle = { v: 1, path: 'none', upserts: [], deletes: [] };
  const paths = new Set<Path>();
  for (const unit of sent) {
    const jobId =
      unit.path === 'json' ? await upsertContacts(ctx, unit.body) : await sendCsv(ctx, unit, customNameById);
    handle.upserts.push(jobId);
    paths.add(unit.path);
  }
  handle.path = paths.size === 0 ? 'none' : paths.size === 2 ? 'mixed' : paths.has('csv') ? 'csv' : 'json';

  // List removals of the upserts that went out; their contacts are found like deletes are.
  const removals = new Map<string, Set<string>>();
  for (const unit of sent) {
    for (const entry of unit.entries) {
      const change = entry.change as UpsertChange;
      for (const listId of change.lists?.remove ?? []) {
        const set = removals.get(listId) ?? new Set<string>();
        set.add(emailKey(change.identity));
        removals.set(listId, set);
      }
    }
  }
  const lookups = [
    ...toDelete.map((entry) => entry.change.identity),
    ...[...removals.values()].flatMap((set) => [...set]),
  ];
  if (lookups.length > 0) {
    const ids = await searchContactIds(ctx, lookups);
    const deleteIds = [
      ...new Set(toDelete.flatMap((entry) => ids.get(emailKey(entry.change.identity)) ?? [])),
    ];
    for (const part of chunk(deleteIds, ctx.options.deleteIdsPerRequest)) {
      handle.deletes.push(await deleteContacts(ctx, part));
    }
    for (const [listId, emails] of removals) {
      const contactIds = [...emails].flatMap((email) => ids.get(email) ?? []);
      for (const part of chunk(contactIds, ctx.options.deleteIdsPerRequest))
        await removeFromList(ctx, listId, part);
    }
  }

  ctx.logger.debug('sendgrid job submitted', {
    destination: ctx.destination,
    path: handle.path,
    upsertJobs: handle.upserts.length,
    deleteJobs: handle.deletes.length,
    rejected: rejected.length,
  });
  return { job: toHandle(handle), rejected };
};
