import { type ExportResult, PermanentError, type ProfileBatch, type ProfileOutcome } from '@ferry/core';
import type { SendgridContext } from './client.ts';
import {
  batchChanged,
  type Collapsed,
  collapseBatch,
  DELETE_GROUP,
  readBatch,
  rejectedOutcome,
  SENT,
  type UpsertGroup,
  VALID,
} from './collapse.ts';
import { isPlausibleEmail } from './fields.ts';
import { MAX_JOBS_PER_HANDLE, type SendgridHandle, toHandle } from './handle.ts';
import { csvValues, emailKey, jsonEnvelope, toContact, type WireContact } from './mapping.ts';
import { deleteContacts, searchContactIds, upsertContacts } from './operations/contacts.ts';
import { getFieldDefinitions } from './operations/field-definitions.ts';
import {
  columnFieldIds,
  csvHeader,
  type GzipCsvSink,
  gzipCsvSink,
  importCsv,
  plainCsvBody,
  type UploadBody,
} from './operations/imports.ts';
import { removeFromList } from './operations/lists.ts';

/**
 * exportProfiles, step by step: validate and collapse the batch (collapse.ts, the first reading),
 * plan the SendGrid calls so the handle stays small, encode what goes out (the second reading, when
 * needed), then make the calls. Nothing here waits for a job.
 *
 * The batch is streamed from the runner's store and may be read more than once, each time the same.
 * A CSV import of 100,000 profiles must hold neither them nor their rows, so it is read twice: once
 * to learn which change is sent per e-mail and how, once to encode those into the gzip file as they
 * come; in between, a few numbers per profile are kept. The JSON path (≤ 30,000 profiles and 6 MB a
 * request) keeps the JSON of the contacts it sends from the first reading instead, which its bodies
 * hold anyway, and reads again only to gather deletes, list removals or members sharing an e-mail.
 *
 * Decisions (README "Capabilities and limits"):
 * - Per e-mail, the last valid change of the batch is the one sent (see `Collapsed.flags`).
 * - A contact that clears a field goes as JSON, even with `csv` (or `auto` over one request's size):
 *   an empty CSV cell leaves a field as it is (collapse.ts groups them apart, after the others).
 * - `list_ids` is per request, so upserts are grouped by the lists they add: one request (or
 *   import) per group, usually one in all.
 * - Deletes go in the same job: e-mails → contact ids (search/emails, 100 per call), then
 *   `DELETE /v3/marketing/contacts?ids=` per `deleteIdsPerRequest` ids, each a job of the handle.
 * - A batch needing more SendGrid jobs than a handle holds (80) defers the rest: those profiles come
 *   back as `retryable` (code `deferred`) for the runner to send in a later job.
 */

type Path = 'json' | 'csv';

/** What is kept of an e-mail sent as JSON: the members sharing its outcome and the lists it leaves. */
interface Entry {
  /** The e-mail key, when it leaves lists (else empty). */
  readonly key: string;
  readonly profileIds: readonly string[];
  readonly remove: readonly string[] | undefined;
}

interface DeleteEntry {
  readonly identity: string;
  readonly profileIds: readonly string[];
}

interface JsonBody {
  readonly body: string;
  readonly entries: readonly Entry[];
}

/**
 * JSON bodies of a group, filled as its contacts come (as JSON text), each within the JSON limits and
 * measured exactly (custom fields keyed by id, as sent). A contact too large for any body is `oversized`.
 */
const jsonBodies = (ctx: SendgridContext, listIds: readonly string[]) => {
  const { maxProfilesPerJob, maxBytesPerJob } = ctx.options.json;
  const { head, tail } = jsonEnvelope(listIds);
  const fixed = Buffer.byteLength(head + tail, 'utf8');
  const bodies: JsonBody[] = [];
  const oversized: { readonly entry: Entry; readonly bytes: number }[] = [];
  let parts: string[] = [];
  let entries: Entry[] = [];
  let bytes = fixed;
  const close = () => {
    if (parts.length > 0) bodies.push({ body: `${head}${parts.join(',')}${tail}`, entries });
    parts = [];
    entries = [];
    bytes = fixed;
  };
  return {
    add: (json: string, entry: Entry): void => {
      const size = Buffer.byteLength(json, 'utf8');
      if (fixed + size > maxBytesPerJob) {
        oversized.push({ entry, bytes: size });
        return;
      }
      const added = size + (parts.length > 0 ? 1 : 0);
      if (parts.length >= maxProfilesPerJob || bytes + added > maxBytesPerJob) close();
      bytes += size + (parts.length > 0 ? 1 : 0);
      parts.push(json);
      entries.push(entry);
    },
    finish: () => {
      close();
      return { bodies, oversized, limit: maxBytesPerJob - fixed };
    },
  };
};

