import { chart, type Series } from '../charts.ts';
import { h } from '../dom.ts';
import { count } from '../format.ts';
import type { Progress, Run } from '../types.ts';

/*
 * A run's progress: a bar (profiles settled of those read, times destinations), profiles per
 * second, and a throughput chart — live from the run's server-sent events while it goes, from its
 * jobs' settle times once it has ended.
 */

interface Sample {
  readonly t: number;
  readonly done: number;
}

type Counts = {
  exported: number;
  rejected: number;
  unchanged: number;
  deleted: number;
  stillRejected?: number;
};
const settled = (d: Counts) => d.exported + d.rejected + d.unchanged + d.deleted + (d.stillRejected ?? 0);

export const doneOf = (progress: Pick<Progress, 'source'> & { destinations: readonly Counts[] }) => ({
  done: progress.destinations.reduce((n, d) => n + settled(d), 0),
  total: progress.source.records * Math.max(1, progress.destinations.length),
});

/**
 * Profiles per second at each point: what settled in the window before it, over the window. Jobs
 * settle in lumps; a window of a sixth of the run (at least a second) smooths them into a rate.
 */
const rates = (points: readonly { t: number; profiles: number }[]): { xs: number[]; rates: number[] } => {
  if (points.length === 0) return { xs: [], rates: [] };
  const span = points.at(-1)!.t - points[0]!.t;
  const window = Math.max(1000, span / 6);
  const xs: number[] = [];
  const values: number[] = [];
  for (const point of points) {
    const sum = points
      .filter((p) => p.t > point.t - window && p.t <= point.t)
      .reduce((n, p) => n + p.profiles, 0);
    xs.push(point.t / 1000);
    values.push(Math.round((sum / window) * 10_000) / 10);
  }
  return { xs, rates: values };
};

const fromJobs = (run: Run) =>
  rates(
    run.destinations
      .flatMap((d) => d.jobs)
      .filter((job) => job.settledAt !== null)
      .map((job) => ({ t: Date.parse(job.settledAt!), profiles: job.profiles }))
      .sort((a, b) => a.t - b.t),
  );

export const liveProgress = (run: Run) => {
  const bar = h('progress', {
    id: 'run-progress',
    max: 1,
    value: 0,
    'aria-describedby': 'run-progress-text',
  });
  const text = h('p', { id: 'run-progress-text', class: 'progress-text', 'aria-live': 'off' });
  const rate = h('p', { class: 'rate', 'data-testid': 'rate' });
  const samples: Sample[] = [];
  const series = (values: number[]): Series[] => [{ label: 'Profiles/s', color: '#0b5cad', values }];
  const initial = fromJobs(run);
  const figure = chart("This run's throughput", initial.xs, series(initial.rates), {
    yLabel: 'profiles/s',
    height: 180,
  });

  const show = (done: number, total: number) => {
    bar.max = Math.max(1, total);
    bar.value = Math.min(done, bar.max);
    bar.setAttribute('data-done', String(done));
    text.textContent = `${count(done)} of ${count(total)} profile outcomes settled${total === 0 ? '' : ` (${Math.floor((done / Math.max(1, total)) * 100)} %)`}`;
  };
  const fromRun = (view: Run) => {
    const { done, total } = doneOf(view);
    show(done, view.finishedAt === null ? total : Math.max(total, done));
  };
  fromRun(run);
  if (run.finishedAt !== null) {
    const seconds = (Date.parse(run.finishedAt) - Date.parse(run.createdAt)) / 1000;
    const { done } = doneOf(run);
    rate.textContent = seconds > 0 ? `${count(Math.round(done / seconds))} profiles/s on average` : '';
  }

  const onProgress = (progress: Progress) => {
    const { done, total } = doneOf(progress);
    show(done, total);
    const now = Date.now();
    samples.push({ t: now, done });
    // Profiles per second over the last few seconds of samples.
    const window = samples.filter((s) => s.t >= now - 5000);
    const oldest = window[0]!;
    const seconds = (now - oldest.t) / 1000;
    const perSecond = seconds > 0 ? (done - oldest.done) / seconds : 0;
    rate.textContent = `${count(Math.round(perSecond))} profiles/s`;
    const points = samples.slice(1).map((s, i) => ({ t: s.t, profiles: s.done - samples[i]!.done }));
    const next = rates(points);
    figure.update(next.xs, series(next.rates));
  };

  return {
    element: h(
      'div',
      { class: 'live' },
      h('label', { for: 'run-progress' }, 'Profiles settled'),
      bar,
      text,
      rate,
      figure.element,
    ),
    onProgress,
    fromRun,
  };
};
