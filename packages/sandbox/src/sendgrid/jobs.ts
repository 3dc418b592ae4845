import { randomUUID } from 'node:crypto';
import { type CommonOptions, jobTimeline } from '../vendor-server.ts';
import type { ListRegistry } from './lists.ts';
import { FIELD_CODE, IDENTIFIERS, mergeRecords, recordGet, recordWithout, unpackRecord } from './record.ts';
import type { ContactStore } from './store.ts';
import type { RowIdentifiers } from './validation.ts';

export type JobStatus = 'pending' | 'completed' | 'errored' | 'failed';

/**
 * One contacts job: a JSON upsert, a CSV import, a delete or a list removal. Its records wait in
 * packed form and reach the store all at once when the job's timeline ends (a timer at
 * `endsAtMs`, and a lazy settle before every read, so what a client reads is consistent with the
 * job status it sees).
 */
export interface Job {
  readonly id: string;
  readonly kind: 'upsert' | 'import' | 'delete' | 'listRemove';
  readonly createdAtMs: number;
  readonly listIds: readonly string[];
  status: JobStatus;
  /** CSV imports: the file has not been uploaded yet (the job stays pending). */
  awaitingUpload: boolean;
  /** When the job finishes; undefined until it is queued. */
  endsAtMs?: number;
  finishedAtMs?: number;
  requested: number;
  /** Packed records still to apply (upsert/import). */
  pending: string[];
  /** Contact ids to delete, or 'all'. */
  deletes?: readonly string[] | 'all';
  /** List removals: contact ids to take off `listIds[0]`. */
  removes?: readonly string[];
  /** Rows of the errors file: packed `[email, phone_number_id, external_id, anonymous_id, message]`. */
  errorRows: string[];
  /** Which identifiers the job's input used (bit i = IDENTIFIERS[i]); picks the errors file columns. */
  identifierMask: number;
  created: number;
  updated: number;
  deleted: number;
  /** List removals: memberships actually removed. */
  removed: number;
  /** Set when the whole job failed (e.g. a CSV whose header does not match field_mappings). */
  failure?: string;
}

/** Rejected contacts; a job that failed as a whole counts every row it was given. */
export const erroredCount = (job: Job): number =>
  job.failure === undefined ? job.errorRows.length : job.requested;

export interface JobQueue {
  readonly create: (kind: Job['kind'], listIds: readonly string[]) => Job;
  readonly reject: (job: Job, identifiers: RowIdentifiers, message: string) => void;
  /** The job's input is complete: start its timeline (and finish it now in zero-delay mode). */
  readonly queue: (job: Job) => void;
  readonly submitDelete: (ids: readonly string[], all: boolean) => Job;
  /** `DELETE /v3/marketing/lists/{id}/contacts`: membership only, applied when the job ends. */
  readonly submitListRemoval: (listId: string, ids: readonly string[]) => Job;
  readonly get: (id: string) => Job | undefined;
  /** Forget a job for good (the `vanish` fault): its unapplied records are dropped. */
  readonly vanish: (id: string) => void;
  /** Applies every job whose time has come, oldest end first. */
  readonly settleDue: (nowMs: number) => void;
  readonly all: () => Iterable<Job>;
  readonly clear: () => void;
}

