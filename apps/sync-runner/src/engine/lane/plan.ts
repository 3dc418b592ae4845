import { type Fields, type ListChanges, type ProfileChange, packJobs, type UpsertChange } from '@ferry/core';
import { fingerprint } from '../../mapping/fingerprint.ts';
import type { SourceRecordItem } from '../../source/types.ts';
import type { DirectReject, Fence, PlannedMember } from '../../store/state-store.ts';
import { needsSend } from './diff.ts';
import type { JobDriver } from './jobs.ts';
import type { LaneState } from './lane-state.ts';

/*
 * Planning, the lane's part of the plan step: map and diff the records the reader offers, pack the
 * changed ones by count and bytes, and write each filling job to the store a page at a time
 * (planJob, then addJobMembers), so memory holds one page, never a job. A closed job waits for a
 * free slot before it is started: that is what holds the reader back while the vendor is busy.
 * Every write is fenced by the lane's lease.
 */

const OVERSIZED_FLUSH = 500;
/** Members written to the store at a time while a job fills (the store's page size). */
const PLAN_PAGE = 1000;

export interface Planner {
  /** Maps, diffs and returns the changed records of a chunk (recording mapping rejects). */
  readonly diff: (
    records: readonly SourceRecordItem[],
    waitForResumed: () => Promise<boolean>,
  ) => Promise<ProfileChange[]>;
  /** Packs changes into jobs and starts them; returns when the last one is started. */
  readonly pack: (changes: AsyncIterable<ProfileChange> | Iterable<ProfileChange>) => Promise<void>;
}

export const createPlanner = (lane: LaneState, jobs: JobDriver, fence: () => Fence | undefined): Planner => {
  const { run, counters, plugin, destination, plannedOf } = lane;
  const { store, clock, runId } = run;
  let oversized: DirectReject[] = [];

  const flushOversized = async (): Promise<void> => {
    if (oversized.length === 0) return;
    const rejects = oversized;
    oversized = [];
    counters.rejected += rejects.length;
    if (!run.dryRun) await store.recordRejects(lane.key, runId, clock.now(), rejects, fence());
  };

  const countQueued = (change: ProfileChange): void => {
    if (change.kind === 'delete') counters.deletesQueued += 1;
    else counters.queued += 1;
  };

  const pack: Planner['pack'] = async (changes) => {
    const limits = lane.limits;
    if (limits === undefined) return;
    let filling: { id: string; written: number; page: PlannedMember[]; pageBytes: number } | undefined;

    const writePage = async (): Promise<void> => {
      if (filling === undefined || filling.page.length === 0) return;
      const { id, page, pageBytes } = filling;
      filling.page = [];
      filling.pageBytes = 0;
      const at = clock.now();
      if (filling.written === 0) {
        const bytes = (limits.jobOverheadBytes ?? 0) + pageBytes;
        await store.planJob({ id, destination: lane.key, runId, bytes, at, members: page }, fence());
        counters.jobsPlanned += 1;
      } else {
        await store.addJobMembers(id, { at, bytes: pageBytes, members: page }, fence());
      }
      filling.written += page.length;
      // Counted once written: a lane that stops mid-page reports only what the store holds.
      for (const { change } of page) countQueued(change);
    };

    const close = async (): Promise<void> => {
      if (run.dryRun) {
        counters.jobsPlanned += 1;
        return;
      }
      if (filling === undefined) return;
      await writePage();
      const job = filling;
      filling = undefined;
      // A slot must be free before the job is started: that is what holds the reader back.
      await lane.waitForRoom();
      if (lane.stopped() || lane.stalled()) return; // left `planned`: the next run submits it.
      await jobs.start(job.id, 'submit');
    };

    for await (const event of packJobs(changes, {
      limits,
      measure: (change) => plugin.measure(change, lane.ctx?.options),
      destination: lane.key,
    })) {
      // After a stall nothing more is planned either: the next run would inherit it all as jobs.
      if (lane.stopped() || lane.stalled()) break;
      if (event.kind === 'oversized') {
        const planned = plannedOf.get(event.change);
        oversized.push({
          profileId: event.change.profileId,
          identity: event.change.identity,
          fingerprint: planned?.fingerprint ?? null,
          code: event.outcome.code,
          message: event.outcome.message,
        });
        if (oversized.length >= OVERSIZED_FLUSH) await flushOversized();
        continue;
      }
      if (event.kind === 'close') {
        await flushOversized();
        await close();
        continue;
      }
      const { change } = event;
      if (run.dryRun) {
        countQueued(change);
        continue;
      }
      filling ??= { id: run.newJobId(), written: 0, page: [], pageBytes: 0 };
      filling.page.push(plannedOf.get(change)!);
      filling.pageBytes += event.bytes;
      if (filling.page.length >= PLAN_PAGE) await writePage();
    }
    await flushOversized();
  };

  const diff: Planner['diff'] = async (records, waitForResumed) => {
    const rejects: DirectReject[] = [];
    const keepLists = plugin.capabilities.lists;
    const mapped: {
      item: SourceRecordItem;
      fields: Fields;
      identity: string;
      lists?: ListChanges;
      print: string;
    }[] = [];
    for (const item of records) {
      counters.considered += 1;
      const result = destination.map(item.record);
      if (!result.ok) {
        rejects.push({
          profileId: item.id,
          identity: '',
          fingerprint: null,
          code: 'invalid_value',
          message: `row ${item.row}: ${result.reason}`,
          field: result.field,
        });
        continue;
      }
      // Empty list changes are no list changes (the fingerprint agrees), so plugins are not asked to do nothing.
      const lists =
        keepLists &&
        result.lists !== undefined &&
        (result.lists.add.length > 0 || result.lists.remove.length > 0)
          ? result.lists
          : undefined;
      const print = fingerprint(result.fields, lists);
      mapped.push({
        item,
        fields: result.fields,
        identity: result.identity,
        print,
        ...(lists === undefined ? {} : { lists }),
      });
    }
    if (rejects.length > 0) {
      counters.rejected += rejects.length;
      if (!run.dryRun) await store.recordRejects(lane.key, runId, clock.now(), rejects, fence());
    }

    const ids = mapped.map(({ item }) => item.id);
    let states = await store.getProfileStates(lane.key, ids);
    // New values of a profile whose older values are still in a job an earlier run left unfinished:
    // sent now, they would race that job at the vendor, which may well apply the older job last and
    // leave stale values behind a confirmed fingerprint. Let the resumed jobs end first.
    const superseding = mapped.some(({ item, print }) => {
      const state = states.get(item.id);
      return state?.status === 'pending' && state.fingerprint !== print;
    });
    if (superseding && (await waitForResumed())) {
      if (lane.stopped() || lane.stalled()) return [];
      states = await store.getProfileStates(lane.key, ids);
    }

    const changes: ProfileChange[] = [];
    for (const { item, fields, identity, lists, print } of mapped) {
      const state = states.get(item.id);
      if (run.rereading && state?.runId === runId && state.fingerprint === print) {
        counters.queued += 1;
        continue;
      }
      if (!needsSend(state, print, run.full)) {
        if (state?.status === 'rejected') counters.stillRejected += 1;
        else counters.unchanged += 1;
        continue;
      }
      const change: UpsertChange =
        lists === undefined
          ? { kind: 'upsert', profileId: item.id, identity, fields }
          : { kind: 'upsert', profileId: item.id, identity, fields, lists };
      plannedOf.set(change, { change, fingerprint: print, attempts: 0 });
      changes.push(change);
    }
    return changes;
  };

  return { diff, pack };
};
