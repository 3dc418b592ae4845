import cliProgress from 'cli-progress';
import type { DestinationCounters, SyncProgress } from '../engine/summary.ts';
import { formatCount } from '../report/table.ts';

/*
 * Progress of `ferry sync`, on stderr so stdout stays for the report (or the `--json` document).
 * On a terminal: one line for the source and one bar per destination (profiles settled out of those
 * sent), redrawn at most 10 times a second. Elsewhere (CI, pipes, log files): a plain line every
 * few seconds and at each phase change, never a control sequence.
 */

export interface ProgressReporter {
  readonly update: (progress: SyncProgress) => void;
  /** A log line that must not be drawn over by the bars. Ends with a newline. */
  readonly log: (line: string) => void;
  readonly stop: () => void;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WritableStream & { readonly isTTY?: boolean };
  /** Draw bars (a terminal) or print lines. */
  readonly interactive: boolean;
  /** Print nothing but log lines. */
  readonly quiet?: boolean;
  /** Plain mode: least time between two progress lines (default 5 s). */
  readonly intervalMs?: number;
}

const settledOf = (d: DestinationCounters): number => d.exported + d.deleted + d.rejected + d.retried;

const describeDestination = (d: DestinationCounters): string =>
  `${d.destination}: ${formatCount(d.jobsSubmitted)} jobs submitted, ${formatCount(d.jobsInFlight)} pending, ` +
  `${formatCount(settledOf(d))}/${formatCount(d.queued + d.deletesQueued)} profiles settled`;

const describeSource = (progress: SyncProgress): string =>
  `${formatCount(progress.source.rows)} rows read` +
  (progress.source.badRows > 0 ? `, ${formatCount(progress.source.badRows)} bad` : '') +
  (progress.phase === 'finishing' ? ' (source done; waiting for jobs)' : '');

const plainProgress = (options: ProgressOptions): ProgressReporter => {
  const interval = options.intervalMs ?? 5000;
  let last = 0;
  let phase: SyncProgress['phase'] | undefined;
  return {
    update: (progress) => {
      const now = Date.now();
      if (options.quiet === true || (now - last < interval && progress.phase === phase)) return;
      last = now;
      phase = progress.phase;
      const parts = [describeSource(progress), ...progress.destinations.map(describeDestination)];
      options.stream.write(`[ferry] ${parts.join('; ')}\n`);
    },
    log: (line) => {
      options.stream.write(line);
    },
    stop: () => undefined,
  };
};

const barProgress = (options: ProgressOptions): ProgressReporter => {
  const multibar = new cliProgress.MultiBar(
    {
      stream: options.stream,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      barsize: 30,
      fps: 10,
      format: (opts, params, payload: { line?: string; label?: string; detail?: string }) => {
        if (payload.line !== undefined) return payload.line;
        const size = opts.barsize ?? 30;
        const filled = Math.round(params.progress * size);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(Math.max(0, size - filled))}`;
        return `${payload.label ?? ''} ${bar} ${payload.detail ?? ''}`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  const sourceLine = multibar.create(1, 0, { line: 'source: starting' });
  const bars = new Map<string, cliProgress.SingleBar>();
  let width = 0;
  return {
    update: (progress) => {
      sourceLine.update(0, { line: `source: ${describeSource(progress)}` });
      width = Math.max(width, ...progress.destinations.map((d) => d.destination.length));
      for (const d of progress.destinations) {
        let bar = bars.get(d.destination);
        if (bar === undefined) {
          bar = multibar.create(1, 0, {});
          bars.set(d.destination, bar);
        }
        const total = Math.max(1, d.queued + d.deletesQueued);
        bar.setTotal(total);
        bar.update(Math.min(total, settledOf(d)), {
          label: d.destination.padEnd(width),
          detail:
            `${formatCount(settledOf(d))}/${formatCount(d.queued + d.deletesQueued)} settled · ` +
            `${formatCount(d.jobsSubmitted)} jobs submitted · ${formatCount(d.jobsInFlight)} pending · ` +
            `${formatCount(d.considered)} read`,
        });
      }
    },
    log: (line) => multibar.log(line),
    stop: () => multibar.stop(),
  };
};

export const createProgress = (options: ProgressOptions): ProgressReporter =>
  options.interactive && options.quiet !== true ? barProgress(options) : plainProgress(options);
