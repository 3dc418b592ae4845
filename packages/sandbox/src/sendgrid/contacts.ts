import type { FastifyInstance, FastifyReply } from 'fastify';
import { renderContact } from './contact-view.ts';
import type { SendgridContext } from './context.ts';
import { sendError } from './errors.ts';
import { UUID_PATTERN } from './lists.ts';
import { packRecord } from './record.ts';
import { isValidEmail, validateContact } from './validation.ts';

/** Emails per search/emails request [S1]. */
export const MAX_SEARCH_EMAILS = 100;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks `list_ids` of an upsert or import: a malformed value fails the request with 400, a list
 * that does not exist with 404 (the spec's documented 404 for imports). Returns the ids, or
 * undefined once the reply is sent.
 */
export const checkListIds = (
  ctx: SendgridContext,
  reply: FastifyReply,
  value: unknown,
  requireUuid: boolean,
): readonly string[] | undefined => {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string')) {
    sendError(reply, 400, 'list_ids must be an array of list id strings', 'list_ids');
    return undefined;
  }
  const ids = value as string[];
  const malformed = ids.filter((id) => requireUuid && !UUID_PATTERN.test(id));
  if (malformed.length > 0) {
    sendError(reply, 400, `list_ids must be UUIDs: ${malformed.join(',')}`, 'list_ids');
    return undefined;
  }
  const unknown = ids.filter((id) => ctx.lists.get(id) === undefined);
  if (unknown.length > 0) {
    sendError(reply, 404, `list ids do not exist: ${unknown.join(',')}`, 'list_ids');
    return undefined;
  }
  return [...new Set(ids)];
};

export const registerContactRoutes = (app: FastifyInstance, ctx: SendgridContext): void => {
  app.put(
    '/v3/marketing/contacts',
    { config: { endpoint: 'sendgrid.upsert' }, bodyLimit: ctx.limits.maxRequestBytes },
    async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) return sendError(reply, 400, 'invalid input', '');
      const { contacts } = body;
      if (!Array.isArray(contacts) || contacts.length === 0) {
        return sendError(reply, 400, 'contacts must be an array of at least one contact', 'contacts');
      }
      const max = ctx.limits.maxContactsPerRequest;
      if (contacts.length > max) {
        return sendError(
          reply,
          400,
          `contacts may hold at most ${max} contacts; got ${contacts.length}`,
          'contacts',
        );
      }
      const listIds = checkListIds(ctx, reply, body.list_ids, true);
      if (listIds === undefined) return reply;

      // Request-level problems fail the whole request, as the vendor does [S9]: a contact that
      // is not an object, custom_fields that is not an object, custom field ids that do not exist.
      const unknownFieldIds = new Set<string>();
      for (const [index, contact] of contacts.entries()) {
        if (!isObject(contact)) return sendError(reply, 400, 'invalid input', `contacts[${index}]`);
        const custom = contact.custom_fields;
        if (custom === undefined || custom === null) continue;
        if (!isObject(custom)) return sendError(reply, 400, 'invalid input', '');
        for (const id of Object.keys(custom)) if (ctx.fields.byId(id) === undefined) unknownFieldIds.add(id);
      }
      if (unknownFieldIds.size > 0) {
        return sendError(
          reply,
          400,
          `invalid custom field ids supplied - ${[...unknownFieldIds].join(',')}`,
          'custom_fields',
        );
      }

      const job = ctx.jobs.create('upsert', listIds);
      job.requested = contacts.length;
      for (const contact of contacts as Record<string, unknown>[]) {
        const verdict = validateContact(contact, ctx.fields);
        job.identifierMask |= verdict.identifierMask;
        if (verdict.ok) job.pending.push(packRecord(verdict.entries));
        else ctx.jobs.reject(job, verdict.identifiers, verdict.message);
      }
      ctx.jobs.queue(job);
      return reply.code(202).send({ job_id: job.id });
    },
  );

  app.post(
    '/v3/marketing/contacts/search/emails',
    { config: { endpoint: 'sendgrid.searchEmails' } },
    async (request, reply) => {
      const body = request.body;
      if (
        !isObject(body) ||
        !Array.isArray(body.emails) ||
        body.emails.some((email) => typeof email !== 'string')
      ) {
        return sendError(reply, 400, 'emails must be an array of email address strings', 'emails');
      }
      const emails = (body.emails as string[]).filter((email) => email !== '');
      if (emails.length === 0)
        return sendError(reply, 400, 'emails must hold at least one email address', 'emails');
      if (emails.length > MAX_SEARCH_EMAILS) {
        return sendError(
          reply,
          400,
          `emails may hold at most ${MAX_SEARCH_EMAILS} addresses; got ${emails.length}`,
          'emails',
        );
      }
      const invalid = emails.filter((email) => email.length > 100 || !isValidEmail(email));
      if (invalid.length > 0)
        return sendError(reply, 400, `invalid email addresses: ${invalid.join(', ')}`, 'emails');

      const origin = ctx.originOf(request);
      const result: Record<string, unknown> = {};
      let found = 0;
      for (const email of emails) {
        // Keys are lower-cased: "the email addresses in the result will be all lower case" [S1].
        const key = email.toLowerCase();
        const slot = ctx.store.findByAnyEmail(key);
        const contact = slot === undefined ? undefined : renderContact(ctx, slot, origin);
        if (contact === undefined) {
          result[key] = { error: 'contact not found' };
        } else {
          result[key] = { contact };
          found += 1;
        }
      }
      if (found === 0)
        return sendError(reply, 404, 'no contacts found for the provided email addresses', 'emails');
      return { result };
    },
  );

  app.delete<{ Querystring: { ids?: string; delete_all_contacts?: string } }>(
    '/v3/marketing/contacts',
    { config: { endpoint: 'sendgrid.delete' } },
    async (request, reply) => {
      const { ids, delete_all_contacts: all } = request.query;
      const list = (ids ?? '')
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      if (all !== undefined && all !== 'true') {
        return sendError(reply, 400, 'delete_all_contacts must be "true" when given', 'delete_all_contacts');
      }
      if (all === 'true' && list.length > 0) {
        return sendError(reply, 400, 'set either ids or delete_all_contacts, not both', 'ids');
      }
      if (all !== 'true' && list.length === 0) {
        return sendError(
          reply,
          400,
          'ids (comma-separated contact ids) or delete_all_contacts=true is required',
          'ids',
        );
      }
      const job = ctx.jobs.submitDelete(list, all === 'true');
      return reply.code(202).send({ job_id: job.id });
    },
  );

  app.get('/v3/marketing/contacts/count', { config: { endpoint: 'sendgrid.contactsCount' } }, async () => {
    const count = ctx.store.count();
    return { contact_count: count, billable_count: count };
  });
};
