import type { DestinationSummary, ExitCode, RunSummary } from '../engine/summary.ts';
import { formatCount, formatTable, printable } from './table.ts';

const EXIT_MEANING: Readonly<Record<ExitCode, string>> = {
  0: 'everything that needed sending was exported',
  1: 'the sync could not run as asked',
  2: 'some profiles were rejected or some rows were bad — see `ferry errors`',
  3: 'some profiles are still in flight or waiting for a retry — run `ferry sync` again later',
};

export const describeExitCode = (code: ExitCode): string => EXIT_MEANING[code];

const seconds = (ms: number): string =>
  ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;

const columns = (dryRun: boolean) =>
  [
    { header: 'destination', value: (d: DestinationSummary) => d.destination },
    { header: 'plugin', value: (d: DestinationSummary) => d.plugin },
    { header: 'unchanged', value: (d: DestinationSummary) => d.unchanged },
    { header: dryRun ? 'would send' : 'sent', value: (d: DestinationSummary) => d.queued },
    ...(dryRun
      ? [{ header: 'would delete', value: (d: DestinationSummary) => d.deletesQueued }]
      : [
          { header: 'exported', value: (d: DestinationSummary) => d.exported },
          { header: 'deleted', value: (d: DestinationSummary) => d.deleted },
        ]),
    { header: 'rejected', value: (d: DestinationSummary) => d.rejected + d.stillRejected },
    ...(dryRun
      ? []
      : [
          { header: 'retrying', value: (d: DestinationSummary) => d.waitingRetry },
          { header: 'pending', value: (d: DestinationSummary) => d.pending },
        ]),
    {
      header: 'jobs',
      value: (d: DestinationSummary) => (dryRun ? d.jobsPlanned : d.jobsSubmitted),
    },
  ] as const;

/** The end-of-run report: what was read, one row per destination, and what needs attention. */
export const formatSummary = (summary: RunSummary): string => {
  const { source } = summary;
  const lines: string[] = [];
  const verb = summary.dryRun ? 'Dry run' : 'Run';
  lines.push(`${verb} ${summary.runId} ${summary.status} in ${seconds(summary.durationMs)}`);
  const bad =
    source.badRows === 0
      ? 'no bad rows'
      : `${formatCount(source.badRows)} bad rows${source.duplicates > 0 ? ` (${formatCount(source.duplicates)} duplicate ids)` : ''}`;
  lines.push(`Source: ${formatCount(source.rows)} rows read, ${formatCount(source.records)} records, ${bad}`);
  lines.push('');
  lines.push(formatTable(columns(summary.dryRun), summary.destinations).trimEnd());
  const notes: string[] = [];
  if (summary.error !== undefined) notes.push(printable(summary.error));
  for (const destination of summary.destinations) {
    if (destination.error !== undefined) notes.push(printable(destination.error));
    if (destination.mirror?.reason !== undefined) notes.push(printable(destination.mirror.reason));
    else if (destination.mirror !== undefined && destination.mirror.absent > 0 && summary.dryRun) {
      notes.push(
        `[${destination.destination}] mirror: ${formatCount(destination.mirror.absent)} profiles would be deleted`,
      );
    }
    if (destination.stillRejected > 0) {
      notes.push(
        `[${destination.destination}] ${formatCount(destination.stillRejected)} unchanged profiles were rejected before and not sent again (\`ferry retry\` re-queues them)`,
      );
    }
  }
  if (notes.length > 0) lines.push('', ...notes);
  lines.push('', `Exit ${summary.exitCode}: ${describeExitCode(summary.exitCode)}`);
  return `${lines.join('\n')}\n`;
};
