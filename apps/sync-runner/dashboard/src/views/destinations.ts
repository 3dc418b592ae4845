import { ApiError, getJson } from '../api.ts';
import { empty, failure, h, loading, replace } from '../dom.ts';
import { count } from '../format.ts';
import type { Destination, VerifyAnswer } from '../types.ts';
import type { View } from './view.ts';

/* The configured destinations: plugin, version, capabilities, limits, and Test connection. */

const LIMIT_LABELS: Readonly<Record<string, string>> = {
  maxProfilesPerJob: 'Profiles per job',
  maxBytesPerJob: 'Bytes per job',
  maxJobsInFlight: 'Jobs in flight',
  requestsPerSecond: 'Requests per second',
  maxConcurrentRequests: 'Concurrent requests',
};

const card = (d: Destination, canWrite: boolean): HTMLElement => {
  const result = h('div', { class: 'verify', role: 'status', 'aria-live': 'polite' });
  const test = async (button: HTMLButtonElement) => {
    button.disabled = true;
    result.textContent = 'Testing the connection…';
    try {
      const answer = await getJson<VerifyAnswer>(d.links.verify, { method: 'POST' });
      replace(
        result,
        answer.ok
          ? h('p', { class: 'ok' }, 'Connection OK: credentials, permissions, fields and lists are in order.')
          : h(
              'div',
              { class: 'error' },
              h('p', {}, 'The test found problems:'),
              h(
                'ul',
                {},
                answer.problems.map((p) =>
                  h('li', {}, `${p.kind}${p.subject === undefined ? '' : ` ${p.subject}`}: ${p.message}`),
                ),
              ),
            ),
      );
    } catch (error) {
      replace(result, h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    } finally {
      button.disabled = false;
    }
  };
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `dest-${d.name}` },
    h('h2', { id: `dest-${d.name}` }, d.name),
    h(
      'dl',
      { class: 'facts' },
      h('div', {}, h('dt', {}, 'Plugin'), h('dd', {}, `${d.displayName ?? d.plugin} (${d.plugin})`)),
      h('div', {}, h('dt', {}, 'Version'), h('dd', {}, d.version ?? '—')),
      h(
        'div',
        {},
        h('dt', {}, 'Options'),
        h('dd', {}, d.ok ? 'valid' : h('span', { class: 'error' }, d.error ?? 'invalid')),
      ),
    ),
    d.capabilities === undefined
      ? null
      : h(
          'div',
          {},
          h('h3', {}, 'Capabilities'),
          h(
            'ul',
            { class: 'caps' },
            Object.entries(d.capabilities).map(([name, yes]) =>
              h('li', { 'data-yes': String(yes) }, `${yes ? '✓' : '✗'} ${name}`),
            ),
          ),
        ),
    d.limits === undefined || d.limits === null
      ? null
      : h(
          'div',
          {},
          h('h3', {}, 'Limits'),
          h(
            'dl',
            { class: 'figures' },
            Object.entries(d.limits).map(([name, value]) =>
              h('div', {}, h('dt', {}, LIMIT_LABELS[name] ?? name), h('dd', {}, count(value))),
            ),
          ),
        ),
    canWrite
      ? h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: (e: Event) => void test(e.currentTarget as HTMLButtonElement),
          },
          'Test connection',
        )
      : null,
    result,
  );
};

export const destinationsView: View = (root, context) => {
  let alive = true;
  const load = async () => {
    replace(root, h('h1', {}, 'Destinations'), loading('destinations'));
    try {
      const { items } = await getJson<{ items: Destination[] }>('/v1/destinations');
      if (!alive) return;
      replace(
        root,
        h('h1', {}, 'Destinations'),
        items.length === 0
          ? empty('No destination is configured (see ferry.config).')
          : h(
              'div',
              { class: 'grid' },
              items.map((d) => card(d, context.canWrite)),
            ),
      );
    } catch (error) {
      if (alive)
        replace(
          root,
          h('h1', {}, 'Destinations'),
          failure(error, () => void load()),
        );
    }
  };
  void load();
  return () => {
    alive = false;
  };
};