/**
 * The path of a group: `auto` sends one that fits one JSON request (all of it in one body) as JSON,
 * else as a CSV import. `undecided`: its JSON was not kept (see `UpsertGroup.json`), so the second
 * reading encodes it both ways and the JSON bodies tell.
 */
const pathOf = (ctx: SendgridContext, group: UpsertGroup): Path | 'undecided' => {
  // Only JSON clears a field (an empty CSV cell leaves it as it is).
  if (group.clears) return 'json';
  const { submission } = ctx.options;
  if (submission !== 'auto') return submission;
  const { maxProfilesPerJob, maxBytesPerJob } = ctx.options.json;
  if (group.count > maxProfilesPerJob) return 'csv';
  if (group.json === undefined) return 'undecided';
  const { head, tail } = jsonEnvelope(group.listIds);
  // The envelope, every contact, and a comma between each two: what `jsonBodies` would fill.
  let bytes = Buffer.byteLength(head + tail, 'utf8') + group.count - 1;
  for (const { json } of group.json.values()) bytes += Buffer.byteLength(json, 'utf8');
  return bytes <= maxBytesPerJob ? 'json' : 'csv';
};

/** How one group goes out, and what the second reading gathers for it. */
interface GroupWork {
  readonly group: UpsertGroup;
  /**
   * With `csv` and `auto` every group is one SendGrid job (but those that clear, which come last and
   * may be several JSON bodies), so the groups past the handle's budget are known before encoding:
   * their profiles are only gathered, to be deferred.
   */
  readonly deferred: boolean;
  readonly deferredIds: string[];
  /** JSON bodies, when the group goes (or may go) as JSON. */
  readonly json: ReturnType<typeof jsonBodies> | undefined;
  /** Whether the group goes (or may go) as a CSV import. */
  readonly csv: boolean;
  /** A gzip CSV import's file, filled by the second reading. */
  readonly sink: GzipCsvSink | undefined;
  /** CSV: list id → e-mail keys leaving it, in order. */
  readonly removals: Map<string, Set<string>>;
}

const planGroups = (ctx: SendgridContext, collapsed: Collapsed): GroupWork[] =>
  collapsed.groups.map((group, position) => {
    const deferred = ctx.options.submission !== 'json' && position >= MAX_JOBS_PER_HANDLE;
    const path = deferred ? undefined : pathOf(ctx, group);
    const csv = path === 'csv' || path === 'undecided';
    return {
      group,
      deferred,
      deferredIds: [],
      json: path === 'json' || path === 'undecided' ? jsonBodies(ctx, group.listIds) : undefined,
      csv,
      sink:
        csv && ctx.options.csv.gzip
          ? gzipCsvSink(csvHeader(group.columns, collapsed.customNameById))
          : undefined,
      removals: new Map(),
    };
  });

const addRemoval = (removals: Map<string, Set<string>>, listId: string, key: string): void => {
  const set = removals.get(listId) ?? new Set<string>();
  set.add(key);
  removals.set(listId, set);
};

/**
 * The second reading: the sent changes encoded into their group's JSON bodies or gzip file, and the
 * members sharing each e-mail gathered (they come before the change sent for it). An uncompressed
 * file is encoded while it is uploaded instead (`plainRows`).
 */
