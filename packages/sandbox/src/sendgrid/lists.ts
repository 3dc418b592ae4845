import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { renderContact } from './contact-view.ts';
import type { SendgridContext } from './context.ts';
import { errorBody, sendError } from './errors.ts';

/** A list that exists when the server starts; without `id` a UUID is generated. */
export interface ListSeed {
  readonly id?: string;
  readonly name: string;
}

export interface ContactList {
  readonly id: string;
  readonly name: string;
}

export interface ListRegistry {
  readonly all: () => readonly ContactList[];
  readonly get: (id: string) => ContactList | undefined;
  readonly create: (name: unknown) => ContactList | { message: string; field: string };
  readonly rename: (
    id: string,
    name: unknown,
  ) => ContactList | { message: string; field: string } | undefined;
  readonly remove: (id: string) => boolean;
  readonly reset: () => void;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const nameProblem = (name: unknown): string | undefined =>
  typeof name !== 'string' || name.length < 1 || name.length > 100
    ? 'name must be 1 to 100 characters'
    : undefined;

export const createListRegistry = (seeds: readonly ListSeed[]): ListRegistry => {
  let lists = new Map<string, ContactList>();
  const seed = (): void => {
    lists = new Map();
    for (const item of seeds) {
      const id = item.id ?? randomUUID();
      // The Lists spec fixes ids at 36 characters; clients may validate that.
      if (!UUID_PATTERN.test(id)) throw new Error(`sandbox: sendgrid lists: id "${id}" is not a UUID`);
      if (nameProblem(item.name) !== undefined)
        throw new Error(`sandbox: sendgrid lists: bad name "${item.name}"`);
      lists.set(id, { id, name: item.name });
    }
  };
  seed();
  return {
    all: () => [...lists.values()],
    get: (id) => lists.get(id),
    create: (name) => {
      const problem = nameProblem(name);
      if (problem !== undefined) return { field: 'name', message: problem };
      const list = { id: randomUUID(), name: name as string };
      lists.set(list.id, list);
      return list;
    },
    rename: (id, name) => {
      const list = lists.get(id);
      if (list === undefined) return undefined;
      const problem = nameProblem(name);
      if (problem !== undefined) return { field: 'name', message: problem };
      const renamed = { ...list, name: name as string };
      lists.set(id, renamed);
      return renamed;
    },
    remove: (id) => lists.delete(id),
    reset: seed,
  };
};

const encodeToken = (offset: number): string => Buffer.from(`offset:${offset}`).toString('base64url');
const decodeToken = (token: string): number | undefined => {
  const match = /^offset:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  return match === null ? undefined : Number(match[1]);
};

export const registerListRoutes = (app: FastifyInstance, ctx: SendgridContext): void => {
  const config = { endpoint: 'sendgrid.lists' };
  const view = (list: ContactList, origin: string): Record<string, unknown> => ({
    id: list.id,
    name: list.name,
    contact_count: ctx.store.listSize(list.id),
    _metadata: { self: `${origin}/v3/marketing/lists/${list.id}` },
  });

  app.post('/v3/marketing/lists', { config }, async (request, reply) => {
    const made = ctx.lists.create(((request.body ?? {}) as Record<string, unknown>).name);
    if ('message' in made) return sendError(reply, 400, made.message, made.field);
    return reply.code(201).send(view(made, ctx.originOf(request)));
  });

  app.get<{ Querystring: { page_size?: string; page_token?: string } }>(
    '/v3/marketing/lists',
    { config },
    async (request, reply) => {
      const { page_size: rawSize = '100', page_token: token } = request.query;
      const size = Number(rawSize);
      if (!Number.isInteger(size) || size < 1 || size > 1000) {
        return sendError(reply, 400, 'page_size must be an integer from 1 to 1000', 'page_size');
      }
      const offset = token === undefined || token === '' ? 0 : decodeToken(token);
      if (offset === undefined) return sendError(reply, 400, 'invalid page_token', 'page_token');
      const origin = ctx.originOf(request);
      const all = ctx.lists.all();
      const page = all.slice(offset, offset + size);
      const link = (at: number): string =>
        `${origin}/v3/marketing/lists?page_size=${size}&page_token=${at === 0 ? '' : encodeToken(at)}`;
      return {
        result: page.map((list) => view(list, origin)),
        _metadata: {
          self: link(offset),
          ...(offset > 0 ? { prev: link(Math.max(0, offset - size)) } : {}),
          ...(offset + size < all.length ? { next: link(offset + size) } : {}),
          count: all.length,
        },
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { contact_sample?: string } }>(
    '/v3/marketing/lists/:id',
    { config },
    async (request, reply) => {
      const list = ctx.lists.get(request.params.id);
      // The spec types this 404 body as a bare array of errors, unlike its siblings.
      if (list === undefined)
        return reply.code(404).send(errorBody({ field: 'id', message: 'list not found' }).errors);
      const origin = ctx.originOf(request);
      const body = view(list, origin);
      if (request.query.contact_sample === 'true') {
        // The spec types contact_sample as one contact object; the newest member is shown.
        let newest: number | undefined;
        for (const slot of ctx.store.slots()) if (ctx.store.isOnList(list.id, slot)) newest = slot;
        if (newest !== undefined) body.contact_sample = renderContact(ctx, newest, origin);
      }
      return body;
    },
  );

  app.patch<{ Params: { id: string } }>('/v3/marketing/lists/:id', { config }, async (request, reply) => {
    const renamed = ctx.lists.rename(
      request.params.id,
      ((request.body ?? {}) as Record<string, unknown>).name,
    );
    if (renamed === undefined) return sendError(reply, 404, 'list not found', 'id');
    if ('message' in renamed) return sendError(reply, 400, renamed.message, renamed.field);
    return view(renamed, ctx.originOf(request));
  });

  app.delete<{ Params: { id: string }; Querystring: { delete_contacts?: string } }>(
    '/v3/marketing/lists/:id',
    { config },
    async (request, reply) => {
      const { id } = request.params;
      if (ctx.lists.get(id) === undefined) return sendError(reply, 404, 'list not found', 'id');
      const members: string[] = [];
      if (request.query.delete_contacts === 'true') {
        for (const slot of ctx.store.slots())
          if (ctx.store.isOnList(id, slot)) members.push(ctx.store.idOf(slot));
      }
      ctx.lists.remove(id);
      ctx.store.dropList(id);
      if (request.query.delete_contacts !== 'true') return reply.code(204).send();
      const job = ctx.jobs.submitDelete(members, false);
      return reply.code(200).send({ job_id: job.id });
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { contact_ids?: string } }>(
    '/v3/marketing/lists/:id/contacts',
    { config: { endpoint: 'sendgrid.listRemove' } },
    async (request, reply) => {
      const { id } = request.params;
      // The spec's 404 covers both an unknown list and unknown contact ids.
      if (ctx.lists.get(id) === undefined) return sendError(reply, 404, 'list not found', 'id');
      const ids = [
        ...new Set(
          (request.query.contact_ids ?? '')
            .split(',')
            .map((contactId) => contactId.trim())
            .filter((contactId) => contactId !== ''),
        ),
      ];
      if (ids.length === 0) {
        // The spec types this 400 as one `Error` object, not the usual `{errors: [...]}`.
        return reply
          .code(400)
          .send({ field: 'contact_ids', message: 'contact_ids (comma-separated contact ids) is required' });
      }
      const unknown = ids.filter((contactId) => ctx.store.indexOfId(contactId) === undefined);
      if (unknown.length > 0)
        return sendError(reply, 404, `contact ids do not exist: ${unknown.join(',')}`, 'contact_ids');
      const job = ctx.jobs.submitListRemoval(id, ids);
      return reply.code(202).send({ job_id: job.id });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v3/marketing/lists/:id/contacts/count',
    { config },
    async (request, reply) => {
      const list = ctx.lists.get(request.params.id);
      if (list === undefined) return sendError(reply, 404, 'list not found', 'id');
      const count = ctx.store.listSize(list.id);
      return { contact_count: count, billable_count: count };
    },
  );
};
