import { ApiError, getJson, request, type SessionInfo, useSession, whenSignedOut } from './api.ts';
import { h, replace } from './dom.ts';
import { resumeWatching, stopWatching } from './notices.ts';
import { destinationsView } from './views/destinations.ts';
import { newSyncView } from './views/new-sync.ts';
import { profileView } from './views/profile.ts';
import { runView } from './views/run.ts';
import { runsView } from './views/runs.ts';
import { signInView } from './views/sign-in.ts';
import type { View, ViewContext } from './views/view.ts';

/*
 * The app shell: sign-in, the navigation, and a hash router (#/runs, #/runs/<id>, #/new,
 * #/destinations, #/profiles/<id>) so the service serves one page and no route needs the server.
 */

const main = document.getElementById('main')!;
const top = document.getElementById('top')!;
let session: SessionInfo | undefined;
let cleanup: (() => void) | undefined;

const routes: readonly { pattern: RegExp; view: View; title: string; nav?: string }[] = [
  { pattern: /^#?\/?(?:runs)?$/, view: runsView, title: 'Runs', nav: 'runs' },
  { pattern: /^#\/runs\/([^/?]+)$/, view: runView, title: 'Run', nav: 'runs' },
  { pattern: /^#\/new$/, view: newSyncView, title: 'New sync', nav: 'new' },
  { pattern: /^#\/destinations$/, view: destinationsView, title: 'Destinations', nav: 'destinations' },
  { pattern: /^#\/profiles(?:\/([^/?]+))?$/, view: profileView, title: 'Profile', nav: 'profiles' },
];

const shell = (current: string | undefined) => {
  if (session === undefined) {
    top.hidden = true;
    return;
  }
  const canWrite = session.token.scope === 'write';
  const link = (href: string, key: string, text: string) =>
    h('a', { href, ...(current === key ? { 'aria-current': 'page' } : {}) }, text);
  top.hidden = false;
  replace(
    top,
    h('a', { class: 'brand', href: '#/runs' }, 'Ferry'),
    h(
      'nav',
      { 'aria-label': 'Main' },
      h(
        'ul',
        {},
        h('li', {}, link('#/runs', 'runs', 'Runs')),
        canWrite ? h('li', {}, link('#/new', 'new', 'New sync')) : null,
        h('li', {}, link('#/destinations', 'destinations', 'Destinations')),
        h('li', {}, link('#/profiles', 'profiles', 'Profile')),
      ),
    ),
    h(
      'div',
      { class: 'who' },
      h(
        'span',
        { class: 'token', 'data-scope': session.token.scope },
        `${session.token.name || session.token.id} · ${canWrite ? 'read & write' : 'read only'}`,
      ),
      h('button', { type: 'button', class: 'secondary', onclick: () => void signOut() }, 'Sign out'),
    ),
  );
};

const render = () => {
  cleanup?.();
  cleanup = undefined;
  const hash = location.hash.split('?')[0] ?? '';
  if (session === undefined) {
    shell(undefined);
    document.title = 'Sign in · Ferry';
    cleanup = signInView(main, { signedIn });
    return;
  }
  const route = routes.find((r) => r.pattern.test(hash));
  shell(route?.nav);
  if (route === undefined) {
    document.title = 'Not found · Ferry';
    replace(
      main,
      h('h1', {}, 'Not found'),
      h('p', {}, 'No such page. ', h('a', { href: '#/runs' }, 'Go to the runs.')),
    );
    return;
  }
  const match = route.pattern.exec(hash)!;
  const context: ViewContext = {
    session,
    canWrite: session.token.scope === 'write',
    param: match[1] === undefined ? undefined : decodeURIComponent(match[1]),
    params: new URLSearchParams(location.hash.split('?')[1] ?? ''),
    setTitle: (title) => {
      document.title = `${title} · Ferry`;
    },
  };
  context.setTitle(route.title);
  cleanup = route.view(main, context);
  main.focus({ preventScroll: true });
};

const signedIn = (info: SessionInfo) => {
  session = info;
  useSession(info);
  resumeWatching();
  if (location.hash === '' || location.hash === '#/') location.hash = '#/runs';
  render();
};

const signOut = async () => {
  try {
    await request('/v1/sessions/current', { method: 'DELETE', quiet401: true });
  } catch {
    // Already gone: signed out all the same.
  }
  session = undefined;
  useSession(undefined);
  stopWatching();
  render();
};

whenSignedOut(() => {
  if (session === undefined) return;
  session = undefined;
  useSession(undefined);
  render();
});

window.addEventListener('hashchange', render);

const boot = async () => {
  try {
    signedIn(await getJson<SessionInfo>('/v1/sessions/current', { quiet401: true }));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) console.warn(error);
    session = undefined;
    render();
  }
};
void boot();
