import type { JobHandle, JobMember, ProfileChange } from '@ferry/core';
import type { ExportsStore } from './export-store.ts';
import type { ReconcileStore } from './reconcile-store.ts';
import type { JobState, ProfileStatus, RunStatus } from './schema.ts';
import type { ServiceStore } from './service-store.ts';
import type { WebhookStore } from './webhook-store.ts';

export type { ChangeOp, JobState, ProfileStatus, RunStatus } from './schema.ts';

/*
 * The runner's durable memory, as one small interface per concern (runs, leases, jobs, members,
 * profiles, reports), so that each part of the engine names what it uses and a PostgreSQL
 * deployment, the service and scale-out workers share one engine. `StateStore` is all of them; the
 * Kysely implementation has one file per concern under kysely/. Every method that takes many
 * profiles writes them in one transaction with multi-row statements: the engine never commits per
 * profile. Times are epoch milliseconds given by the caller, so tests can drive a fake clock.
 */

/** One profile in a job: the change sent, plus what settling it needs. */
export interface PlannedMember {
  readonly change: ProfileChange;
  /** Fingerprint of the change's fields and lists; `null` for deletes. */
  readonly fingerprint: string | null;
  /** Failed attempts so far (0 for a change sent the first time). */
  readonly attempts: number;
}

/** What happened to one job member that did not simply succeed, decided by the engine. */
export type SettledOutcome =
  | {
      readonly member: PlannedMember;
      readonly status: 'rejected';
      readonly code: string;
      readonly message: string;
      readonly field?: string;
    }
  | {
      readonly member: PlannedMember;
      readonly status: 'retry_wait';
      readonly code?: string;
      readonly message: string;
      /** Attempts after this failure. */
      readonly attempts: number;
      readonly nextAttemptAt: number;
    };

/** A profile refused before any job held it (mapping failed, larger than a whole job). */
export interface DirectReject {
  readonly profileId: string;
  /** `''` when the mapping could not produce one; a known identity is then kept. */
  readonly identity: string;
  readonly fingerprint: string | null;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export interface ProfileStateSummary {
  readonly status: ProfileStatus;
  readonly fingerprint: string | null;
  readonly confirmedFingerprint: string | null;
  readonly attempts: number;
  /** The run that last planned or settled the profile. */
  readonly runId: string | null;
}

export interface NewJob {
  readonly id: string;
  readonly destination: string;
  readonly runId: string;
  readonly bytes: number;
  readonly at: number;
  /** In submission order. */
  readonly members: readonly PlannedMember[];
}

export interface StoredJob {
  readonly id: string;
  readonly destination: string;
  readonly runId: string;
  readonly state: JobState;
  readonly attempt: number;
  readonly memberCount: number;
  readonly bytes: number;
  readonly handle: JobHandle | null;
  readonly plannedAt: number;
  readonly submittedAt: number | null;
  readonly nextCheckAt: number | null;
  readonly checkCount: number;
  readonly callbackTokenHash: string | null;
  readonly settledAt: number | null;
  /** Members rejected at submission or completion. */
  readonly rejectedCount: number;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

export interface RunRecord {
  readonly id: string;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly status: RunStatus;
  readonly options: unknown;
  readonly summary: unknown;
  readonly error: string | null;
}

export interface BadRow {
  readonly row: number;
  readonly profileId?: string;
  readonly reason: string;
}

export interface ProfileIssue {
  readonly destination: string;
  readonly profileId: string;
  readonly identity: string;
  readonly status: 'rejected' | 'retry_wait';
  readonly code: string | null;
  readonly message: string | null;
  readonly field: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly updatedAt: number;
}

export interface CountRow<K extends string> {
  readonly destination: string;
  readonly key: K;
  readonly count: number;
}

/** An expiring claim on a named row (a lane, a job, a run), with its fencing token. */
export interface Lease {
  readonly key: string;
  readonly owner: string;
  /** Grows by one at every claim of the key: writes carrying an older token are refused. */
  readonly token: number;
  readonly acquiredAt: number;
  readonly expiresAt: number;
}

/**
 * What a fenced write carries: the store commits it only while this lease is still the key's
 * current one and unexpired, in the same transaction as the write (else `LeaseLostError`).
 */
export interface Fence {
  readonly key: string;
  readonly token: number;
}

/** A fenced write found its lease taken over or expired: nothing of it was committed. */
export class LeaseLostError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(
      `[ferry] the lease on ${key} was lost (expired, or taken over by another process); nothing was written`,
    );
    this.name = 'LeaseLostError';
    this.key = key;
  }
}

