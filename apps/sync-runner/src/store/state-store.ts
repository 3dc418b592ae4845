import type { JobHandle, JobMember, ProfileChange } from '@ferry/core';
import type { JobState, ProfileStatus, RunStatus } from './schema.ts';

export type { ChangeOp, JobState, ProfileStatus, RunStatus } from './schema.ts';

/*
 * The runner's durable memory, behind a small interface so that a PostgreSQL deployment, a service
 * mode and scale-out workers can use the same engine. Every method that takes many profiles writes
 * them in one transaction with multi-row statements: the engine never commits per profile.
 * Times are epoch milliseconds given by the caller, so tests can drive a fake clock.
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

export interface LockRecord {
  readonly owner: string;
  readonly acquiredAt: number;
  readonly heartbeatAt: number;
}

export interface StateStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the store lives, safe to print (no password). */
  readonly location: string;
  readonly close: () => Promise<void>;

  // Locking: one runner per store at a time.
  readonly readLock: (name: string) => Promise<LockRecord | undefined>;
  /** Takes the lock if it is free, or if it is still held by `replacing` (a holder found dead). */
  readonly tryAcquireLock: (name: string, owner: string, at: number, replacing?: string) => Promise<boolean>;
  readonly heartbeatLock: (name: string, owner: string, at: number) => Promise<void>;
  readonly releaseLock: (name: string, owner: string) => Promise<void>;

  // Runs.
  readonly createRun: (run: { id: string; startedAt: number; options: unknown }) => Promise<void>;
  readonly finishRun: (
    id: string,
    end: { status: RunStatus; finishedAt: number; summary: unknown; error?: string },
  ) => Promise<void>;
  /** Marks `running` runs as `interrupted` (their process died); returns how many. */
  readonly interruptRunningRuns: (at: number) => Promise<number>;
  readonly getRun: (id: string) => Promise<RunRecord | undefined>;
  readonly listRuns: (limit: number) => Promise<RunRecord[]>;

  // Source bookkeeping.
  /**
   * Records ids as read in this run and returns those that had been read before this call: the
   * caller reports them (and repeats within `profileIds`) as duplicates.
   */
  readonly markSeen: (runId: string, profileIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /** Drops the read-ids of every run but `keepRunId`: they only matter while their run is going. */
  readonly forgetSeen: (keepRunId?: string) => Promise<void>;
  readonly addBadRows: (runId: string, rows: readonly BadRow[]) => Promise<void>;
  readonly listBadRows: (runId: string, afterRow: number, limit: number) => Promise<BadRow[]>;

  // Diffing.
  readonly getProfileStates: (
    destination: string,
    profileIds: readonly string[],
  ) => Promise<Map<string, ProfileStateSummary>>;

  // Jobs.
  /** Persists a job and its ordered members, and marks them `pending` in it, before anything is sent. */
  readonly planJob: (job: NewJob) => Promise<void>;
  /**
   * Appends members to a `planned` job (after those it has), marks them `pending` in it and adds
   * `bytes` to its size, in one transaction: the engine fills a large job page by page instead of
   * holding it in memory. A job cut short by a crash is a smaller job, submitted as it is.
   */
  readonly addJobMembers: (
    jobId: string,
    part: { readonly at: number; readonly bytes: number; readonly members: readonly PlannedMember[] },
  ) => Promise<void>;
  readonly markSubmitting: (
    jobId: string,
    at: { attempt: number; callbackTokenHash: string | null },
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
  ) => Promise<void>;
  readonly recordCheck: (jobId: string, check: { nextCheckAt: number; checkCount: number }) => Promise<void>;
  /**
   * The job completed: `outcomes` for members that did not simply succeed, every other member is
   * confirmed (upserts `exported` with their fingerprint, deletes `deleted`). Members are dropped.
   */
  readonly settleJob: (
    jobId: string,
    settle: { at: number; outcomes: readonly SettledOutcome[] },
  ) => Promise<{ exported: number; deleted: number }>;
  /** The job failed as a whole: `outcomes` covers every member. */
  readonly failJob: (
    jobId: string,
    fail: { at: number; code: string; message: string; outcomes: readonly SettledOutcome[] },
  ) => Promise<void>;
  /** The vendor forgot the job: back to `planned`, to be submitted again with the same members. */
  readonly requeueJob: (jobId: string) => Promise<void>;
  readonly recordRejects: (
    destination: string,
    runId: string,
    at: number,
    rejects: readonly DirectReject[],
  ) => Promise<void>;
  readonly unfinishedJobs: (destination: string) => Promise<StoredJob[]>;
  readonly getJob: (jobId: string) => Promise<StoredJob | undefined>;
  readonly jobMembers: (jobId: string) => Promise<PlannedMember[]>;
  /** The same members, a page (≤ 1,000) at a time, each page one read: for jobs too large to hold. */
  readonly jobMemberPages: (jobId: string) => AsyncIterable<PlannedMember[]>;
  /** Ids and identities of the members, in order: what `checkStatus` maps vendor results through. */
  readonly jobMemberIds: (jobId: string) => Promise<JobMember[]>;

  // Retries.
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

  // Reports.
  readonly profileCounts: (destination?: string) => Promise<CountRow<ProfileStatus>[]>;
  readonly jobCounts: (destination?: string) => Promise<CountRow<JobState>[]>;
  readonly listProblems: (filter: {
    destination?: string;
    after?: { destination: string; profileId: string };
    limit: number;
  }) => Promise<ProfileIssue[]>;
}
