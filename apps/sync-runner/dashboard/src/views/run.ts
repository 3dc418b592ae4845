import { ApiError, getJson } from '../api.ts';
import { failure, h, loading, replace, table } from '../dom.ts';
import { between, count, dateTime, duration, shortId } from '../format.ts';
import { notify } from '../notices.ts';
import type { Phase, Progress, Run, RunDestination } from '../types.ts';
import { liveProgress } from './run-live.ts';
import { badRowsSection, problemsSection } from './run-problems.ts';
import { badge } from './shared.ts';
import type { View } from './view.ts';

/*
 * One run: its phases, live progress (server-sent events), each destination's vendor jobs, the
 * rejected profiles and bad rows, and Cancel / Retry for write tokens.
 */

const REFRESH_MS = 2500;

/** The server's phases when it reports them; otherwise read from the run's jobs. */
export const phasesOf = (run: Run): Phase[] => {
  if (run.phases !== undefined && run.phases.length > 0) return [...run.phases];
  const jobs = run.destinations.flatMap((d) => d.jobs);
  const times = (pick: (job: (typeof jobs)[number]) => string | null) =>
    jobs
      .map(pick)
      .filter((t): t is string => t !== null)
      .sort();
  const submitted = times((job) => job.submittedAt);
  const settledTimes = times((job) => job.settledAt);
  const reading = run.status === 'queued' || run.status === 'reading';
  const readEnd = submitted[0] ?? (reading ? null : run.finishedAt);
  return [
    { name: 'Read and plan', startedAt: run.createdAt, finishedAt: readEnd },
    {
      name: 'Submit',
      startedAt: submitted[0] ?? null,
      finishedAt: submitted.length > 0 ? submitted.at(-1)! : null,
    },
    {
      name: 'Vendor processing',
      startedAt: submitted[0] ?? null,
      finishedAt:
        settledTimes.length > 0 && settledTimes.length === jobs.length ? settledTimes.at(-1)! : null,
    },
    {
      name: 'Settle',
      startedAt: settledTimes[0] ?? null,
      finishedAt: run.finishedAt,
    },
  ];
};

/** Set through the CSSOM: the CSP allows no inline style attributes. */
const fill = (left: number, width: number): HTMLElement => {
  const element = h('span', { class: 'phase-fill' });
  element.style.marginLeft = `${left.toFixed(1)}%`;
  element.style.width = `${width.toFixed(1)}%`;
  return element;
};

const timeline = (run: Run): HTMLElement => {
  const phases = phasesOf(run);
  const start = Date.parse(run.createdAt);
  const end = run.finishedAt === null ? Date.now() : Date.parse(run.finishedAt);
  const span = Math.max(1, end - start);
  return h(
    'ol',
    { class: 'timeline', 'aria-label': 'Phases' },
    phases.map((phase) => {
      const from = phase.startedAt === null ? null : Date.parse(phase.startedAt);
      const to =
        phase.finishedAt === null
          ? from === null || run.finishedAt !== null
            ? null
            : Date.now()
          : Date.parse(phase.finishedAt);
      const left = from === null ? 0 : ((from - start) / span) * 100;
      const width = from === null || to === null ? 0 : Math.max(0.8, ((to - from) / span) * 100);
      return h(
        'li',
        {},
        h('span', { class: 'phase-name' }, phase.name),
        h('span', { class: 'phase-bar', 'aria-hidden': 'true' }, fill(left, width)),
        h(
          'span',
          { class: 'phase-time' },
          from === null
            ? 'not started'
            : `${duration(to === null ? null : to - from)}${phase.finishedAt === null && run.finishedAt === null ? ' so far' : ''}`,
        ),
      );
    }),
  );
};

const destinationCard = (d: RunDestination): HTMLElement =>
  h(
    'section',
    { class: 'card destination', 'aria-label': `Destination ${d.destination}` },
    h('h3', {}, d.destination, ' ', badge(d.state)),
    d.error === undefined ? null : h('p', { class: 'error', role: 'alert' }, d.error),
    h(
      'dl',
      { class: 'figures' },
      [
        ['Considered', d.considered],
        ['Unchanged', d.unchanged],
        ['Sent', d.sent],
        ['Exported', d.exported],
        ['Rejected', d.rejected],
        ['Retrying', d.retrying],
        ['Pending', d.pending],
        ['Status checks', d.statusChecks],
      ].map(([label, value]) =>
        h('div', {}, h('dt', {}, String(label)), h('dd', {}, count(value as number | null))),
      ),
    ),
    d.jobs.length === 0
      ? h('p', { class: 'help' }, 'No vendor jobs yet.')
      : table(
          `${d.destination}: vendor jobs`,
          [
            'Job',
            'Vendor job',
            'State',
            'Profiles',
            'Checks',
            'Next check',
            'Submitted',
            'Settled',
            'Rejected',
          ],
          d.jobs.map((job) => [
            shortId(job.id),
            job.vendorJobId ?? '—',
            badge(job.state),
            count(job.profiles),
            count(job.checks),
            dateTime(job.nextCheckAt),
            dateTime(job.submittedAt),
            dateTime(job.settledAt),
            count(job.rejected),
          ]),
        ),
  );

