import { getJson, query } from '../api.ts';
import { chart } from '../charts.ts';
import { failure, h, loading, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import { select } from './shared.ts';

/*
 * Runs over time (GET /v1/stats/runs): profiles exported and rejected per minute, hour or day, as
 * bars, with the same figures in a table for screen readers (hidden from view, not from them).
 */

interface RunStats {
  readonly bucket: 'minute' | 'hour' | 'day';
  readonly since: string;
  readonly items: readonly {
    start: string;
    runs: number;
    states: Record<string, number>;
    exported: number;
    rejected: number;
    badRows: number;
  }[];
}

/** Read by screen readers, not reached by Tab: the chart above is what sighted users get. */
const unfocusable = (element: HTMLElement): HTMLElement => {
  element.removeAttribute('tabindex');
  return element;
};

const PERIODS = [
  { value: 'minute', text: 'Last hour, per minute', ms: 60_000 },
  { value: 'hour', text: 'Last 24 hours, per hour', ms: 3_600_000 },
  { value: 'day', text: 'Last 30 days, per day', ms: 86_400_000 },
] as const;

export const runsChart = (destination: string, initial = 'hour'): HTMLElement => {
  const body = h('div', {});
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': 'runs-chart-title' },
    h('div', { class: 'title-row' }, h('h2', { id: 'runs-chart-title' }, 'Runs over time')),
    h(
      'div',
      { class: 'filters' },
      h(
        'div',
        { class: 'field' },
        ...select('chart-period', 'Period', [...PERIODS], initial, (value) => void load(value)),
      ),
    ),
    body,
  );
  const load = async (bucket: string) => {
    replace(body, loading('the chart'));
    try {
      const stats = await getJson<RunStats>(`/v1/stats/runs${query({ bucket, destination })}`);
      const ms = PERIODS.find((p) => p.value === stats.bucket)?.ms ?? 3_600_000;
      const byStart = new Map(stats.items.map((item) => [Date.parse(item.start), item]));
      const xs: number[] = [];
      const exported: number[] = [];
      const rejected: number[] = [];
      // Every bucket from `since` to now, empty ones too, so the bars stand where they happened.
      for (let t = Date.parse(stats.since); t <= Date.now(); t += ms) {
        xs.push(t / 1000);
        exported.push(byStart.get(t)?.exported ?? 0);
        rejected.push(byStart.get(t)?.rejected ?? 0);
      }
      const figure = chart(
        `Profiles exported and rejected per ${stats.bucket}`,
        xs,
        [
          { label: 'Exported', color: '#1a7f37', values: exported, bars: true, align: -1 },
          { label: 'Rejected', color: '#c62828', values: rejected, bars: true, align: 1 },
        ],
        { yLabel: 'profiles' },
      );
      replace(
        body,
        stats.items.length === 0 ? h('p', { class: 'help' }, 'No run in this period.') : null,
        figure.element,
        h(
          'div',
          { class: 'visually-hidden' },
          unfocusable(
            table(
              `Runs per ${stats.bucket}`,
              ['From', 'Runs', 'Exported', 'Rejected', 'Bad rows'],
              stats.items.map((item) => [
                dateTime(item.start),
                count(item.runs),
                count(item.exported),
                count(item.rejected),
                count(item.badRows),
              ]),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(
        body,
        failure(error, () => void load(bucket)),
      );
    }
  };
  void load(initial);
  return section;
};
