/* Dates, durations and counts as people read them. */

export const dateTime = (iso: string | null | undefined): string =>
  iso == null
    ? '—'
    : new Date(iso).toLocaleString(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });

export const duration = (ms: number | null): string => {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
};

export const between = (from: string | null, to: string | null, now = Date.now()): number | null =>
  from === null ? null : (to === null ? now : Date.parse(to)) - Date.parse(from);

export const count = (n: number | null | undefined): string => (n == null ? '—' : n.toLocaleString('en'));

/** `run_20261207T083250717Z_a4c06a` → `…a4c06a`: the random tail tells runs apart, the full id is on the page. */
export const shortId = (id: string): string => {
  const tail = id.slice(id.lastIndexOf('_') + 1);
  if (tail.length >= 4 && tail.length < id.length) return `…${tail}`;
  return id.length > 12 ? `${id.slice(0, 10)}…` : id;
};

/** A state string as words; unknown states (newer servers) show as they come. */
export const stateLabel = (state: string): string => state.replaceAll('_', ' ');