export const runView: View = (root, context) => {
  const id = context.param!;
  const path = `/v1/runs/${encodeURIComponent(id)}`;
  let alive = true;
  let events: EventSource | undefined;
  let timer: number | undefined;
  const stop = () => {
    events?.close();
    events = undefined;
    window.clearTimeout(timer);
  };

  // What the last action answered; kept across the re-render that follows it.
  let answered = '';
  const actions = (run: Run): HTMLElement | null => {
    if (!context.canWrite) return null;
    const status = h('p', { class: 'help', role: 'status' }, answered);
    const act = async (button: HTMLButtonElement, what: 'cancel' | 'retry') => {
      button.disabled = true;
      try {
        const answer = await getJson<{ rejected?: number; waiting?: number }>(`${path}/${what}`, {
          method: 'POST',
        });
        status.textContent =
          what === 'cancel'
            ? 'Cancel asked: writes in flight finish, vendor jobs are checked by the next run.'
            : `Retry asked: ${count(answer.rejected ?? 0)} rejected profiles go again in the next sync, ${count(answer.waiting ?? 0)} waiting ones at once.`;
        answered = status.textContent;
        notify(answered);
        void load();
      } catch (error) {
        status.textContent = error instanceof ApiError ? error.message : String(error);
        button.disabled = false;
      }
    };
    const cancel = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        onclick: (e: Event) => void act(e.currentTarget as HTMLButtonElement, 'cancel'),
      },
      'Cancel run',
    );
    const retry = h(
      'button',
      { type: 'button', onclick: (e: Event) => void act(e.currentTarget as HTMLButtonElement, 'retry') },
      'Retry rejected',
    );
    return h('div', { class: 'actions' }, run.finishedAt === null ? cancel : retry, status);
  };

  const render = (run: Run) => {
    context.setTitle(`Run ${shortId(run.id)}`);
    const live = liveProgress(run);
    const destinations = h('div', { class: 'destinations' }, run.destinations.map(destinationCard));
    const phases = h('div', {}, timeline(run));
    replace(
      root,
      h('p', {}, h('a', { href: '#/runs' }, '← All runs')),
      h('div', { class: 'title-row' }, h('h1', {}, `Run ${shortId(run.id)}`), badge(run.status)),
      h(
        'dl',
        { class: 'facts' },
        [
          ['Run id', h('code', {}, run.id)],
          ['Trigger', run.trigger ?? '—'],
          ['Started', dateTime(run.createdAt)],
          ['Finished', dateTime(run.finishedAt)],
          [
            'Duration',
            `${duration(between(run.createdAt, run.finishedAt))}${run.finishedAt === null ? ' so far' : ''}`,
          ],
          [
            'Source',
            `${run.source.kind === 'upload' ? 'uploaded file' : 'configured source'}: ${count(run.source.rows)} rows, ${count(run.source.records)} records, ${count(run.source.badRows)} bad, ${count(run.source.duplicates)} duplicates`,
          ],
          ['Exit code', run.exitCode === null ? '—' : String(run.exitCode)],
          ...(run.dryRun ? [['Dry run', 'yes'] as const] : []),
        ].map(([label, value]) => h('div', {}, h('dt', {}, label as string), h('dd', {}, value))),
      ),
      run.error === null ? null : h('p', { class: 'error', role: 'alert' }, run.error),
      actions(run),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'progress-title' },
        h('h2', { id: 'progress-title' }, 'Progress'),
        live.element,
        h('h3', {}, 'Phases'),
        phases,
      ),
      h('h2', {}, 'Destinations'),
      destinations,
      problemsSection(run),
      badRowsSection(run),
    );
    if (run.finishedAt !== null) return;
    // Live: the events move the bar; a light refresh keeps jobs, checks and phases current.
    events = new EventSource(`${path}/events`);
    events.addEventListener('progress', (event) =>
      live.onProgress(JSON.parse((event as MessageEvent).data) as Progress),
    );
    events.addEventListener('run', (event) => live.fromRun(JSON.parse((event as MessageEvent).data) as Run));
    const ended = () => {
      stop();
      void load();
    };
    events.addEventListener('finished', ended);
    events.addEventListener('failed', ended);
    const refresh = async () => {
      try {
        const next = await getJson<Run>(path);
        if (!alive) return;
        if (next.finishedAt !== null) return ended();
        replace(destinations, next.destinations.map(destinationCard));
        replace(phases, timeline(next));
      } catch {
        // The events still move the bar; try again on the next round.
      }
      if (alive) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
    };
    timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  };

  const load = async () => {
    stop();
    if (root.childElementCount === 0 || root.querySelector('.loading') !== null)
      replace(root, loading('the run'));
    try {
      const run = await getJson<Run>(path);
      if (alive) render(run);
    } catch (error) {
      if (!alive) return;
      replace(
        root,
        h('p', {}, h('a', { href: '#/runs' }, '← All runs')),
        h('h1', {}, `Run ${shortId(id)}`),
        failure(
          error instanceof ApiError && error.status === 404 ? new Error(`There is no run ${id}.`) : error,
          () => void load(),
        ),
      );
    }
  };
  replace(root, loading('the run'));
  void load();
  return () => {
    alive = false;
    stop();
  };
};