/** One destination's share of one run, as the process driving it last saved it. */
export interface LaneRecord {
  readonly runId: string;
  readonly destination: string;
  /** `planning` (reading), `finishing` (source read: tail, mirror, retries, jobs), `done`. */
  readonly state: 'planning' | 'finishing' | 'done';
  /** The lane's counters (`DestinationCounters` and, once done, its summary). */
  readonly counters: unknown;
  readonly updatedAt: number;
}

export interface RunsStore {
  readonly createRun: (run: { id: string; startedAt: number; options: unknown }) => Promise<void>;
  readonly finishRun: (
    id: string,
    end: { status: RunStatus; finishedAt: number; summary: unknown; error?: string },
  ) => Promise<void>;
  /** Marks these `running` runs `interrupted` (their process died); returns how many were. */
  readonly interruptRuns: (ids: readonly string[], at: number) => Promise<number>;
  readonly getRun: (id: string) => Promise<RunRecord | undefined>;
  /** Newest first; `status` filters, `before` pages (runs started before that run). */
  readonly listRuns: (
    limit: number,
    filter?: { status?: RunStatus; before?: string },
  ) => Promise<RunRecord[]>;
  readonly saveLane: (lane: LaneRecord) => Promise<void>;
  readonly listLanes: (runId: string) => Promise<LaneRecord[]>;