const encodeBatch = async (
  ctx: SendgridContext,
  batch: ProfileBatch,
  collapsed: Collapsed,
  works: readonly GroupWork[],
): Promise<DeleteEntry[]> => {
  const deletes: DeleteEntry[] = [];
  const byId: GroupWork[] = [];
  for (const work of works) byId[work.group.id] = work;
  // Members sharing an e-mail sent later: only with duplicates, and only until that change comes.
  const earlier = new Map<string, string[]>();
  const { flags, groupOf, lookup, shared } = collapsed;
  await readBatch(ctx, batch, (change, at) => {
    const flag = flags[at] as number;
    if ((flag & VALID) === 0) return undefined;
    if ((flag & SENT) === 0) {
      const key = emailKey(change.identity);
      const ids = earlier.get(key);
      if (ids === undefined) earlier.set(key, [change.profileId]);
      else ids.push(change.profileId);
      return undefined;
    }
    const key = shared ? emailKey(change.identity) : '';
    const sharing = shared ? earlier.get(key) : undefined;
    if (sharing !== undefined) earlier.delete(key);
    const profileIds = sharing === undefined ? [change.profileId] : [...sharing, change.profileId];
    const work = byId[groupOf[at] as number];
    if (change.kind === 'delete' && groupOf[at] === DELETE_GROUP) {
      deletes.push({ identity: change.identity, profileIds });
      return undefined;
    }
    if (change.kind !== 'upsert' || work === undefined) throw batchChanged(ctx);
    if (work.deferred) {
      work.deferredIds.push(...profileIds);
      return undefined;
    }
    // JSON kept by the first reading is used as it is; else the contact is built again, as it is
    // for a gzip file (an uncompressed one is encoded while uploading, see `plainRows`).
    const held = work.json === undefined ? undefined : work.group.json?.get(at);
    let contact: WireContact | undefined;
    if ((work.json !== undefined && held === undefined) || work.sink !== undefined) {
      const built = toContact(change, lookup);
      if (!built.ok) throw batchChanged(ctx);
      contact = built.contact;
    }
    const remove = change.lists?.remove;
    const removes = remove !== undefined && remove.length > 0;
    const removing = removes ? emailKey(change.identity) : '';
    const entry: Entry = { key: removing, profileIds, remove: removes ? remove : undefined };
    if (work.json !== undefined) work.json.add(held?.json ?? JSON.stringify(contact), entry);
    if (!work.csv) return undefined;
    if (removes) for (const listId of remove) addRemoval(work.removals, listId, removing);
    return work.sink !== undefined && contact !== undefined
      ? work.sink.push(csvValues(contact, work.group.columns))
      : undefined;
  });
  // Every member sharing an e-mail came before the change sent for it.
  if (earlier.size > 0) throw batchChanged(ctx);
  return deletes;
};

/** An uncompressed CSV file's rows, read from the batch again for every attempt of the upload. */
async function* plainRows(
  ctx: SendgridContext,
  batch: ProfileBatch,
  collapsed: Collapsed,
  group: UpsertGroup,
): AsyncGenerator<string[]> {
  const { flags, groupOf, lookup } = collapsed;
  let index = 0;
  for await (const change of batch) {
    if (index >= batch.length) throw batchChanged(ctx);
    const at = index;
    index += 1;
    if (((flags[at] as number) & SENT) === 0 || groupOf[at] !== group.id) continue;
    const built = change.kind === 'upsert' ? toContact(change, lookup) : undefined;
    if (built === undefined || !built.ok) throw batchChanged(ctx);
    yield csvValues(built.contact, group.columns);
  }
  if (index !== batch.length) throw batchChanged(ctx);
}

/** One planned SendGrid job of upserts, or the profiles of one that does not fit the handle. */
type UpsertUnit =
  | { readonly path: 'json'; readonly body: string; readonly entries: readonly Entry[] }
  | { readonly path: 'csv'; readonly work: GroupWork; readonly body: UploadBody }
  | { readonly path: 'deferred'; readonly profileIds: readonly string[] };

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

/** Sends one CSV import for a group; its file was encoded before. */
const sendCsv = async (
  ctx: SendgridContext,
  unit: Extract<UpsertUnit, { path: 'csv' }>,
  customNameById: ReadonlyMap<string, string>,
): Promise<string> => {
  const { group } = unit.work;
  const definitions = await getFieldDefinitions(ctx);
  const fieldIds = columnFieldIds(ctx, group.columns, definitions, customNameById);
  return importCsv(ctx, { fieldIds, listIds: group.listIds, body: unit.body, rows: group.count });
};

