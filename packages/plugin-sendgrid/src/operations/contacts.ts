import { PermanentError, TransientError } from '@ferry/core';
import { callApi, SendgridApiError, type SendgridContext } from '../client.ts';
import { VENDOR_LIMITS } from '../options.ts';
import type { JobAccepted, SearchEmailsResponse } from '../types.ts';
import { dropFieldDefinitions } from './field-definitions.ts';

/**
 * The contact endpoints: `PUT /v3/marketing/contacts` (JSON upsert), `POST .../search/emails`
 * (e-mail → contact id, for deletes and list removals) and `DELETE /v3/marketing/contacts?ids=`.
 * Upserts and deletes answer 202 with a `job_id` that `GET .../imports/{id}` reports on.
 */

/** The job id of a 202; the spec types the delete's as an object, so anything but text is refused. */
export const jobIdOf = (ctx: SendgridContext, operation: string, data: unknown): string => {
  const id = (data as Partial<JobAccepted> | undefined)?.job_id as unknown;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number') return String(id);
  throw new PermanentError(ctx.destination, `${operation}: SendGrid accepted the request but sent no job_id`);
};

const mentionsCustomFieldIds = (error: SendgridApiError): boolean =>
  error.errors.some((item) => /custom field id/i.test(item.message) || item.field === 'custom_fields');

/**
 * Sends one upsert body (already encoded, so its size was checked exactly) and returns the job id.
 * A 400 about custom field ids means the cached field definitions are stale (a field was deleted or
 * recreated): the cache is dropped and the call reported as transient, so the retry re-resolves.
 */
export const upsertContacts = async (ctx: SendgridContext, body: string): Promise<string> => {
  const operation = 'upsert contacts';
  try {
    const { data } = await callApi<JobAccepted>(ctx, {
      method: 'PUT',
      url: '/v3/marketing/contacts',
      headers: { 'content-type': 'application/json' },
      body,
      operation,
    });
    return jobIdOf(ctx, operation, data);
  } catch (error) {
    if (error instanceof SendgridApiError && error.status === 400 && mentionsCustomFieldIds(error)) {
      dropFieldDefinitions(ctx);
      throw new TransientError(
        ctx.destination,
        `${error.message.replace(/^\[ferry\] \[[^\]]+\] /, '')} (field definitions reloaded; resubmit)`,
        { code: 'stale_field_definitions', status: 400, cause: error },
      );
    }
    throw error;
  }
};

/**
 * Contact ids of `emails`, keyed by lower-cased address, in calls of at most 100. Only contacts
 * whose *primary* address is the one searched count: search/emails also matches `alternate_emails`,
 * and deleting somebody else's contact because it lists the address as an alternate would be wrong.
 * A 400 ("an address is invalid") splits the call until the bad address is alone; SendGrid cannot
 * hold an address it calls invalid, so it simply has no contact.
 */
export const searchContactIds = async (
  ctx: SendgridContext,
  emails: readonly string[],
): Promise<Map<string, string>> => {
  const found = new Map<string, string>();
  const search = async (chunk: readonly string[]): Promise<void> => {
    const { status, data } = await callApi<SearchEmailsResponse>(ctx, {
      method: 'POST',
      url: '/v3/marketing/contacts/search/emails',
      json: { emails: chunk },
      operation: 'search contacts by e-mail',
      answers: [400, 404],
    });
    if (status === 404) return;
    if (status === 400) {
      if (chunk.length === 1) {
        ctx.logger.debug('search/emails refused an address; it cannot be held', {
          destination: ctx.destination,
        });
        return;
      }
      const half = Math.ceil(chunk.length / 2);
      await search(chunk.slice(0, half));
      await search(chunk.slice(half));
      return;
    }
    for (const email of chunk) {
      const key = email.toLowerCase();
      const contact = data?.result?.[key]?.contact ?? data?.result?.[email]?.contact;
      if (typeof contact?.id !== 'string') continue;
      if (typeof contact.email === 'string' && contact.email.toLowerCase() !== key) continue;
      found.set(key, contact.id);
    }
  };
  const unique = [...new Set(emails.map((email) => email.toLowerCase()))];
  for (let at = 0; at < unique.length; at += VENDOR_LIMITS.searchEmails) {
    await search(unique.slice(at, at + VENDOR_LIMITS.searchEmails));
  }
  return found;
};

/** Comma-separated ids, each escaped but the commas kept, so a URL holds as many ids as possible. */
export const idList = (ids: readonly string[]): string => ids.map(encodeURIComponent).join(',');

/** `DELETE /v3/marketing/contacts?ids=...`: an asynchronous job, checked like an upsert. */
export const deleteContacts = async (ctx: SendgridContext, ids: readonly string[]): Promise<string> => {
  const operation = 'delete contacts';
  const { data } = await callApi<JobAccepted>(ctx, {
    method: 'DELETE',
    url: `/v3/marketing/contacts?ids=${idList(ids)}`,
    operation,
  });
  return jobIdOf(ctx, operation, data);
};
