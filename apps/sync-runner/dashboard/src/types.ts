/*
 * The API's shapes as the dashboard reads them (see /openapi.json). States are plain strings: a
 * newer server may add some, and the dashboard shows what it gets. Fields a newer server adds are
 * optional here.
 */

export interface Job {
  readonly id: string;
  readonly state: string;
  readonly profiles: number;
  readonly vendorJobId: string | null;
  readonly checks: number;
  readonly nextCheckAt: string | null;
  readonly submittedAt: string | null;
  readonly settledAt: string | null;
  readonly rejected: number;
}

export interface RunDestination {
  readonly destination: string;
  readonly state: string;
  readonly considered: number;
  readonly unchanged: number;
  readonly sent: number;
  readonly exported: number;
  readonly deleted: number;
  readonly rejected: number;
  readonly retrying: number;
  readonly pending: number | null;
  readonly statusChecks: number;
  readonly error?: string;
  readonly jobs: readonly Job[];
}

/** A phase with its times, if the server reports them (`phases`); else derived from the jobs. */
export interface Phase {
  readonly name: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

export interface Run {
  readonly id: string;
  readonly status: string;
  readonly trigger?: string;
  readonly dryRun: boolean;
  readonly full: boolean;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly exitCode: number | null;
  readonly source: {
    readonly kind: string;
    readonly rows: number;
    readonly records: number;
    readonly badRows: number;
    readonly duplicates: number;
  };
  readonly destinations: readonly RunDestination[];
  readonly error: string | null;
  readonly phases?: readonly Phase[];
  readonly links: {
    readonly self: string;
    readonly events: string;
    readonly records: string;
    readonly badRows: string;
  };
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface ProblemRecord {
  readonly destination: string;
  readonly profileId: string;
  readonly identity: string;
  readonly status: string;
  readonly code: string | null;
  readonly field: string | null;
  readonly message: string | null;
  readonly attempts: number;
  readonly nextAttemptAt: string | null;
  readonly updatedAt: string;
}

export interface BadRow {
  readonly row: number;
  readonly profileId: string | null;
  readonly reason: string;
}

export interface Destination {
  readonly name: string;
  readonly plugin: string;
  readonly displayName?: string;
  readonly version?: string | null;
  readonly capabilities?: Readonly<Record<string, boolean>>;
  readonly limits?: Readonly<Record<string, number>> | null;
  readonly ok: boolean;
  readonly error?: string;
  readonly links: { readonly verify: string };
}

export interface VerifyAnswer {
  readonly ok: boolean;
  readonly problems: readonly { kind: string; subject?: string; message: string }[];
}

export interface ProfileAnswer {
  readonly profileId: string;
  readonly destinations: readonly {
    destination: string;
    identity: string;
    status: string;
    op: string;
    inSync: boolean;
    code: string | null;
    field: string | null;
    message: string | null;
    attempts: number;
    nextAttemptAt: string | null;
    updatedAt: string;
    runId: string | null;
    job: {
      id: string;
      state: string;
      vendorJobId: string | null;
      submittedAt: string | null;
      settledAt: string | null;
    } | null;
  }[];
  readonly badRows: readonly { runId: string; row: number; reason: string }[];
}

/** What the engine's `progress` event carries (SyncProgress). */
export interface Progress {
  readonly source: { readonly records: number; readonly rows: number; readonly badRows: number };
  readonly destinations: readonly {
    readonly destination: string;
    readonly exported: number;
    readonly rejected: number;
    readonly unchanged: number;
    readonly stillRejected?: number;
    readonly deleted: number;
    readonly queued: number;
  }[];
  readonly phase: string;
}

export const ENDED = (run: Pick<Run, 'finishedAt'>): boolean => run.finishedAt !== null;
