import type { Failure } from './wire.ts';

/**
 * Bulk API collection GETs: `limit` (1–1000, default 1000), `offset`, `totalResults`, `q`,
 * `orderBy`, and the `{items, totalResults, limit, offset, count, hasMore}` envelope (A.2).
 */

export const MAX_PAGE_LIMIT = 1000;

export interface PageParams {
  readonly limit: number;
  readonly offset: number;
  readonly totalResults: boolean;
}

export interface CollectionQuery extends PageParams {
  readonly filter?: (item: Record<string, unknown>) => boolean;
  readonly orderBy?: { readonly term: string; readonly descending: boolean };
}

export interface Envelope<T> {
  readonly items: T[];
  readonly totalResults?: number;
  readonly limit: number;
  readonly offset: number;
  readonly count: number;
  readonly hasMore: boolean;
}

type Query = Record<string, string | string[] | undefined>;

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[value.length - 1] : value;

export const parsePageParams = (query: Query): PageParams | Failure[] => {
  const failures: Failure[] = [];
  const rawLimit = single(query.limit);
  const rawOffset = single(query.offset);
  const limit = rawLimit === undefined ? MAX_PAGE_LIMIT : Number(rawLimit);
  const offset = rawOffset === undefined ? 0 : Number(rawOffset);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT || rawLimit === '') {
    failures.push({
      field: 'limit',
      value: rawLimit ?? '',
      constraint: `Must be an integer between 1 and ${MAX_PAGE_LIMIT} inclusive.`,
    });
  }
  if (!Number.isInteger(offset) || offset < 0 || rawOffset === '') {
    failures.push({ field: 'offset', value: rawOffset ?? '', constraint: 'Must be a non-negative integer.' });
  }
  const rawTotal = single(query.totalResults);
  if (rawTotal !== undefined && rawTotal !== 'true' && rawTotal !== 'false') {
    failures.push({ field: 'totalResults', value: rawTotal, constraint: 'Must be a boolean value.' });
  }
  return failures.length > 0 ? failures : { limit, offset, totalResults: rawTotal !== 'false' };
};

const Q = /^\s*["']?\s*([A-Za-z][A-Za-z0-9_.]*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*["']?\s*$/;

/** `term operator value` with `*` wildcards (`?q="name=*Test*"`), compared case-insensitively. */
const parseQ = (raw: string): ((item: Record<string, unknown>) => boolean) | undefined => {
  const match = Q.exec(raw);
  if (match === null) return undefined;
  const [, term = '', operator = '=', rawValue = ''] = match;
  const value = rawValue.replace(/^['"]|['"]$/g, '').toLowerCase();
  const pattern = new RegExp(`^${value.split('*').map(escapeRegExp).join('.*')}$`, 's');
  return (item) => {
    const actual = item[term];
    if (actual === undefined || actual === null) return operator === '!=';
    const text = String(actual).toLowerCase();
    switch (operator) {
      case '=':
        return pattern.test(text);
      case '!=':
        return !pattern.test(text);
      default: {
        const a = Number(text);
        const b = Number(value);
        const [x, y] = Number.isNaN(a) || Number.isNaN(b) ? [text, value] : [a, b];
        return operator === '>' ? x > y : operator === '<' ? x < y : operator === '>=' ? x >= y : x <= y;
      }
    }
  };
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const parseCollectionQuery = (query: Query): CollectionQuery | Failure[] => {
  const page = parsePageParams(query);
  const failures: Failure[] = Array.isArray(page) ? [...page] : [];
  const rawQ = single(query.q);
  const filter = rawQ === undefined || rawQ.trim() === '' ? undefined : parseQ(rawQ);
  if (rawQ !== undefined && rawQ.trim() !== '' && filter === undefined) {
    failures.push({
      field: 'q',
      value: rawQ,
      constraint: 'Must be a query of the form term operator value.',
    });
  }
  const rawOrder = single(query.orderBy);
  let orderBy: CollectionQuery['orderBy'];
  if (rawOrder !== undefined && rawOrder.trim() !== '') {
    const match = /^\s*([A-Za-z][A-Za-z0-9_.]*)(?:\s+(ASC|DESC))?\s*$/i.exec(rawOrder);
    if (match === null)
      failures.push({ field: 'orderBy', value: rawOrder, constraint: 'Must be term ASC|DESC.' });
    else orderBy = { term: match[1] ?? '', descending: match[2]?.toUpperCase() === 'DESC' };
  }
  if (failures.length > 0 || Array.isArray(page)) return failures;
  return {
    ...page,
    ...(filter === undefined ? {} : { filter }),
    ...(orderBy === undefined ? {} : { orderBy }),
  };
};

/** One page of an already filtered list (rejects, logs: no q/orderBy). */
export const envelope = <T>(items: readonly T[], params: PageParams): Envelope<T> => {
  const pageItems = items.slice(params.offset, params.offset + params.limit);
  const hasMore = params.offset + pageItems.length < items.length;
  return {
    items: pageItems,
    ...(params.totalResults ? { totalResults: items.length } : {}),
    limit: params.limit,
    offset: params.offset,
    count: pageItems.length,
    hasMore,
  };
};

/** The numeric id at the end of an item's `uri` (`/syncs/12` → 12), if it has one. */
const uriId = (item: Record<string, unknown>): number | undefined => {
  const match = typeof item.uri === 'string' ? /\/(\d+)$/.exec(item.uri) : null;
  return match === null ? undefined : Number(match[1]);
};

/**
 * Filters, orders and pages JSON items (fields, lists, definitions, syncs). Items whose `term`
 * values are equal (syncs created in the same millisecond, fields sharing a date) are ordered by
 * id in the requested direction, so `DESC` is the exact reverse of `ASC` and pages never shift.
 */
export const collect = <T extends Record<string, unknown>>(
  items: readonly T[],
  query: CollectionQuery,
): Envelope<T> => {
  let selected = query.filter === undefined ? [...items] : items.filter(query.filter);
  if (query.orderBy !== undefined) {
    const { term, descending } = query.orderBy;
    const sign = descending ? -1 : 1;
    // Items without a uri id (none today) fall back to their position in the input.
    const keyed = selected.map((item, index) => ({ item, id: uriId(item) ?? index }));
    keyed.sort((a, b) => {
      const x = a.item[term] as string | number | undefined;
      const y = b.item[term] as string | number | undefined;
      if (x !== y) {
        if (x === undefined) return 1;
        if (y === undefined) return -1;
        return (x < y ? -1 : 1) * sign;
      }
      return (a.id - b.id) * sign;
    });
    selected = keyed.map(({ item }) => item);
  }
  return envelope(selected, query);
};
