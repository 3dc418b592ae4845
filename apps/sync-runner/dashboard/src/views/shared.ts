import { h } from '../dom.ts';
import { stateLabel } from '../format.ts';

/* Pieces several views use. */

const TONES: Readonly<Record<string, string>> = {
  completed: 'ok',
  completed_with_errors: 'warn',
  failed: 'bad',
  canceled: 'muted',
  rejected: 'bad',
  exported: 'ok',
  retry_wait: 'warn',
};

/** A state as a badge: words, not colour alone. */
export const badge = (state: string): HTMLElement =>
  h('span', { class: `badge badge-${TONES[state] ?? 'live'}`, 'data-state': state }, stateLabel(state));

/** Previous/next over cursor pages: keeps the cursors seen so "Previous" goes back. */
export const pager = (
  label: string,
  state: { cursors: (string | undefined)[]; index: number },
  next: string | null,
  go: () => void,
): HTMLElement =>
  h(
    'nav',
    { class: 'pager', 'aria-label': label },
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: state.index === 0,
        onclick: () => {
          state.index -= 1;
          go();
        },
      },
      'Previous',
    ),
    h('span', {}, `Page ${state.index + 1}`),
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        disabled: next === null,
        onclick: () => {
          state.cursors[state.index + 1] = next ?? undefined;
          state.index += 1;
          go();
        },
      },
      'Next',
    ),
  );

export const select = (
  id: string,
  label: string,
  options: readonly { value: string; text: string }[],
  value: string,
  onchange: (value: string) => void,
): HTMLElement[] => {
  const element = h(
    'select',
    { id, name: id },
    options.map((o) =>
      h('option', { value: o.value, ...(o.value === value ? { selected: true } : {}) }, o.text),
    ),
  );
  element.addEventListener('change', () => onchange(element.value));
  return [h('label', { for: id }, label), element];
};