export const exportBatch = async (ctx: SendgridContext, batch: ProfileBatch): Promise<ExportResult> => {
  if (batch.length === 0) return { job: null, rejected: [] };
  const collapsed = await collapseBatch(ctx, batch);
  const rejected: ProfileOutcome[] = collapsed.rejected;
  const works = planGroups(ctx, collapsed);

  // The upsert units in group order: JSON bodies, CSV files, or profiles to defer.
  const units: UpsertUnit[] = [];
  let deletes: DeleteEntry[] = [];
  try {
    // A second reading encodes gzip files, and gathers deletes, list removals, deferred profiles and
    // the members sharing an e-mail. JSON kept by the first one is enough when there is none of these.
    const rereads =
      collapsed.deletes > 0 ||
      collapsed.removals ||
      works.some(
        (work) =>
          work.deferred ||
          work.sink !== undefined ||
          (work.json !== undefined && (collapsed.shared || work.group.json === undefined)),
      );
    if (rereads) deletes = await encodeBatch(ctx, batch, collapsed, works);
    else {
      for (const { json, group } of works) {
        for (const held of group.json?.values() ?? [])
          json?.add(held.json, { key: '', profileIds: [held.profileId], remove: undefined });
      }
    }
    for (const work of works) {
      if (work.deferred) {
        units.push({ path: 'deferred', profileIds: work.deferredIds });
        continue;
      }
      const built = work.json?.finish();
      // The bodies hold the kept JSON now.
      work.group.json?.clear();
      // `undecided` (both ways encoded): JSON when it all fits one request.
      if (built !== undefined && (!work.csv || (built.bodies.length === 1 && built.oversized.length === 0))) {
        for (const { entry, bytes } of built.oversized) {
          for (const profileId of entry.profileIds) {
            rejected.push(
              rejectedOutcome(
                profileId,
                'oversized',
                `the contact is ${bytes} bytes of JSON; at most ${built.limit} fit a request`,
              ),
            );
          }
        }
        for (const body of built.bodies) units.push({ path: 'json', ...body });
        continue;
      }
      const body =
        work.sink === undefined
          ? plainCsvBody(
              ctx,
              csvHeader(work.group.columns, collapsed.customNameById),
              () => plainRows(ctx, batch, collapsed, work.group),
              work.group,
            )
          : await work.sink.finish();
      units.push({ path: 'csv', work, body });
    }
  } finally {
    // Files of a submission that failed while encoding are dropped (no-op for finished ones).
    for (const work of works) work.sink?.abort();
  }

  // The handle budget: upsert jobs first (in batch order), then delete calls.
  let room = MAX_JOBS_PER_HANDLE;
  const sent: Exclude<UpsertUnit, { path: 'deferred' }>[] = [];
  for (const unit of units) {
    if (unit.path !== 'deferred' && room > 0) {
      sent.push(unit);
      room -= 1;
      continue;
    }
    // Past the budget: JSON bodies (`json` may split a group, and so may one that clears), and the
    // groups planned as deferred (`csv` and `auto` make one job per group and put the groups that
    // clear last, so a CSV import always has room here).
    if (unit.path === 'csv') {
      // Its profiles are not listed here, so deferring it would lose them: refused, as a bug.
      throw new PermanentError(ctx.destination, 'a CSV import did not fit the job handle (a bug)', {
        code: 'plan_error',
      });
    }
    const profileIds =
      unit.path === 'deferred' ? unit.profileIds : unit.entries.flatMap((entry) => entry.profileIds);
    for (const id of profileIds) rejected.push(deferred(id));
  }
  const deleteCapacity = room * ctx.options.deleteIdsPerRequest;
  // Addresses SendGrid cannot hold need no lookup: their contacts do not exist.
  const searchable = deletes.filter((entry) => isPlausibleEmail(entry.identity));
  for (const entry of searchable.slice(deleteCapacity))
    for (const id of entry.profileIds) rejected.push(deferred(id));
  const toDelete = searchable.slice(0, deleteCapacity);

  // Every profile rejected or deferred: nothing to send.
  const deferredDeletes = searchable.length - toDelete.length;
  if (sent.length === 0 && deletes.length === deferredDeletes) return { job: null, rejected };

  const handle: SendgridHandle = { v: 1, path: 'none', upserts: [], deletes: [] };
  const paths = new Set<Path>();
  for (const unit of sent) {
    const jobId =
      unit.path === 'json'
        ? await upsertContacts(ctx, unit.body)
        : await sendCsv(ctx, unit, collapsed.customNameById);
    handle.upserts.push(jobId);
    paths.add(unit.path);
  }
  handle.path = paths.size === 0 ? 'none' : paths.size === 2 ? 'mixed' : paths.has('csv') ? 'csv' : 'json';

  // List removals of the upserts that went out; their contacts are found like deletes are.
  const removals = new Map<string, Set<string>>();
  for (const unit of sent) {
    if (unit.path === 'json') {
      for (const entry of unit.entries)
        for (const listId of entry.remove ?? []) addRemoval(removals, listId, entry.key);
    } else {
      for (const [listId, keys] of unit.work.removals)
        for (const key of keys) addRemoval(removals, listId, key);
    }
  }
  const lookups = [
    ...toDelete.map((entry) => entry.identity),
    ...[...removals.values()].flatMap((set) => [...set]),
  ];
  if (lookups.length > 0) {
    const ids = await searchContactIds(ctx, lookups);
    const deleteIds = [...new Set(toDelete.flatMap((entry) => ids.get(emailKey(entry.identity)) ?? []))];
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
