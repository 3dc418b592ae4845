import { z } from 'zod';
import type {
  DestinationCounters,
  DestinationSummary,
  RunSummary,
  SourceCounters,
} from '../engine/summary.ts';
import type { LaneRecord, RunRecord, StoredJob } from '../store/state-store.ts';

/*
 * A run as the API shows it: one `status` a UI can switch on, derived from the engine's run row and
 * the counters each destination lane last saved (so it reads the same from any process), and per
 * destination what was sent, exported, rejected, retried, still pending, with the vendor jobs.
 */

export const RUN_STATES = [
  'queued',
  'reading',
  'waiting_for_vendor',
  'completed',
  'completed_with_errors',
  'failed',
  'canceled',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Who started a run: `ferry sync`, the API with a bearer token, a schedule, or the dashboard. */
export const RUN_TRIGGERS = ['cli', 'api', 'schedule', 'dashboard'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

const jobSchema = z.object({
  id: z.string(),
  state: z.string(),
  profiles: z.number().int(),
  vendorJobId: z.string().nullable().meta({ description: "The vendor's id for the job, when it has one." }),
  checks: z.number().int(),
  nextCheckAt: z.string().nullable(),
  submittedAt: z.string().nullable(),
  settledAt: z.string().nullable(),
  rejected: z.number().int(),
});

const destinationSchema = z.object({
  destination: z.string(),
  state: z.enum(['waiting', 'reading', 'finishing', 'done']),
  considered: z.number().int(),
  unchanged: z.number().int(),
  sent: z.number().int().meta({ description: 'Upserts and deletes put into jobs.' }),
  exported: z.number().int(),
  deleted: z.number().int(),
  rejected: z.number().int(),
  retrying: z.number().int(),
  pending: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'Profiles still in vendor jobs; known once done.' }),
  statusChecks: z.number().int(),
  error: z.string().optional(),
  jobs: z.array(jobSchema),
});