export const createJobQueue = (input: {
  readonly timing: Pick<CommonOptions, 'startDelayMs' | 'recordsPerSecond'>;
  readonly store: ContactStore;
  readonly lists: ListRegistry;
}): JobQueue => {
  const { store, lists, timing } = input;
  let jobs = new Map<string, Job>();
  /** Queued jobs not yet applied, kept apart so settling does not scan every job ever made. */
  let due: Job[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const reject: JobQueue['reject'] = (job, identifiers, message) => {
    job.errorRows.push(JSON.stringify([...identifiers, message]));
  };

  const applyUpsert = (job: Job, nowMs: number): void => {
    const listIds = job.listIds.filter((id) => lists.get(id) !== undefined);
    const { pending } = job;
    for (let i = 0; i < pending.length; i += 1) {
      const entries = unpackRecord(pending[i] as string);
      // Release each queued record as it lands, so a million-row job does not hold its queue
      // and the grown store at the same time.
      pending[i] = '';
      let match: number | undefined;
      let conflict = false;
      for (const identifier of IDENTIFIERS) {
        const value = recordGet(entries, FIELD_CODE[identifier]);
        if (typeof value !== 'string') continue;
        const slot = store.find(identifier, value);
        if (slot === undefined) continue;
        if (match === undefined) match = slot;
        else if (match !== slot) conflict = true;
      }
      const email = recordGet(entries, FIELD_CODE.email) as string | undefined;
      const fail = (message: string): void =>
        reject(
          job,
          IDENTIFIERS.map((identifier) => {
            const value = recordGet(entries, FIELD_CODE[identifier]);
            return typeof value === 'string' ? value : '';
          }) as unknown as RowIdentifiers,
          message,
        );
      if (conflict) {
        fail('identifiers belong to different existing contacts');
        continue;
      }
      let slot: number;
      const rest = recordWithout(entries, FIELD_CODE.email);
      if (match === undefined) {
        slot = store.put(undefined, email, rest, nowMs);
        job.created += 1;
      } else {
        const existing = store.get(match);
        if (existing === undefined) continue;
        // "In order to update a contact, all of its existing identifiers must be present" [S1].
        const missing = IDENTIFIERS.filter((identifier) => {
          const had =
            identifier === 'email' ? existing.email : recordGet(existing.entries, FIELD_CODE[identifier]);
          return had !== undefined && recordGet(entries, FIELD_CODE[identifier]) !== had;
        });
        if (missing.length > 0) {
          fail(
            `to update a contact all of its existing identifiers must be supplied (missing or different: ${missing.join(', ')})`,
          );
          continue;
        }
        slot = store.put(match, email ?? existing.email, mergeRecords(existing.entries, rest), nowMs);
        job.updated += 1;
      }
      for (const listId of listIds) store.addToList(listId, slot);
    }
    job.pending = [];
  };

  const applyDelete = (job: Job): void => {
    if (job.deletes === 'all') {
      const slots = [...store.slots()];
      job.requested = slots.length;
      for (const slot of slots) if (store.remove(slot)) job.deleted += 1;
    } else {
      // Unknown ids are skipped, not errors: deleting twice must stay harmless (UNVERIFIED).
      for (const id of job.deletes ?? []) {
        const slot = store.indexOfId(id);
        if (slot !== undefined && store.remove(slot)) job.deleted += 1;
      }
    }
  };

  const applyListRemoval = (job: Job): void => {
    const listId = job.listIds[0];
    // A list deleted while the job waited has no members left to remove.
    if (listId === undefined || lists.get(listId) === undefined) return;
    for (const id of job.removes ?? []) {
      const slot = store.indexOfId(id);
      if (slot !== undefined && store.removeFromList(listId, slot)) job.removed += 1;
    }
  };

  const finish = (job: Job, nowMs: number): void => {
    if (job.failure === undefined) {
      if (job.kind === 'delete') applyDelete(job);
      else if (job.kind === 'listRemove') applyListRemoval(job);
      else applyUpsert(job, nowMs);
    } else {
      job.pending = [];
    }
    const errored = job.errorRows.length;
    job.status =
      job.failure !== undefined || (errored > 0 && errored >= job.requested)
        ? 'failed'
        : errored > 0
          ? 'errored'
          : 'completed';
    job.finishedAtMs = nowMs;
  };

  const settleDue: JobQueue['settleDue'] = (nowMs) => {
    if (due.length === 0) return;
    const ready = due.filter((job) => (job.endsAtMs ?? Number.POSITIVE_INFINITY) <= nowMs);
    if (ready.length === 0) return;
    due = due.filter((job) => !ready.includes(job));
    ready.sort((a, b) => (a.endsAtMs ?? 0) - (b.endsAtMs ?? 0));
    for (const job of ready) finish(job, nowMs);
  };

  const create: JobQueue['create'] = (kind, listIds) => {
    const job: Job = {
      id: randomUUID(),
      kind,
      createdAtMs: Date.now(),
      listIds,
      status: 'pending',
      awaitingUpload: kind === 'import',
      requested: 0,
      pending: [],
      errorRows: [],
      identifierMask: 0,
      created: 0,
      updated: 0,
      deleted: 0,
      removed: 0,
    };
    jobs.set(job.id, job);
    return job;
  };

  const queue: JobQueue['queue'] = (job) => {
    const now = Date.now();
    job.awaitingUpload = false;
    job.endsAtMs = jobTimeline(timing, now, job.requested).endsAtMs;
    due.push(job);
    if (job.endsAtMs <= now) {
      settleDue(now);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      settleDue(Date.now());
    }, job.endsAtMs - now);
    // The server keeps the process alive; a pending job alone should not.
    timer.unref();
    timers.add(timer);
  };

  return {
    create,
    reject,
    queue,
    submitDelete: (ids, all) => {
      const job = create('delete', []);
      job.deletes = all ? 'all' : ids;
      job.requested = ids.length;
      queue(job);
      return job;
    },
    submitListRemoval: (listId, ids) => {
      const job = create('listRemove', [listId]);
      job.removes = ids;
      job.requested = ids.length;
      queue(job);
      return job;
    },
    get: (id) => jobs.get(id),
    vanish: (id) => {
      const job = jobs.get(id);
      if (job === undefined) return;
      jobs.delete(id);
      due = due.filter((item) => item !== job);
      job.pending = [];
    },
    settleDue,
    all: () => jobs.values(),
    clear: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      jobs = new Map();
      due = [];
    },
  };
};
