/*
 * What a run did, counted as it goes. The same objects feed the progress display while the run is
 * going and, frozen, the summary table and the `--json` output (documented in docs/cli.md: keep the
 * field names stable, add fields rather than rename them).
 */

export interface SourceCounters {
  /** Items read from the source: records and bad rows. */
  rows: number;
  /** Readable records, duplicates excluded. */
  records: number;
  /** Rows reported as bad, duplicates included. */
  badRows: number;
  duplicates: number;
}

export interface DestinationCounters {
  /** The destination's key in the config (the state is kept under it). */
  readonly destination: string;
  /** The plugin's stable name. */
  readonly plugin: string;
  /** Records the destination looked at. */
  considered: number;
  /** Records whose values the destination already confirmed (or has in flight): nothing sent. */
  unchanged: number;
  /** Unchanged records the destination refused before: not sent again (`ferry retry` re-queues them). */
  stillRejected: number;
  /** Upserts put into jobs (first sends and retries). */
  queued: number;
  /** Deletes put into jobs (mirror mode). */
  deletesQueued: number;
  /** Jobs packed in this run (what a dry run would submit). */
  jobsPlanned: number;
  /** Jobs submitted, including resubmissions. */
  jobsSubmitted: number;
  /** Jobs settled (completed or failed as a whole). */
  jobsSettled: number;
  /** Submitted and not yet settled. */
  jobsInFlight: number;
  /** Upserts the destination confirmed in this run. */
  exported: number;
  /** Deletes the destination confirmed in this run. */
  deleted: number;
  /** Profiles refused for good in this run (mapping, size, vendor validation, retries exhausted). */
  rejected: number;
  /** Retryable failures scheduled for another attempt. */
  retried: number;
  /** Status checks made (pending answers included). */
  statusChecks: number;
}

/** The state of one destination when the run ended. */
export interface DestinationSummary extends Readonly<DestinationCounters> {
  /** Profiles still in submitted jobs (left for the next run: polling deadline, Ctrl-C, or a fatal error). */
  readonly pending: number;
  /** Profiles waiting for a retry later than this run was willing to wait. */
  readonly waitingRetry: number;
  /** Mirror mode: what the deletion safety check found. */
  readonly mirror?: {
    readonly confirmed: number;
    readonly absent: number;
    readonly maxDeleteFraction: number;
    readonly refused: boolean;
    /** Why deletion was refused. */
    readonly reason?: string;
  };
  /** Why the destination stopped early, when it did. Never contains secrets. */
  readonly error?: string;
}

/**
 * - 0: every profile that needed sending was exported;
 * - 1: the sync could not run (config, source, auth, store, refused mirror deletion);
 * - 2: some profiles were rejected (in this run, or earlier and unchanged since), or some source
 *   rows were bad (see `ferry errors`);
 * - 3: the sync ran, but some profiles are still in flight or waiting for a retry: run it again.
 */
export type ExitCode = 0 | 1 | 2 | 3;

export interface RunSummary {
  readonly runId: string;
  readonly status: 'completed' | 'failed' | 'aborted';
  readonly exitCode: ExitCode;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  readonly source: Readonly<SourceCounters>;
  readonly destinations: readonly DestinationSummary[];
  /** Why the run failed or stopped, when it did. Never contains secrets. */
  readonly error?: string;
}

export const newSourceCounters = (): SourceCounters => ({ rows: 0, records: 0, badRows: 0, duplicates: 0 });

export const newDestinationCounters = (destination: string, plugin: string): DestinationCounters => ({
  destination,
  plugin,
  considered: 0,
  unchanged: 0,
  stillRejected: 0,
  queued: 0,
  deletesQueued: 0,
  jobsPlanned: 0,
  jobsSubmitted: 0,
  jobsSettled: 0,
  jobsInFlight: 0,
  exported: 0,
  deleted: 0,
  rejected: 0,
  retried: 0,
  statusChecks: 0,
});

/** Live counters, read by the progress display whenever the engine reports a change. */
export interface SyncProgress {
  readonly runId: string;
  readonly source: Readonly<SourceCounters>;
  readonly destinations: readonly Readonly<DestinationCounters>[];
  /** `reading`, then `finishing` (no more input: packing the tail, mirror deletes, retries, waiting for jobs). */
  readonly phase: 'reading' | 'finishing';
}

export const exitCodeOf = (summary: Pick<RunSummary, 'status' | 'source' | 'destinations'>): ExitCode => {
  if (summary.status === 'failed') return 1;
  if (summary.destinations.some((d) => d.error !== undefined || d.mirror?.refused === true)) return 1;
  if (summary.source.badRows > 0 || summary.destinations.some((d) => d.rejected > 0 || d.stillRejected > 0))
    return 2;
  if (summary.status === 'aborted') return 3;
  if (summary.destinations.some((d) => d.pending > 0 || d.waitingRetry > 0)) return 3;
  return 0;
};
