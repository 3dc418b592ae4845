import { getJson, query, request } from '../api.ts';
import { empty, failure, h, loading, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import type { BadRow, Page, ProblemRecord, Run } from '../types.ts';
import { badge, pager, select } from './shared.ts';

/*
 * A run's rejected profiles (search; filter by destination, code, field; pages; CSV download) and
 * its bad rows, from GET /v1/runs/{id}/records and /bad-rows.
 */

const PAGE_SIZE = 50;

const download = async (path: string, accept: string, name: string, status: HTMLElement) => {
  status.textContent = 'Preparing the download…';
  try {
    const blob = await (await request(path, { accept })).blob();
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = `Downloaded ${name}.`;
  } catch (error) {
    status.textContent = `The download failed: ${error instanceof Error ? error.message : String(error)}`;
  }
};

export const problemsSection = (run: Run): HTMLElement => {
  const filter = { q: '', destination: '', code: '', field: '', status: '' };
  const paging = { cursors: [undefined] as (string | undefined)[], index: 0 };
  const results = h('div', {});
  const downloadStatus = h('p', { class: 'help', role: 'status' });
  const input = (id: string, label: string, key: 'q' | 'code' | 'field', placeholder: string) => {
    const element = h('input', { id, name: id, type: 'search', placeholder, autocomplete: 'off' });
    let timer: number | undefined;
    element.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => {
        filter[key] = element.value.trim();
        paging.cursors = [undefined];
        paging.index = 0;
        void load();
      }, 250);
    });
    return h('div', { class: 'field' }, h('label', { for: id }, label), element);
  };
  const choose = (
    id: string,
    label: string,
    key: 'destination' | 'status',
    options: { value: string; text: string }[],
  ) =>
    h(
      'div',
      { class: 'field' },
      ...select(id, label, options, '', (value) => {
        filter[key] = value;
        paging.cursors = [undefined];
        paging.index = 0;
        void load();
      }),
    );
  const recordsPath = (extra: Record<string, string | number | undefined>) =>
    `${run.links.records}${query({ q: filter.q, destination: filter.destination, code: filter.code, field: filter.field, status: filter.status, ...extra })}`;

  const load = async () => {
    replace(results, loading('rejected profiles'));
    try {
      const page = await getJson<Page<ProblemRecord>>(
        recordsPath({ limit: PAGE_SIZE, cursor: paging.cursors[paging.index] }),
      );
      if (page.items.length === 0 && paging.index === 0) {
        const filtered = Object.values(filter).some((v) => v !== '');
        replace(
          results,
          empty(
            filtered
              ? 'No rejected profile matches these filters.'
              : run.finishedAt === null
                ? 'No rejected profiles so far.'
                : 'No rejected profiles: every destination took every profile it was sent.',
          ),
        );
        return;
      }
      replace(
        results,
        table(
          'Rejected profiles and profiles waiting for a retry',
          ['Destination', 'Profile', 'Identity', 'State', 'Code', 'Field', 'Message', 'Attempts', 'Updated'],
          page.items.map((r) => [
            r.destination,
            h('a', { href: `#/profiles/${encodeURIComponent(r.profileId)}` }, r.profileId),
            r.identity,
            badge(r.status),
            r.code ?? '—',
            r.field ?? '—',
            r.message ?? '—',
            count(r.attempts),
            dateTime(r.updatedAt),
          ]),
          { class: 'records', 'data-testid': 'records' },
        ),
        pager('Pages of rejected profiles', paging, page.nextCursor, () => void load()),
      );
    } catch (error) {
      replace(
        results,
        failure(error, () => void load()),
      );
    }
  };
  void load();

  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'rejects-title' },
    h(
      'div',
      { class: 'title-row' },
      h('h2', { id: 'rejects-title' }, 'Rejected profiles'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () =>
            void download(recordsPath({}), 'text/csv', `ferry-run-${run.id}-rejects.csv`, downloadStatus),
        },
        'Download CSV',
      ),
    ),
    downloadStatus,
    h(
      'form',
      {
        class: 'filters',
        'aria-label': 'Filter rejected profiles',
        onsubmit: (e: Event) => e.preventDefault(),
      },
      input('records-q', 'Search', 'q', 'profile id, email, message'),
      choose('records-destination', 'Destination', 'destination', [
        { value: '', text: 'Any destination' },
        ...run.destinations.map((d) => ({ value: d.destination, text: d.destination })),
      ]),
      choose('records-status', 'State', 'status', [
        { value: '', text: 'Rejected or waiting' },
        { value: 'rejected', text: 'rejected' },
        { value: 'retry_wait', text: 'retry wait' },
      ]),
      input('records-code', 'Code', 'code', 'e.g. invalid_email'),
      input('records-field', 'Field', 'field', 'e.g. email'),
    ),
    results,
  );
};

export const badRowsSection = (run: Run): HTMLElement => {
  const paging = { cursors: [undefined] as (string | undefined)[], index: 0 };
  const results = h('div', {});
  const load = async () => {
    replace(results, loading('bad rows'));
    try {
      const page = await getJson<Page<BadRow>>(
        `${run.links.badRows}${query({ limit: PAGE_SIZE, cursor: paging.cursors[paging.index] })}`,
      );
      if (page.items.length === 0 && paging.index === 0) {
        replace(results, empty('No bad rows: every row of the source could be read.'));
        return;
      }
      replace(
        results,
        table(
          'Bad source rows',
          ['Row', 'Profile', 'Reason'],
          page.items.map((row) => [String(row.row), row.profileId ?? '—', row.reason]),
          { class: 'bad-rows' },
        ),
        pager('Pages of bad rows', paging, page.nextCursor, () => void load()),
      );
    } catch (error) {
      replace(
        results,
        failure(error, () => void load()),
      );
    }
  };
  void load();
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bad-rows-title' },
    h('h2', { id: 'bad-rows-title' }, `Bad rows (${count(run.source.badRows)})`),
    results,
  );
};
