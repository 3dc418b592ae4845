import { getJson, query } from '../api.ts';
import { empty, failure, h, loading, replace, table } from '../dom.ts';
import { between, count, dateTime, duration, shortId, stateLabel } from '../format.ts';
import type { Destination, Page, Run } from '../types.ts';
import { runsChart } from './runs-chart.ts';
import { badge, pager, select } from './shared.ts';
import { setHashParams, type View } from './view.ts';

/* Runs, newest first: filter by state and destination, page by cursor; above them, runs over time. */

/** Until the OpenAPI document says which states this server has. */
const KNOWN_STATES = [
  'queued',
  'reading',
  'waiting_for_vendor',
  'completed',
  'completed_with_errors',
  'failed',
  'canceled',
];

interface OpenApiDocument {
  paths?: Record<string, { get?: { parameters?: { name: string; schema?: { enum?: string[] } }[] } }>;
}

/** The run states this server knows, from its own OpenAPI document (a newer server may have more). */
const serverStates = async (): Promise<string[]> => {
  try {
    const doc = await getJson<OpenApiDocument>('/openapi.json');
    const states = doc.paths?.['/v1/runs']?.get?.parameters?.find((p) => p.name === 'state')?.schema?.enum;
    return states !== undefined && states.length > 0 ? states : KNOWN_STATES;
  } catch {
    return KNOWN_STATES;
  }
};
const PAGE_SIZE = 20;

export const runsView: View = (root, context) => {
  const state = context.params.get('state') ?? '';
  const destination = context.params.get('destination') ?? '';
  const paging = { cursors: [undefined] as (string | undefined)[], index: 0 };
  const filters = h('form', {
    class: 'filters',
    'aria-label': 'Filter runs',
    onsubmit: (e: Event) => e.preventDefault(),
  });
  const body = h('div', {});
  const apply = (next: { state?: string; destination?: string }) =>
    setHashParams('#/runs', { state, destination, ...next });
  replace(
    root,
    h(
      'div',
      { class: 'title-row' },
      h('h1', {}, 'Runs'),
      context.canWrite ? h('a', { class: 'button', href: '#/new' }, 'New sync') : null,
    ),
    filters,
    runsChart(destination),
    body,
  );
  const stateSlot = h('div', { class: 'field' });
  const destinationSlot = h('div', { class: 'field' });
  filters.append(stateSlot, destinationSlot);
  const stateSelect = (states: readonly string[]) =>
    replace(
      stateSlot,
      ...select(
        'filter-state',
        'State',
        [{ value: '', text: 'Any state' }, ...states.map((s) => ({ value: s, text: stateLabel(s) }))],
        state,
        (value) => apply({ state: value }),
      ),
    );
  stateSelect(KNOWN_STATES);
  void serverStates().then(stateSelect);
  void getJson<{ items: Destination[] }>('/v1/destinations')
    .then(({ items }) =>
      replace(
        destinationSlot,
        ...select(
          'filter-destination',
          'Destination',
          [{ value: '', text: 'Any destination' }, ...items.map((d) => ({ value: d.name, text: d.name }))],
          destination,
          (value) => apply({ destination: value }),
        ),
      ),
    )
    .catch(() => {
      // The list still works without the destination filter.
    });

  let alive = true;
  const load = async () => {
    replace(body, loading('runs'));
    try {
      const page = await getJson<Page<Run>>(
        `/v1/runs${query({ state, destination, limit: PAGE_SIZE, cursor: paging.cursors[paging.index] })}`,
      );
      if (!alive) return;
      if (page.items.length === 0) {
        replace(
          body,
          empty(
            state === '' && destination === '' ? 'No runs yet.' : 'No run matches these filters.',
            context.canWrite && state === ''
              ? h('p', {}, h('a', { href: '#/new' }, 'Start a sync from a file.'))
              : null,
          ),
        );
        return;
      }
      const perDestination = (run: Run) =>
        run.destinations.length === 0
          ? '—'
          : h(
              'ul',
              { class: 'counts' },
              run.destinations.map((d) =>
                h(
                  'li',
                  {},
                  h('strong', {}, d.destination),
                  ` ${count(d.exported)} exported · ${count(d.rejected)} rejected · ${d.pending === null ? 'pending —' : `${count(d.pending)} pending`}`,
                ),
              ),
            );
      replace(
        body,
        table(
          'Runs, newest first',
          ['Run', 'State', 'Trigger', 'Started', 'Duration', 'Per destination'],
          page.items.map((run) => [
            h('a', { href: `#/runs/${encodeURIComponent(run.id)}`, 'data-run-id': run.id }, shortId(run.id)),
            badge(run.status),
            run.trigger ?? '—',
            dateTime(run.createdAt),
            duration(between(run.createdAt, run.finishedAt)),
            perDestination(run),
          ]),
          { class: 'runs' },
        ),
        pager('Pages of runs', paging, page.nextCursor, () => void load()),
      );
    } catch (error) {
      if (alive)
        replace(
          body,
          failure(error, () => void load()),
        );
    }
  };
  void load();
  return () => {
    alive = false;
  };
};
