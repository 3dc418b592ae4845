import type { HttpResponse } from '@ferry/core';
import { callApi, type SendgridContext } from '../client.ts';
import type { ListsPage } from '../types.ts';
import { idList } from './contacts.ts';

/**
 * The list endpoints: `GET /v3/marketing/lists` (which lists exist, for verify) and
 * `DELETE /v3/marketing/lists/{id}/contacts?contact_ids=` (list removals). Additions need no call of
 * their own: they ride on the upsert or import (`list_ids`).
 */

const PAGE_SIZE = 1000;
/** A guard against a `next` link that never ends (1,000 pages of 1,000 lists). */
const MAX_PAGES = 1000;

/** Every list id of the account, following `_metadata.next`. */
export const listIds = async (ctx: SendgridContext): Promise<Set<string>> => {
  const ids = new Set<string>();
  let url: string | undefined = `/v3/marketing/lists?page_size=${PAGE_SIZE}`;
  for (let page = 0; url !== undefined && page < MAX_PAGES; page += 1) {
    const response: HttpResponse<ListsPage | undefined> = await callApi<ListsPage | undefined>(ctx, {
      method: 'GET',
      url,
      operation: 'list contact lists',
    });
    const data: ListsPage | undefined = response.data;
    for (const list of data?.result ?? []) if (typeof list.id === 'string') ids.add(list.id);
    const next: string | undefined = data?._metadata?.next;
    // The vendor links absolute URLs; only the path and query are kept, so the base URL (and the
    // sandbox's origin) stays the configured one.
    url = next === undefined || next === '' || (data?.result?.length ?? 0) === 0 ? undefined : pathOf(next);
  }
  return ids;
};

const pathOf = (link: string): string => {
  try {
    const parsed = new URL(link);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return link;
  }
};

/**
 * Removes contacts from one list (membership only; the contacts stay). Answers 202 with a job id
 * that SendGrid documents no status for, so it is not tracked: the 202 is the confirmation. A list
 * that no longer exists (404) has nobody to remove, which is the state wanted.
 */
export const removeFromList = async (
  ctx: SendgridContext,
  listId: string,
  contactIds: readonly string[],
): Promise<void> => {
  const { status } = await callApi(ctx, {
    method: 'DELETE',
    url: `/v3/marketing/lists/${encodeURIComponent(listId)}/contacts?contact_ids=${idList(contactIds)}`,
    operation: 'remove contacts from list',
    answers: [404],
  });
  if (status === 404)
    ctx.logger.warn(`[${ctx.destination}] list ${listId} does not exist; nothing to remove`);
};
