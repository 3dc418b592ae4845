/*
 * A tiny element builder: `h('a', { href }, 'text')`. Children are text nodes or elements, never
 * HTML strings, so nothing the API returns can inject markup.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

const append = (parent: Node, child: Child): void => {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const item of child) append(parent, item);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
};

export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
};

export const replace = (target: Element, ...children: Child[]): void => {
  target.replaceChildren();
  append(target, children);
};

/** A loading, empty or error block: the three states every view has. */
export const loading = (what: string): HTMLElement =>
  h('p', { class: 'loading', role: 'status' }, `Loading ${what}…`);

export const empty = (text: string, ...more: Child[]): HTMLElement =>
  h('div', { class: 'empty' }, h('p', {}, text), more);

export const failure = (error: unknown, retry?: () => void): HTMLElement =>
  h(
    'div',
    { class: 'error', role: 'alert' },
    h('p', {}, error instanceof Error ? error.message : String(error)),
    retry === undefined ? null : h('button', { type: 'button', onclick: retry }, 'Try again'),
  );

/** A table with a caption and headers; rows are arrays of cells. */
export const table = (
  caption: string,
  headers: readonly string[],
  rows: readonly (readonly Child[])[],
  attrs: Attrs = {},
): HTMLElement =>
  h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((name) => h('th', { scope: 'col' }, name)),
        ),
      ),
      h(
        'tbody',
        {},
        // data-label: on a phone each row stacks as a card, each cell named by its header.
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((cell, i) => h('td', { 'data-label': headers[i] }, cell)),
          ),
        ),
      ),
    ),
  );
