import { ApiError, getJson, query } from '../api.ts';
import { failure, h, loading, replace } from '../dom.ts';
import { shortId } from '../format.ts';
import { watchRun } from '../notices.ts';
import type { Destination, Run } from '../types.ts';
import type { View } from './view.ts';

/*
 * Start a sync from a CSV or JSONL file. The answer comes at once (202: the run is recorded and
 * queued); the page says so and the app tells the user when the run ends, wherever they are.
 */

const typeOf = (file: File): string | undefined => {
  const name = file.name.toLowerCase();
  if (name.endsWith('.csv') || file.type === 'text/csv') return 'text/csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || file.type === 'application/x-ndjson')
    return 'application/x-ndjson';
  return undefined;
};

export const newSyncView: View = (root, context) => {
  if (!context.canWrite) {
    replace(
      root,
      h('h1', {}, 'New sync'),
      h(
        'p',
        { class: 'error', role: 'alert' },
        'This token is read only: it can look at runs but not start them.',
      ),
    );
    return undefined;
  }
  replace(root, h('h1', {}, 'New sync'), loading('the destinations'));
  let alive = true;
  const start = async () => {
    let destinations: Destination[];
    try {
      destinations = (await getJson<{ items: Destination[] }>('/v1/destinations')).items;
    } catch (error) {
      if (alive)
        replace(
          root,
          h('h1', {}, 'New sync'),
          failure(error, () => void start()),
        );
      return;
    }
    if (!alive) return;
    const file = h('input', {
      id: 'file',
      name: 'file',
      type: 'file',
      accept: '.csv,.jsonl,.ndjson,text/csv,application/x-ndjson',
      required: true,
      'aria-describedby': 'file-help',
    });
    const boxes = destinations.map((d) =>
      h('input', {
        type: 'checkbox',
        id: `dest-${d.name}`,
        name: 'destinations',
        value: d.name,
        checked: true,
      }),
    );
    const dryRun = h('input', { type: 'checkbox', id: 'dry-run', name: 'dryRun' });
    const full = h('input', { type: 'checkbox', id: 'full', name: 'full' });
    const status = h('div', { class: 'answer', role: 'status', 'aria-live': 'polite' });
    const button = h('button', { type: 'submit' }, 'Start sync');
    const form = h(
      'form',
      { class: 'card', 'aria-labelledby': 'new-title' },
      h('h2', { id: 'new-title' }, 'Upload profiles'),
      h('label', { for: 'file' }, 'File (CSV or JSONL)'),
      file,
      h(
        'p',
        { id: 'file-help', class: 'help' },
        'Read with the configured source rules (id column, types). Rows with mistakes are reported as bad rows; profiles a vendor refuses, as rejects.',
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Destinations'),
        destinations.length === 0
          ? h('p', {}, 'No destination is configured.')
          : destinations.map((d, i) =>
              h(
                'div',
                { class: 'check' },
                boxes[i],
                h('label', { for: `dest-${d.name}` }, `${d.name} (${d.displayName ?? d.plugin})`),
              ),
            ),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Options'),
        h(
          'div',
          { class: 'check' },
          dryRun,
          h('label', { for: 'dry-run' }, 'Dry run: read, map and compare; send nothing'),
        ),
        h('div', { class: 'check' }, full, h('label', { for: 'full' }, 'Send every profile, changed or not')),
      ),
      button,
      status,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = file.files?.[0];
      const names = boxes.filter((box) => box.checked).map((box) => box.value);
      const type = chosen === undefined ? undefined : typeOf(chosen);
      const problem =
        chosen === undefined
          ? 'Choose a file first.'
          : type === undefined
            ? 'The file must be .csv or .jsonl.'
            : names.length === 0
              ? 'Choose at least one destination.'
              : undefined;
      if (problem !== undefined || chosen === undefined || type === undefined) {
        replace(status, h('p', { class: 'error', role: 'alert' }, problem ?? ''));
        return;
      }
      button.disabled = true;
      status.textContent = `Uploading ${chosen.name}…`;
      try {
        const run = await getJson<Run>(
          `/v1/runs${query({ destinations: names.join(','), dryRun: dryRun.checked || undefined, full: full.checked || undefined })}`,
          {
            method: 'POST',
            body: chosen,
            headers: { 'content-type': type, 'idempotency-key': crypto.randomUUID() },
          },
        );
        watchRun(run.id);
        replace(
          status,
          h(
            'p',
            { class: 'ok' },
            h('strong', {}, 'Sync scheduled. '),
            `Run ${shortId(run.id)} is queued; this app will tell you when it is done — carry on with anything else.`,
          ),
          h(
            'p',
            {},
            h('a', { href: `#/runs/${encodeURIComponent(run.id)}`, 'data-run-id': run.id }, 'Follow it live'),
          ),
        );
        form.reset();
        for (const box of boxes) box.checked = true;
      } catch (error) {
        replace(
          status,
          h(
            'p',
            { class: 'error', role: 'alert' },
            error instanceof ApiError ? error.message : String(error),
          ),
        );
      } finally {
        button.disabled = false;
      }
    });
    replace(root, h('h1', {}, 'New sync'), form);
  };
  void start();
  return () => {
    alive = false;
  };
};
