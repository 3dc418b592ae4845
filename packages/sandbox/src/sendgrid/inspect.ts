import type { FastifyInstance } from 'fastify';
import { isoSeconds, renderContact } from './contact-view.ts';
import type { SendgridContext } from './context.ts';
import { renderJob } from './imports.ts';
import type { Job } from './jobs.ts';

/** A list-removal job; SendGrid has no status view of these, so the shape is the sandbox's. */
const renderListRemoval = (job: Job): Record<string, unknown> => ({
  id: job.id,
  status: job.status,
  kind: job.kind,
  list_id: job.listIds[0],
  ...(job.status === 'pending'
    ? {}
    : { results: { requested_count: job.requested, removed_count: job.removed } }),
  started_at: isoSeconds(job.createdAtMs),
  ...(job.finishedAtMs === undefined ? {} : { finished_at: isoSeconds(job.finishedAtMs) }),
});

/**
 * `/__sandbox/*` views of what the emulator holds, so tests assert end state rather than
 * responses. No auth, no rate limit, no faults (ids start with `sandbox.`).
 */
export const registerInspectionRoutes = (app: FastifyInstance, ctx: SendgridContext): void => {
  app.get<{ Querystring: { offset?: string; limit?: string; email?: string; list_id?: string } }>(
    '/__sandbox/contacts',
    { config: { endpoint: 'sandbox.contacts' } },
    async (request, reply) => {
      const origin = ctx.originOf(request);
      const { email, list_id: listId } = request.query;
      if (email !== undefined) {
        const slot = ctx.store.findByAnyEmail(email.toLowerCase());
        const contact = slot === undefined ? undefined : renderContact(ctx, slot, origin);
        return {
          total: contact === undefined ? 0 : 1,
          offset: 0,
          limit: 1,
          contacts: contact === undefined ? [] : [contact],
        };
      }
      const offset = Number(request.query.offset ?? 0);
      const limit = Number(request.query.limit ?? 100);
      if (
        !Number.isInteger(offset) ||
        offset < 0 ||
        !Number.isInteger(limit) ||
        limit < 1 ||
        limit > 10_000
      ) {
        return reply.code(400).send({ error: 'offset must be ≥ 0 and limit 1..10000' });
      }
      const contacts: Record<string, unknown>[] = [];
      let seen = 0;
      for (const slot of ctx.store.slots()) {
        if (listId !== undefined && !ctx.store.isOnList(listId, slot)) continue;
        seen += 1;
        if (seen <= offset) continue;
        if (contacts.length === limit) continue;
        const contact = renderContact(ctx, slot, origin);
        if (contact !== undefined) contacts.push(contact);
      }
      return { total: seen, offset, limit, contacts };
    },
  );

  app.get<{ Querystring: { list_id?: string } }>(
    '/__sandbox/contacts/count',
    { config: { endpoint: 'sandbox.contacts' } },
    async (request) => ({
      count:
        request.query.list_id === undefined ? ctx.store.count() : ctx.store.listSize(request.query.list_id),
    }),
  );

  app.get('/__sandbox/lists', { config: { endpoint: 'sandbox.lists' } }, async () => ({
    lists: ctx.lists
      .all()
      .map((list) => ({ id: list.id, name: list.name, contact_count: ctx.store.listSize(list.id) })),
  }));

  app.get('/__sandbox/jobs', { config: { endpoint: 'sandbox.jobs' } }, async (request) => {
    const origin = ctx.originOf(request);
    return {
      jobs: [...ctx.jobs.all()].map((job) =>
        job.kind === 'listRemove' ? renderListRemoval(job) : { ...renderJob(job, origin), kind: job.kind },
      ),
    };
  });
};
