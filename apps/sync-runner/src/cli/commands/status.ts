import type { RunSummary } from '../../engine/summary.ts';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatSummary } from '../../report/summary-table.ts';
import { formatTable } from '../../report/table.ts';
import type { JobState, ProfileStatus, RunRecord, StateStore } from '../../store/state-store.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { openCommandStore, type StoreOptions } from './setup.ts';

export interface StatusCommandOptions extends StoreOptions {
  readonly json?: boolean;
  /** Runs listed (default 10). */
  readonly limit?: number;
}

const PROFILE_STATUSES: readonly ProfileStatus[] = [
  'exported',
  'pending',
  'retry_wait',
  'rejected',
  'deleted',
];
const OPEN_JOB_STATES: readonly JobState[] = ['planned', 'submitting', 'submitted'];

interface DestinationStatus {
  readonly destination: string;
  readonly profiles: Readonly<Record<ProfileStatus, number>>;
  /** Jobs not settled yet, by state. */
  readonly jobsInFlight: Readonly<Record<'planned' | 'submitting' | 'submitted', number>>;
}

const runSummaryOf = (run: RunRecord): RunSummary | undefined =>
  run.summary !== null && typeof run.summary === 'object' ? (run.summary as RunSummary) : undefined;

const destinationStatus = async (store: StateStore): Promise<DestinationStatus[]> => {
  const byName = new Map<
    string,
    { profiles: Record<string, number>; jobsInFlight: Record<string, number> }
  >();
  const entry = (name: string) => {
    let found = byName.get(name);
    if (found === undefined) {
      found = {
        profiles: Object.fromEntries(PROFILE_STATUSES.map((s) => [s, 0])),
        jobsInFlight: Object.fromEntries(OPEN_JOB_STATES.map((s) => [s, 0])),
      };
      byName.set(name, found);
    }
    return found;
  };
  for (const row of await store.profileCounts()) entry(row.destination).profiles[row.key] = row.count;
  for (const row of await store.jobCounts()) {
    if ((OPEN_JOB_STATES as readonly string[]).includes(row.key))
      entry(row.destination).jobsInFlight[row.key] = row.count;
    else entry(row.destination);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([destination, value]) => ({ destination, ...value }) as DestinationStatus);
};

const runRow = (run: RunRecord) => {
  const summary = runSummaryOf(run);
  return {
    id: run.id,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    status: run.status,
    dryRun: summary?.dryRun ?? (run.options as { dryRun?: boolean } | null)?.dryRun ?? false,
    exitCode: summary?.exitCode ?? null,
    rows: summary?.source.rows ?? null,
    sent: summary?.destinations.reduce((n, d) => n + d.queued + d.deletesQueued, 0) ?? null,
    exported: summary?.destinations.reduce((n, d) => n + d.exported + d.deleted, 0) ?? null,
    rejected: summary?.destinations.reduce((n, d) => n + d.rejected, 0) ?? null,
    error: run.error,
  };
};

/** `ferry status [run]`: recent runs, jobs in flight and profile counts, or one run's report. */
export const statusCommand = async (
  runId: string | undefined,
  options: StatusCommandOptions,
  io: CommandIO,
): Promise<number> => {
  let store: StateStore | undefined;
  try {
    store = await openCommandStore(options, io);
    if (runId !== undefined) {
      const run = await store.getRun(runId);
      if (run === undefined) throw new Error(`[ferry] no run ${JSON.stringify(runId)} in ${store.location}`);
      const summary = runSummaryOf(run);
      if (options.json === true) {
        io.stdout.write(jsonDocument('status', 0, { run: runRow(run), summary: summary ?? null }));
      } else if (summary !== undefined) {
        io.stdout.write(formatSummary(summary));
      } else {
        io.stdout.write(`Run ${run.id}: ${run.status}${run.error === null ? '' : ` — ${run.error}`}\n`);
      }
      return 0;
    }
    const destinations = await destinationStatus(store);
    const runs = (await store.listRuns(options.limit ?? 10)).map(runRow);
    if (options.json === true) {
      io.stdout.write(
        jsonDocument('status', 0, {
          store: { location: store.location, dialect: store.dialect },
          destinations,
          runs,
        }),
      );
      return 0;
    }
    const out: string[] = [`State: ${store.location} (${store.dialect})`, ''];
    if (destinations.length === 0) out.push('No profiles yet: run `ferry sync`.');
    else {
      out.push(
        formatTable(
          [
            { header: 'destination', value: (d: DestinationStatus) => d.destination },
            ...PROFILE_STATUSES.map((status) => ({
              header: status,
              value: (d: DestinationStatus) => d.profiles[status],
            })),
            {
              header: 'jobs in flight',
              value: (d: DestinationStatus) =>
                d.jobsInFlight.planned + d.jobsInFlight.submitting + d.jobsInFlight.submitted,
            },
          ],
          destinations,
        ).trimEnd(),
      );
    }
    if (runs.length > 0) {
      out.push(
        '',
        formatTable(
          [
            { header: 'run', value: (r: (typeof runs)[number]) => r.id },
            {
              header: 'started',
              value: (r: (typeof runs)[number]) => r.startedAt.replace('T', ' ').slice(0, 19),
            },
            {
              header: 'status',
              value: (r: (typeof runs)[number]) => (r.dryRun ? `${r.status} (dry run)` : r.status),
            },
            { header: 'exit', value: (r: (typeof runs)[number]) => r.exitCode ?? '' },
            { header: 'rows', value: (r: (typeof runs)[number]) => r.rows ?? '' },
            { header: 'sent', value: (r: (typeof runs)[number]) => r.sent ?? '' },
            { header: 'confirmed', value: (r: (typeof runs)[number]) => r.exported ?? '' },
            { header: 'rejected', value: (r: (typeof runs)[number]) => r.rejected ?? '' },
          ],
          runs,
        ).trimEnd(),
      );
    }
    io.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError('status', errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};
