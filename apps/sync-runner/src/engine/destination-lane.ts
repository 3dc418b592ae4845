import {
  AuthError,
  backoffMs,
  type Clock,
  ConfigError,
  collectSecrets,
  createContext,
  createRedactor,
  type DestinationContext,
  type ExportResult,
  type Fields,
  JOB_NOT_FOUND,
  type JobHandle,
  type JobStatus,
  type Limits,
  type ListChanges,
  type Logger,
  PermanentError,
  type ProfileBatch,
  type ProfileChange,
  packJobs,
  RateLimitedError,
  TransientError,
  type UpsertChange,
} from '@ferry/core';
import pLimit from 'p-limit';
import { fingerprint } from '../fingerprint.ts';
import type { SourceRecordItem } from '../source/types.ts';
import type { DirectReject, PlannedMember, SettledOutcome, StateStore } from '../store/state-store.ts';
import { type CallbackRegistry, hashCallbackToken, newCallbackToken } from './callback-server.ts';
import { createChannel } from './channel.ts';
import { needsSend } from './diff.ts';
import { failAll, type OutcomePolicy, retryOrReject, settleOutcomes } from './outcomes.ts';
import { type EngineSettings, nextCheckDelayMs } from './settings.ts';
import { type DestinationCounters, type DestinationSummary, newDestinationCounters } from './summary.ts';
import type { SyncDestination } from './types.ts';

/*
 * One destination's share of a run: diff → pack → plan → submit → check → settle, then mirror
 * deletes and retries. Jobs run as independent tasks, at most `maxJobsInFlight` at once (p-limit);
 * the source reader waits for a free slot, which is what keeps memory flat on any input size.
 * Every step is persisted before the next one starts, so a process killed anywhere resumes from
 * the store (see `resume`).
 */

export interface LaneContext {
  readonly store: StateStore;
  readonly runId: string;
  readonly runStartedAt: number;
  readonly settings: EngineSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
  readonly signal: AbortSignal;
  readonly dryRun: boolean;
  readonly full: boolean;
  readonly force: boolean;
  readonly callbacks: CallbackRegistry | undefined;
  readonly newJobId: () => string;
  readonly onProgress: () => void;
}

export interface DestinationLane {
  readonly key: string;
  readonly counters: Readonly<DestinationCounters>;
  /** Whether the lane stopped taking work (fatal error, deadline, abort); reading may skip it. */
  readonly accepting: () => boolean;
  /** Starts checking and resubmitting the jobs earlier runs left unfinished. */
  readonly resume: () => Promise<void>;
  /** Diffs a chunk of records and queues the changed ones; waits while the destination is saturated. */
  readonly offer: (records: readonly SourceRecordItem[]) => Promise<void>;
  /**
   * No more records. `sourceComplete` is true only when every row was read (mirror deletes depend
   * on it). Finishes packing, plans mirror deletes, sends due retries and waits for the jobs.
   */
  readonly finish: (end: { sourceComplete: boolean; rowsWithoutId: number }) => Promise<DestinationSummary>;
  /** After the run's signal aborted on an unexpected error: resolves once none of the lane's work runs. */
  readonly drain: () => Promise<void>;
}

/**
 * A job this process is driving. Mutable on purpose: it is the task's own state. Its members stay in
 * the store (a job may hold 200,000 profiles): they are read page by page when they are needed.
 */
interface ActiveJob {
  readonly id: string;
  memberCount: number;
  state: 'planned' | 'submitted';
  handle: JobHandle | null;
  attempt: number;
  submittedAt: number | null;
  nextCheckAt: number;
  checkCount: number;
  resubmits: number;
  nudged: boolean;
  wake: (() => void) | undefined;
}

/** Thrown inside a job task to unwind it when the lane stops; never escapes the lane. */
class LaneStopped extends Error {}