  // Source bookkeeping.
  /**
   * Records ids as read in this run and returns those that had been read before this call: the
   * caller reports them (and repeats within `profileIds`) as duplicates.
   */
  readonly markSeen: (runId: string, profileIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Drops the read-ids of one run (its reading is over), or of every run no longer `running`. */
  readonly forgetSeen: (runId?: string) => Promise<void>;
  readonly addBadRows: (runId: string, rows: readonly BadRow[]) => Promise<void>;
}

export interface LeasesStore {
  /**
   * Claims `key` for `owner` until `at + ttlMs` if it is free (never claimed, released or expired),
   * or still held with token `replacing` (a holder found dead). The token grows at every claim.
   */
  readonly claimLease: (claim: {
    key: string;
    owner: string;
    at: number;
    ttlMs: number;
    replacing?: number;
  }) => Promise<Lease | undefined>;
  /** Extends an unexpired lease; false when it was lost. */
  readonly renewLease: (fence: Fence, at: number, ttlMs: number) => Promise<boolean>;
  readonly releaseLease: (fence: Fence) => Promise<void>;
  readonly readLease: (key: string) => Promise<Lease | undefined>;
  /** Unexpired leases whose key starts with `prefix`. */
  readonly listLeases: (prefix: string, at: number) => Promise<Lease[]>;
}

/** Writes of a job's life; each one is fenced by the lease of whoever drives the job, when given. */
export interface JobsStore {
  /** Persists a job and its ordered members, and marks them `pending` in it, before anything is sent. */
  readonly planJob: (job: NewJob, fence?: Fence) => Promise<void>;
  /**
   * Appends members to a `planned` job (after those it has), marks them `pending` in it and adds
   * `bytes` to its size, in one transaction: the engine fills a large job page by page instead of
   * holding it in memory. A job cut short by a crash is a smaller job, submitted as it is.
   */
  readonly addJobMembers: (
    jobId: string,
    part: { readonly at: number; readonly bytes: number; readonly members: readonly PlannedMember[] },
    fence?: Fence,
  ) => Promise<void>;
  readonly markSubmitting: (
    jobId: string,
    at: { attempt: number; callbackTokenHash: string | null },
    fence?: Fence,
  ) => Promise<void>;
  /**
   * Persists the handle (or `null` when nothing was submitted) and the profiles rejected at
   * submission, which leave the job's members.
   */
  readonly markSubmitted: (
    jobId: string,
    result: {
      handle: JobHandle | null;
      at: number;
      nextCheckAt: number | null;
      rejected: readonly SettledOutcome[];
    },
    fence?: Fence,
  ) => Promise<void>;
  readonly recordCheck: (
    jobId: string,
    check: { nextCheckAt: number; checkCount: number },
    fence?: Fence,
  ) => Promise<void>;
  /**
   * The job completed: `outcomes` for members that did not simply succeed, every other member is
   * confirmed (upserts `exported` with their fingerprint, deletes `deleted`). Members are dropped.
   */
  readonly settleJob: (
    jobId: string,
    settle: { at: number; outcomes: readonly SettledOutcome[] },
    fence?: Fence,
  ) => Promise<{ exported: number; deleted: number }>;
  /** The job failed as a whole: `outcomes` covers every member. */
  readonly failJob: (
    jobId: string,
    fail: { at: number; code: string; message: string; outcomes: readonly SettledOutcome[] },
    fence?: Fence,
  ) => Promise<void>;
  /** The vendor forgot the job: back to `planned`, to be submitted again with the same members. */
  readonly requeueJob: (jobId: string, fence?: Fence) => Promise<void>;
  readonly unfinishedJobs: (destination: string) => Promise<StoredJob[]>;
  readonly getJob: (jobId: string) => Promise<StoredJob | undefined>;
}

/** A job's members, read back: the store is where a large job lives between steps. */
export interface MembersStore {
  readonly jobMembers: (jobId: string) => Promise<PlannedMember[]>;
  /** The same members, a page (≤ 1,000) at a time, each page one read: for jobs too large to hold. */
  readonly jobMemberPages: (jobId: string) => AsyncIterable<PlannedMember[]>;
  /** Ids and identities of the members, in order: what `checkStatus` maps vendor results through. */
  readonly jobMemberIds: (jobId: string) => Promise<JobMember[]>;
}

export interface ProfilesStore {
  readonly getProfileStates: (
    destination: string,
    profileIds: readonly string[],
  ) => Promise<Map<string, ProfileStateSummary>>;
  readonly recordRejects: (
    destination: string,
    runId: string,
    at: number,
    rejects: readonly DirectReject[],
    fence?: Fence,
  ) => Promise<void>;
  readonly dueRetries: (destination: string, now: number, limit: number) => Promise<PlannedMember[]>;
  readonly nextRetryAt: (destination: string) => Promise<number | undefined>;
  /** `ferry retry`: rejected profiles are sent again on the next sync, waiting ones at once. */
  readonly requeueProblems: (
    destination: string | undefined,
    at: number,
  ) => Promise<{ rejected: number; waiting: number }>;
  // Mirror mode.
  readonly countConfirmed: (
    destination: string,
    runId?: string,
  ) => Promise<{ confirmed: number; unseen: number }>;
  readonly unseenConfirmed: (
    destination: string,
    runId: string,
    afterProfileId: string | undefined,
    limit: number,
  ) => Promise<{ profileId: string; identity: string }[]>;
}

/** Read models for `ferry status`, `ferry errors` and the service. */
export interface ReportsStore {
  readonly profileCounts: (destination?: string) => Promise<CountRow<ProfileStatus>[]>;
  readonly jobCounts: (destination?: string) => Promise<CountRow<JobState>[]>;
  readonly listProblems: (filter: {
    destination?: string;
    after?: { destination: string; profileId: string };
    limit: number;
  }) => Promise<ProfileIssue[]>;
  readonly listBadRows: (runId: string, afterRow: number, limit: number) => Promise<BadRow[]>;
  /** A run's jobs (every destination), in planning order. */
  readonly listJobs: (runId: string) => Promise<StoredJob[]>;
  /** One profile: where it stands at each of `destinations`, and the bad rows it was in, newest run first. */
  readonly profileRecord: (
    profileId: string,
    destinations: readonly string[],
  ) => Promise<{ states: ProfileStateRecord[]; badRows: (BadRow & { readonly runId: string })[] }>;
}

/** A profile's state at one destination, whole (the profile page of the service). */
export interface ProfileStateRecord {
  readonly destination: string;
  readonly identity: string;
  readonly status: ProfileStatus;
  readonly op: 'upsert' | 'delete';
  readonly fingerprint: string | null;
  readonly confirmedFingerprint: string | null;
  readonly jobId: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: number | null;
  readonly code: string | null;
  readonly message: string | null;
  readonly field: string | null;
  readonly runId: string | null;
  readonly updatedAt: number;
}

export interface StateStore
  extends RunsStore,
    LeasesStore,
    JobsStore,
    MembersStore,
    ProfilesStore,
    ReportsStore,
    ServiceStore,
    WebhookStore,
    ExportsStore,
    ReconcileStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the store lives, safe to print (no password). */
  readonly location: string;
  readonly close: () => Promise<void>;
}