export const runViewSchema = z
  .object({
    id: z.string(),
    status: z.enum(RUN_STATES),
    trigger: z.enum(RUN_TRIGGERS).meta({ description: 'Who started the run.' }),
    dryRun: z.boolean(),
    full: z.boolean(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    exitCode: z.number().int().nullable().meta({ description: 'The `ferry sync` exit code, once ended.' }),
    source: z.object({
      kind: z.enum(['configured', 'upload']),
      rows: z.number().int(),
      records: z.number().int(),
      badRows: z.number().int(),
      duplicates: z.number().int(),
    }),
    destinations: z.array(destinationSchema),
    error: z.string().nullable(),
    links: z.object({ self: z.string(), events: z.string(), records: z.string(), badRows: z.string() }),
  })
  .meta({ id: 'Run' });

export type RunView = z.infer<typeof runViewSchema>;

/** The run's free texts (errors from vendors and the engine) through the secret redactor. */
export const redactRunView = (view: RunView, redact: (text: string) => string): RunView => ({
  ...view,
  error: view.error === null ? null : redact(view.error),
  destinations: view.destinations.map((d) => (d.error === undefined ? d : { ...d, error: redact(d.error) })),
});

/** What the service records in a run's options. */
export interface ServiceRunOptions {
  /** Set on every run the service starts. */
  readonly service?: boolean;
  readonly trigger?: RunTrigger;
  readonly dryRun?: boolean;
  readonly full?: boolean;
  readonly destinations?: string[];
  readonly upload?: { readonly file: string; readonly format: 'csv' | 'jsonl' };
  /** The run's `Ferry-Async-Callback-Url`. */
  readonly callbackUrl?: string;
}

const iso = (ms: number | null | undefined): string | null =>
  ms == null ? null : new Date(ms).toISOString();

export const runStateOf = (run: RunRecord, lanes: readonly LaneRecord[]): RunState => {
  const summary = run.summary as RunSummary | null;
  switch (run.status) {
    case 'running':
      if (lanes.length === 0) return 'queued';
      return lanes.some((lane) => lane.state === 'planning') ? 'reading' : 'waiting_for_vendor';
    case 'completed':
      return summary !== null && summary.exitCode !== 0 ? 'completed_with_errors' : 'completed';
    case 'aborted':
      return 'canceled';
    default:
      return 'failed';
  }
};

/** The store statuses a state comes from (the list filter). */
export const storeStatusOf = (state: RunState): RunRecord['status'] =>
  state === 'queued' || state === 'reading' || state === 'waiting_for_vendor'
    ? 'running'
    : state === 'completed' || state === 'completed_with_errors'
      ? 'completed'
      : state === 'canceled'
        ? 'aborted'
        : 'failed';

const vendorJobId = (job: StoredJob): string | null => {
  const id = job.handle?.id ?? job.handle?.jobId;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
};

export const runView = (
  run: RunRecord,
  lanes: readonly LaneRecord[],
  jobs: readonly StoredJob[],
): RunView => {
  const options = (run.options ?? {}) as ServiceRunOptions;
  const summary = run.summary as RunSummary | null;
  const saved = new Map(
    lanes.map((lane) => [
      lane.destination,
      lane as LaneRecord & {
        counters: { counters?: DestinationCounters; source?: SourceCounters; summary?: DestinationSummary };
      },
    ]),
  );
  const keys = summary?.destinations.map((d) => d.destination) ?? options.destinations ?? [...saved.keys()];
  const source: SourceCounters = summary?.source ??
    [...saved.values()][0]?.counters.source ?? { rows: 0, records: 0, badRows: 0, duplicates: 0 };
  const base = `/v1/runs/${encodeURIComponent(run.id)}`;
  return {
    id: run.id,
    status: runStateOf(run, lanes),
    trigger: options.trigger ?? (options.service === true ? 'api' : 'cli'),
    dryRun: options.dryRun === true,
    full: options.full === true,
    createdAt: iso(run.startedAt)!,
    finishedAt: iso(run.finishedAt),
    exitCode: summary?.exitCode ?? null,
    source: { kind: options.upload === undefined ? 'configured' : 'upload', ...source },
    destinations: keys.map((key) => {
      const lane = saved.get(key);
      const done = summary?.destinations.find((d) => d.destination === key) ?? lane?.counters.summary;
      const counters: Partial<DestinationSummary> = done ?? lane?.counters.counters ?? {};
      return {
        destination: key,
        state:
          done !== undefined
            ? 'done'
            : lane === undefined
              ? 'waiting'
              : lane.state === 'planning'
                ? 'reading'
                : lane.state === 'finishing'
                  ? 'finishing'
                  : 'done',
        considered: counters.considered ?? 0,
        unchanged: counters.unchanged ?? 0,
        sent: (counters.queued ?? 0) + (counters.deletesQueued ?? 0),
        exported: counters.exported ?? 0,
        deleted: counters.deleted ?? 0,
        rejected: counters.rejected ?? 0,
        retrying: counters.retried ?? 0,
        pending: done === undefined ? null : (done.pending ?? 0),
        statusChecks: counters.statusChecks ?? 0,
        ...(done?.error === undefined ? {} : { error: done.error }),
        jobs: jobs
          .filter((job) => job.destination === key)
          .map((job) => ({
            id: job.id,
            state: job.state,
            profiles: job.memberCount,
            vendorJobId: vendorJobId(job),
            checks: job.checkCount,
            nextCheckAt: iso(job.nextCheckAt),
            submittedAt: iso(job.submittedAt),
            settledAt: iso(job.settledAt),
            rejected: job.rejectedCount,
          })),
      };
    }),
    error: run.error,
    links: {
      self: base,
      events: `${base}/events`,
      records: `${base}/records`,
      badRows: `${base}/bad-rows`,
    },
  };
};