const CHANNEL_CAPACITY = 2000;
const MIRROR_PAGE = 1000;
const OVERSIZED_FLUSH = 500;
/** Members written to the store at a time while a job fills (the store's page size). */
const PLAN_PAGE = 1000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const createDestinationLane = (destination: SyncDestination, run: LaneContext): DestinationLane => {
  const { store, runId, clock, logger } = run;
  const settings: EngineSettings = { ...run.settings, ...destination.settings };
  const { key, plugin } = destination;
  const counters = newDestinationCounters(key, plugin.name);
  const controller = new AbortController();
  const signal = AbortSignal.any([run.signal, controller.signal]);

  let error: string | undefined;
  let stalled = false;
  let mirrorSummary: DestinationSummary['mirror'];
  const prefix = `[ferry] [${key}]`;

  let ctx: DestinationContext<unknown> | undefined;
  let limits: Limits | undefined;
  let redact: (text: string) => string = (text) => text;
  try {
    const built = createContext(plugin, {
      ...destination.context,
      options: destination.options,
      logger,
      signal,
    });
    redact = createRedactor(collectSecrets(plugin.options, built.options));
    limits = plugin.limits(built.options);
    ctx = built;
  } catch (cause) {
    // Bad options (a ConfigError naming the key) or a broken plugin: this destination cannot run.
    error = redact(messageOf(cause));
  }

  const fail = (cause: unknown): void => {
    if (error !== undefined) return;
    error = redact(
      cause instanceof AuthError || cause instanceof ConfigError || cause instanceof PermanentError
        ? cause.message
        : `${prefix} stopped: ${messageOf(cause)}`,
    );
    logger.error(error);
    controller.abort(cause);
    channel.abort();
    notify();
  };

  const stopped = (): boolean => error !== undefined || signal.aborted;
  const throwIfStopped = (): void => {
    if (stopped()) throw new LaneStopped();
  };

  const maxJobsInFlight = Math.max(
    1,
    Math.min(limits?.maxJobsInFlight ?? 1, destination.maxJobsInFlight ?? Infinity),
  );
  const limit = pLimit(maxJobsInFlight);
  const tasks = new Set<Promise<void>>();
  const policy = (): OutcomePolicy => ({ settings, now: clock.now(), random: run.random });

  // Wakes whoever waits for a job slot or for jobs to end.
  let waiters: (() => void)[] = [];
  const notify = (): void => {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };
  const changed = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));

  const sleep = async (ms: number, job?: ActiveJob): Promise<void> => {
    if (ms <= 0) return;
    const wake = new AbortController();
    if (job !== undefined) job.wake = () => wake.abort();
    try {
      await clock.sleep(ms, AbortSignal.any([signal, wake.signal]));
    } catch {
      // Woken by a callback nudge, or stopped (checked by the caller).
    } finally {
      if (job !== undefined) job.wake = undefined;
    }
  };

  const countOutcomes = (outcomes: readonly SettledOutcome[]): void => {
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') counters.rejected += 1;
      else counters.retried += 1;
    }
  };

  // ---- planning -------------------------------------------------------------------------------

  // The packer only sees ProfileChanges; what settling needs is looked up by the change object.
  const plannedOf = new WeakMap<ProfileChange, PlannedMember>();
  const channel = createChannel<ProfileChange>(CHANNEL_CAPACITY);
  let oversized: DirectReject[] = [];

  const flushOversized = async (): Promise<void> => {
    if (oversized.length === 0) return;
    const rejects = oversized;
    oversized = [];
    counters.rejected += rejects.length;
    if (!run.dryRun) await store.recordRejects(key, runId, clock.now(), rejects);
  };

  const waitForRoom = async (): Promise<void> => {
    // `tasks` counts queued and running jobs, resumed ones included.
    while (!stopped() && !stalled && tasks.size >= maxJobsInFlight) await changed();
  };

  /**
   * Packs `changes` into jobs and starts them; returns when the last one is started. A filling job is
   * written to the store a page at a time (planJob, then addJobMembers), so memory holds one page,
   * never a job. The reader waits at a job's end while every job slot is taken.
   */
  const pack = async (changes: AsyncIterable<ProfileChange> | Iterable<ProfileChange>): Promise<void> => {
    if (limits === undefined) return;
    let filling: { id: string; written: number; page: PlannedMember[]; pageBytes: number } | undefined;
    const countQueued = (change: ProfileChange): void => {
      if (change.kind === 'delete') counters.deletesQueued += 1;
      else counters.queued += 1;
    };

    const writePage = async (): Promise<void> => {
      if (filling === undefined || filling.page.length === 0) return;
      const { id, page, pageBytes } = filling;
      filling.page = [];
      filling.pageBytes = 0;
      const at = clock.now();
      if (filling.written === 0) {
        const bytes = (limits?.jobOverheadBytes ?? 0) + pageBytes;
        await store.planJob({ id, destination: key, runId, bytes, at, members: page });
        counters.jobsPlanned += 1;
      } else {
        await store.addJobMembers(id, { at, bytes: pageBytes, members: page });
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
      await waitForRoom();
      if (stopped() || stalled) return; // left `planned`: the next run submits it.
      startJob({
        id: job.id,
        memberCount: job.written,
        state: 'planned',
        handle: null,
        attempt: 0,
        submittedAt: null,
        nextCheckAt: clock.now(),
        checkCount: 0,
        resubmits: 0,
        nudged: false,
        wake: undefined,
      });
      run.onProgress();
    };

    for await (const event of packJobs(changes, {
      limits,
      measure: (change) => plugin.measure(change, ctx?.options),
      destination: key,
    })) {
      // After a stall nothing more is planned either: the next run would inherit it all as jobs.
      if (stopped() || stalled) break;
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

  // Started by resume(): packs what offer() pushes until finish() closes the channel.
  let packing: Promise<void> | undefined;

  // ---- jobs -----------------------------------------------------------------------------------

  /** What the plugin submits: the job's members streamed from the store, re-readable (`ProfileBatch`). */
  const batchOf = (job: ActiveJob): ProfileBatch => ({
    length: job.memberCount,
    [Symbol.asyncIterator]: async function* changes() {
      for await (const page of store.jobMemberPages(job.id)) for (const member of page) yield member.change;
    },
  });

  /** The members an outcome list names (usually few), found by reading the job's pages. */
  const membersNamed = async (
    job: ActiveJob,
    outcomes: readonly { readonly profileId: string }[],
  ): Promise<Map<string, PlannedMember>> => {
    const wanted = new Set(outcomes.map((outcome) => outcome.profileId));
    const found = new Map<string, PlannedMember>();
    if (wanted.size === 0) return found;
    for await (const page of store.jobMemberPages(job.id)) {
      for (const member of page)
        if (wanted.has(member.change.profileId)) found.set(member.change.profileId, member);
      if (found.size === wanted.size) break;
    }
    return found;
  };

  /** Submits the job; true when it is now submitted and must be checked, false when it ended. */
  const submit = async (job: ActiveJob): Promise<boolean> => {
    const context = ctx!;
    let errors = 0;
    for (;;) {
      throwIfStopped();
      if (job.memberCount === 0) {
        await store.settleJob(job.id, { at: clock.now(), outcomes: [] });
        return false;
      }
      // Only destinations that can ask the vendor for a callback get a URL (and a token to check it by).
      const token =
        run.callbacks === undefined || !plugin.capabilities.callbacks ? undefined : newCallbackToken();
      const tokenHash = token === undefined ? null : hashCallbackToken(token);
      job.attempt += 1;
      await store.markSubmitting(job.id, { attempt: job.attempt, callbackTokenHash: tokenHash });
      let result: ExportResult;
      try {
        const jobContext =
          token === undefined ? context : { ...context, callbackUrl: run.callbacks!.urlFor(job.id, token) };
        result = await plugin.exportProfiles(jobContext, batchOf(job));
      } catch (cause) {
        throwIfStopped();
        if (cause instanceof RateLimitedError) {
          // Waiting for a rate limit is not a failure: no error counted.
          await sleep(Math.min(cause.retryAfterMs, settings.maxRateLimitWaitMs));
          continue;
        }
        if (cause instanceof TransientError && errors < settings.maxSubmitErrors) {
          errors += 1;
          logger.warn(`${prefix} submitting job ${job.id} failed, retrying`, {
            error: redact(cause.message),
          });
          await sleep(backoffMs(errors - 1, settings.retryBaseMs, settings.retryMaxMs, run.random));
          continue;
        }
        if (cause instanceof TransientError || cause instanceof PermanentError) {
          const failure = {
            retryable: cause instanceof TransientError,
            code: cause.code ?? 'submit_failed',
            message: redact(cause.message),
          };
          // Rare, and every member needs an outcome: the whole job is read here.
          const outcomes = failAll(await store.jobMembers(job.id), failure, policy());
          await store.failJob(job.id, {
            at: clock.now(),
            code: failure.code,
            message: failure.message,
            outcomes,
          });
          countOutcomes(outcomes);
          counters.jobsSettled += 1;
          return false;
        }
        throw cause;
      }
      counters.jobsSubmitted += 1;
      const named = await membersNamed(job, result.rejected);
      const rejected = settleOutcomes(named, result.rejected, policy(), logger, key);
      const rejectedIds = new Set(rejected.map((outcome) => outcome.member.change.profileId));
      const now = clock.now();
      if (result.job === null) {
        // No job: whatever was not rejected was not sent either. Send it again rather than lose it.
        const unsent = (await store.jobMembers(job.id))
          .filter((member) => !rejectedIds.has(member.change.profileId))
          .map((member) =>
            retryOrReject(member, { message: 'the destination created no job for this profile' }, policy()),
          );
        const outcomes = [...rejected, ...unsent];
        await store.markSubmitted(job.id, { handle: null, at: now, nextCheckAt: null, rejected: outcomes });
        countOutcomes(outcomes);
        counters.jobsSettled += 1;
        return false;
      }
      job.memberCount -= rejectedIds.size;
      job.state = 'submitted';
      job.handle = result.job;
      job.submittedAt = now;
      job.checkCount = 0;
      job.nextCheckAt = now + settings.firstCheckDelayMs;
      await store.markSubmitted(job.id, {
        handle: result.job,
        at: now,
        nextCheckAt: job.nextCheckAt,
        rejected,
      });
      countOutcomes(rejected);
      if (tokenHash !== null) listen(job, tokenHash);
      return true;
    }
  };

  const listen = (job: ActiveJob, tokenHash: string): void => {
    run.callbacks?.register(job.id, tokenHash, () => {
      job.nudged = true;
      job.nextCheckAt = clock.now();
      job.wake?.();
    });
  };

  type PollEnd = 'settled' | 'resubmit' | 'left';

  const poll = async (job: ActiveJob): Promise<PollEnd> => {
    const context = ctx!;
    // Per run: a job left at the deadline by an earlier run gets a fresh allowance.
    const deadline = Math.max(job.submittedAt ?? 0, run.runStartedAt) + settings.pollDeadlineMs;
    let transientErrors = 0;
    let otherErrors = 0;
    for (;;) {
      if (!job.nudged) await sleep(job.nextCheckAt - clock.now(), job);
      job.nudged = false;
      throwIfStopped();
      if (clock.now() >= deadline) {
        logger.warn(
          `${prefix} job ${job.id} still pending after the polling deadline; the next run checks it again`,
        );
        return 'left';
      }
      let status: JobStatus;
      try {
        counters.statusChecks += 1;
        // Ids and identities only, read afresh for each check rather than held while the job runs.
        status = await plugin.checkStatus(context, job.handle!, await store.jobMemberIds(job.id));
      } catch (cause) {
        throwIfStopped();
        // A failed check is never a failed job: check again later. Rate limits and transient
        // errors do not count against anything; other errors are counted, then the job is left.
        if (cause instanceof RateLimitedError) {
          job.nextCheckAt = clock.now() + Math.min(cause.retryAfterMs, settings.maxRateLimitWaitMs);
          continue;
        }
        if (cause instanceof AuthError || cause instanceof ConfigError) throw cause;
        if (cause instanceof TransientError) {
          transientErrors += 1;
          job.nextCheckAt = clock.now() + nextCheckDelayMs(settings, transientErrors, undefined, run.random);
          continue;
        }
        otherErrors += 1;
        logger.warn(`${prefix} checking job ${job.id} failed`, {
          error: redact(messageOf(cause)),
          failures: otherErrors,
        });
        if (otherErrors >= settings.maxCheckErrors) return 'left';
        job.nextCheckAt = clock.now() + nextCheckDelayMs(settings, otherErrors, undefined, run.random);
        continue;
      }

      if (status.state === 'pending') {
        job.checkCount += 1;
        job.nextCheckAt =
          clock.now() + nextCheckDelayMs(settings, job.checkCount, status.checkAfterMs, run.random);
        await store.recordCheck(job.id, { nextCheckAt: job.nextCheckAt, checkCount: job.checkCount });
        continue;
      }

      if (status.state === 'completed') {
        const named = await membersNamed(job, status.outcomes);
        const outcomes = settleOutcomes(named, status.outcomes, policy(), logger, key);
        const confirmed = await store.settleJob(job.id, { at: clock.now(), outcomes });
        counters.exported += confirmed.exported;
        counters.deleted += confirmed.deleted;
        countOutcomes(outcomes);
        counters.jobsSettled += 1;
        await cleanup(job);
        return 'settled';
      }

      const vanished = status.code === JOB_NOT_FOUND;
      if (vanished && job.resubmits < settings.maxResubmits) {
        job.resubmits += 1;
        logger.warn(`${prefix} the vendor no longer knows job ${job.id}; submitting it again`);
        await store.requeueJob(job.id);
        run.callbacks?.unregister(job.id);
        job.state = 'planned';
        job.handle = null;
        return 'resubmit';
      }
      const failure = {
        retryable: status.retryable || vanished,
        code: status.code ?? 'job_failed',
        message: redact(status.message),
      };
      const outcomes = failAll(await store.jobMembers(job.id), failure, policy());
      await store.failJob(job.id, {
        at: clock.now(),
        code: failure.code,
        message: failure.message,
        outcomes,
      });
      countOutcomes(outcomes);
      counters.jobsSettled += 1;
      await cleanup(job);
      return 'settled';
    }
  };

  const cleanup = async (job: ActiveJob): Promise<void> => {
    if (plugin.cleanup === undefined || job.handle === null) return;
    try {
      await plugin.cleanup(ctx!, job.handle);
    } catch (cause) {
      // Staged data left at the vendor is untidy, not wrong: the profiles are settled.
      logger.warn(`${prefix} cleanup of job ${job.id} failed`, { error: redact(messageOf(cause)) });
    }
  };

  const runJob = async (job: ActiveJob): Promise<void> => {
    let inFlight = false;
    try {
      for (;;) {
        throwIfStopped();
        if (job.state === 'planned' && !(await submit(job))) return;
        inFlight = true;
        counters.jobsInFlight += 1;
        run.onProgress();
        const end = await poll(job);
        counters.jobsInFlight -= 1;
        inFlight = false;
        if (end === 'left') {
          // Its slot must stay taken as far as the vendor is concerned: submit nothing more this run.
          stalled = true;
          channel.abort();
          return;
        }
        if (end === 'settled') return;
      }
    } catch (cause) {
      if (!(cause instanceof LaneStopped) && !signal.aborted) fail(cause);
    } finally {
      if (inFlight) counters.jobsInFlight -= 1;
      run.callbacks?.unregister(job.id);
      run.onProgress();
    }
  };

  const startJob = (job: ActiveJob): Promise<void> => {
    const task = limit(() => runJob(job));
    tasks.add(task);
    void task.finally(() => {
      tasks.delete(task);
      notify();
    });
    return task;
  };

  // Jobs that earlier runs left unfinished, while this run drives them.
  const resumed = new Set<Promise<void>>();

  const waitForJobs = async (): Promise<void> => {
    while (tasks.size > 0) await Promise.allSettled([...tasks]);
  };

  // ---- phases ---------------------------------------------------------------------------------

  const resume: DestinationLane['resume'] = async () => {
    if (error !== undefined) return;
    if (!run.dryRun) {
      for (const stored of await store.unfinishedJobs(key)) {
        const job: ActiveJob = {
          id: stored.id,
          memberCount: stored.memberCount,
          state: stored.state === 'submitted' ? 'submitted' : 'planned',
          handle: stored.handle,
          attempt: stored.attempt,
          submittedAt: stored.submittedAt,
          nextCheckAt: clock.now(),
          checkCount: stored.checkCount,
          resubmits: 0,
          nudged: false,
          wake: undefined,
        };
        if (job.state === 'submitted' && stored.callbackTokenHash !== null)
          listen(job, stored.callbackTokenHash);
        const task = startJob(job);
        resumed.add(task);
        void task.finally(() => resumed.delete(task));
      }
    }
    packing = pack(channel.items()).catch(fail);
  };

  const offer: DestinationLane['offer'] = async (records) => {
    if (stopped() || stalled) return;
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
      if (!run.dryRun) await store.recordRejects(key, runId, clock.now(), rejects);
    }

    const ids = mapped.map(({ item }) => item.id);
    let states = await store.getProfileStates(key, ids);
    // New values of a profile whose older values are still in a job an earlier run left unfinished:
    // sent now, they would race that job at the vendor, which may well apply the older job last and
    // leave stale values behind a confirmed fingerprint. Let the resumed jobs end first.
    const superseding = mapped.some(({ item, print }) => {
      const state = states.get(item.id);
      return state?.status === 'pending' && state.fingerprint !== print;
    });
    if (superseding && resumed.size > 0) {
      await Promise.allSettled([...resumed]);
      if (stopped() || stalled) return;
      states = await store.getProfileStates(key, ids);
    }

    const changes: ProfileChange[] = [];
    for (const { item, fields, identity, lists, print } of mapped) {
      const state = states.get(item.id);
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
    await channel.push(changes);
  };

  const mirror = async (end: { sourceComplete: boolean; rowsWithoutId: number }): Promise<void> => {
    if (destination.mode !== 'mirror' || stopped() || stalled) return;
    const { confirmed, unseen } = await store.countConfirmed(key, runId);
    const fraction = confirmed === 0 ? 0 : unseen / confirmed;
    let refusal: string | undefined;
    if (!plugin.capabilities.delete) refusal = `${plugin.displayName} cannot delete profiles`;
    else if (!end.sourceComplete) refusal = 'the source was not read to the end';
    else if (end.rowsWithoutId > 0 && unseen > 0) {
      refusal = `${end.rowsWithoutId} bad rows had no readable id, so any of the ${unseen} absent profiles may still be in the source`;
    } else if (unseen > 0 && fraction > destination.maxDeleteFraction && !run.force) {
      refusal =
        `${unseen} of ${confirmed} profiles (${(fraction * 100).toFixed(1)}%) are absent from the source, more than ` +
        `maxDeleteFraction ${(destination.maxDeleteFraction * 100).toFixed(1)}%; check the source, or run with --force`;
    }
    const refused = refusal !== undefined && unseen > 0;
    mirrorSummary = {
      confirmed,
      absent: unseen,
      maxDeleteFraction: destination.maxDeleteFraction,
      refused,
      ...(refused ? { reason: `${prefix} mirror deletes refused: ${refusal}` } : {}),
    };
    if (unseen === 0) return;
    if (refused) {
      logger.error(mirrorSummary.reason ?? '');
      return;
    }
    const pages = async function* deletes(): AsyncGenerator<ProfileChange> {
      let after: string | undefined;
      for (;;) {
        const page = await store.unseenConfirmed(key, runId, after, MIRROR_PAGE);
        if (page.length === 0) return;
        for (const { profileId, identity } of page) {
          const change: ProfileChange = { kind: 'delete', profileId, identity };
          plannedOf.set(change, { change, fingerprint: null, attempts: 0 });
          yield change;
        }
        after = page.at(-1)?.profileId;
      }
    };
    if (run.dryRun) {
      counters.deletesQueued += unseen;
      return;
    }
    await pack(pages());
  };

  const retries = async (): Promise<void> => {
    if (run.dryRun) return;
    const batch = Math.min(50_000, (limits?.maxProfilesPerJob ?? 1000) * maxJobsInFlight);
    while (!stopped() && !stalled) {
      const due = await store.dueRetries(key, clock.now(), batch);
      if (due.length > 0) {
        for (const member of due) plannedOf.set(member.change, member);
        await pack(due.map((member) => member.change));
        continue;
      }
      if (tasks.size > 0) {
        await changed();
        continue;
      }
      const next = await store.nextRetryAt(key);
      if (next === undefined || next - clock.now() > settings.maxRetryWaitMs) return;
      await sleep(next - clock.now());
    }
  };

  const finish: DestinationLane['finish'] = async (end) => {
    channel.close();
    await packing;
    if (!stopped()) {
      try {
        await mirror(end);
        await retries();
      } catch (cause) {
        fail(cause);
      }
    }
    await waitForJobs();
    let pending = 0;
    let waitingRetry = 0;
    if (!run.dryRun) {
      for (const row of await store.profileCounts(key)) {
        if (row.key === 'pending') pending = row.count;
        if (row.key === 'retry_wait') waitingRetry = row.count;
      }
    }
    return {
      ...counters,
      pending,
      waitingRetry,
      ...(mirrorSummary === undefined ? {} : { mirror: mirrorSummary }),
      ...(error === undefined ? {} : { error }),
    };
  };

  const drain: DestinationLane['drain'] = async () => {
    channel.abort();
    await packing;
    await waitForJobs();
  };

  return {
    key,
    counters,
    accepting: () => !stopped() && !stalled,
    resume,
    offer,
    finish,
    drain,
  };
};
