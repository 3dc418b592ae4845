import { ApiError, getJson } from '../api.ts';
import { empty, failure, h, loading, replace, table } from '../dom.ts';
import { count, dateTime, shortId } from '../format.ts';
import type { ProfileAnswer } from '../types.ts';
import { badge } from './shared.ts';
import type { View } from './view.ts';

/* One profile across destinations and runs (GET /v1/profiles/{id}), with a search box. */

export const profileView: View = (root, context) => {
  const id = context.param;
  const input = h('input', {
    id: 'profile-id',
    name: 'profile',
    type: 'search',
    required: true,
    value: id ?? '',
    autocomplete: 'off',
  });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'profile-id' }, 'Profile id'), input),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() !== '') location.hash = `#/profiles/${encodeURIComponent(input.value.trim())}`;
  });
  const body = h('div', {});
  replace(root, h('h1', {}, id === undefined ? 'Profile' : `Profile ${id}`), form, body);
  if (id === undefined) {
    replace(
      body,
      empty('Enter a profile id (the source’s id column) to see where it stands at every destination.'),
    );
    return undefined;
  }
  context.setTitle(`Profile ${id}`);
  let alive = true;
  const load = async () => {
    replace(body, loading('the profile'));
    try {
      const profile = await getJson<ProfileAnswer>(`/v1/profiles/${encodeURIComponent(id)}`);
      if (!alive) return;
      replace(
        body,
        profile.destinations.length === 0
          ? empty('No destination holds this profile yet.')
          : table(
              'At each destination: the latest change sent and the vendor’s verdict',
              [
                'Destination',
                'Identity',
                'Verdict',
                'In sync',
                'Code',
                'Field',
                'Message',
                'Attempts',
                'When',
                'Run',
                'Vendor job',
              ],
              profile.destinations.map((d) => [
                d.destination,
                d.identity,
                badge(d.status),
                d.inSync ? 'yes' : 'no',
                d.code ?? '—',
                d.field ?? '—',
                d.message ?? '—',
                count(d.attempts),
                dateTime(d.updatedAt),
                d.runId === null
                  ? '—'
                  : h('a', { href: `#/runs/${encodeURIComponent(d.runId)}` }, shortId(d.runId)),
                d.job === null ? '—' : `${d.job.vendorJobId ?? shortId(d.job.id)} (${d.job.state})`,
              ]),
            ),
        profile.badRows.length === 0
          ? null
          : table(
              'Bad source rows with this profile',
              ['Run', 'Row', 'Reason'],
              profile.badRows.map((row) => [
                h('a', { href: `#/runs/${encodeURIComponent(row.runId)}` }, shortId(row.runId)),
                String(row.row),
                row.reason,
              ]),
            ),
      );
    } catch (error) {
      if (!alive) return;
      replace(
        body,
        error instanceof ApiError && error.status === 404
          ? empty(`No destination or run knows a profile ${id}.`)
          : failure(error, () => void load()),
      );
    }
  };
  void load();
  return () => {
    alive = false;
  };
};
