import { ApiError, getJson, type SessionInfo } from '../api.ts';
import { h, replace } from '../dom.ts';

/* Sign in with an API token: traded for a session cookie, the token itself is not kept here. */

export const signInView = (root: HTMLElement, hooks: { signedIn: (session: SessionInfo) => void }) => {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'token-help',
  });
  const message = h('div', { id: 'sign-in-error', class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to Ferry'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'token-help', class: 'help' },
      'A token from ',
      h('code', {}, 'ferry tokens create --scope read|write'),
      '. A read token can look; a write token can also start, cancel and retry syncs.',
    ),
    message,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.hidden = true;
    button.disabled = true;
    button.textContent = 'Signing in…';
    try {
      const session = await getJson<SessionInfo>('/v1/sessions', {
        method: 'POST',
        body: { token: input.value.trim() },
        quiet401: true,
      });
      input.value = '';
      hooks.signedIn(session);
    } catch (error) {
      message.textContent =
        error instanceof ApiError && error.status === 401
          ? 'That token is unknown or revoked. Check it and try again.'
          : `Could not sign in: ${error instanceof Error ? error.message : String(error)}`;
      message.hidden = false;
      button.disabled = false;
      button.textContent = 'Sign in';
      input.focus();
    }
  });
  replace(root, form);
  input.focus();
  return undefined;
};
