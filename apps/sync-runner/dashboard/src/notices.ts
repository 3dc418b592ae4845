import { getJson } from './api.ts';
import { h } from './dom.ts';
import { count, shortId, stateLabel } from './format.ts';
import type { Run } from './types.ts';

/*
 * Runs started from this browser are watched wherever the user goes in the app: when one ends, a
 * notice with a link to its results appears (an aria-live region, so screen readers hear it). The
 * watch list is kept in sessionStorage, so a reload does not forget it.
 */

const KEY = 'ferry.watched-runs';
const POLL_MS = 1500;

const watched = (): string[] => {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
};
const save = (ids: readonly string[]) => sessionStorage.setItem(KEY, JSON.stringify(ids));

let timer: number | undefined;

export const notify = (text: string, link?: { href: string; text: string }, tone = 'info'): void => {
  const region = document.getElementById('notices');
  if (region === null) return;
  const notice = h(
    'div',
    { class: `notice notice-${tone}` },
    h('p', {}, text, ' ', link === undefined ? null : h('a', { href: link.href }, link.text)),
    h(
      'button',
      { type: 'button', class: 'link', 'aria-label': 'Dismiss notice', onclick: () => notice.remove() },
      '×',
    ),
  );
  region.append(notice);
};

const summary = (run: Run): string => {
  const exported = run.destinations.reduce((n, d) => n + d.exported, 0);
  const rejected = run.destinations.reduce((n, d) => n + d.rejected, 0);
  return `Sync ${shortId(run.id)} has ended: ${stateLabel(run.status)} — ${count(exported)} exported, ${count(rejected)} rejected, ${count(run.source.badRows)} bad rows.`;
};

const poll = async (): Promise<void> => {
  timer = undefined;
  const ids = watched();
  for (const id of ids) {
    try {
      const run = await getJson<Run>(`/v1/runs/${encodeURIComponent(id)}`, { quiet401: true });
      if (run.finishedAt === null) continue;
      save(watched().filter((other) => other !== id));
      notify(
        summary(run),
        { href: `#/runs/${encodeURIComponent(id)}`, text: 'See the results' },
        run.status === 'completed' ? 'ok' : 'warn',
      );
    } catch {
      // Signed out or the server is away: try again on the next round.
    }
  }
  if (watched().length > 0) timer = window.setTimeout(() => void poll(), POLL_MS);
};

export const watchRun = (id: string): void => {
  save([...watched().filter((other) => other !== id), id]);
  if (timer === undefined) timer = window.setTimeout(() => void poll(), POLL_MS);
};

export const resumeWatching = (): void => {
  if (watched().length > 0 && timer === undefined) void poll();
};

export const stopWatching = (): void => {
  if (timer !== undefined) window.clearTimeout(timer);
  timer = undefined;
  sessionStorage.removeItem(KEY);
};
