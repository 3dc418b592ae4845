import type { SessionInfo } from '../api.ts';

/** What a view gets; it renders into its element and returns what to do when the user leaves it. */
export interface ViewContext {
  readonly session: SessionInfo;
  readonly canWrite: boolean;
  /** The path parameter (`#/runs/<id>`), decoded. */
  readonly param: string | undefined;
  /** Query parameters after the hash path (`#/runs?state=failed`). */
  readonly params: URLSearchParams;
  readonly setTitle: (title: string) => void;
}

export type View = (root: HTMLElement, context: ViewContext) => (() => void) | undefined;

/** Rewrites the hash query without adding a history entry per keystroke. */
export const setHashParams = (path: string, params: Record<string, string | undefined>): void => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, value);
  const text = search.toString();
  location.hash = `${path}${text === '' ? '' : `?${text}`}`;
};
