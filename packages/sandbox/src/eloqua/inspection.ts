import type { FastifyInstance } from 'fastify';
import type { DefinitionRegistry } from './definitions.ts';
import type { FieldRegistry } from './fields.ts';
import type { ContactStore } from './store.ts';
import type { SyncEngine } from './syncs.ts';
import { isValidEmail } from './validation.ts';
import { eloquaTime } from './wire.ts';

/**
 * `/__sandbox/...` routes for tests and demos: what the emulated instance holds (contacts,
 * lists, syncs, callbacks), seeding contacts and lists, and moving the sandbox clock so that
 * `autoDeleteDuration` and `dataRetentionDuration` can be tested without waiting hours.
 * They need no credentials and are never subject to faults (ids start with `sandbox.`).
 */

export interface InspectionDeps {
  readonly now: () => number;
  readonly advanceClock: (ms: number) => number;
  readonly registry: FieldRegistry;
  readonly store: ContactStore;
  readonly definitions: DefinitionRegistry;
  readonly engine: SyncEngine;
}

const PAGE_MAX = 10_000;

const intParam = (raw: unknown, fallback: number, max: number): number | undefined => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 0 && value <= max ? value : undefined;
};

export const registerInspectionRoutes = (app: FastifyInstance, deps: InspectionDeps): void => {
  const { store } = deps;
  const config = (endpoint: string) => ({ config: { endpoint } });

  app.get('/__sandbox/contacts', config('sandbox.contacts'), async (request, reply) => {
    deps.engine.settleDue();
    const query = request.query as Record<string, string | undefined>;
    if (query.email !== undefined) {
      const id = store.idByEmail(query.email);
      const view = id === undefined ? undefined : store.view(id);
      return view === undefined ? reply.code(404).send({ error: `no contact ${query.email}` }) : view;
    }
    const offset = intParam(query.offset, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(query.limit, 1000, PAGE_MAX);
    if (offset === undefined || limit === undefined || limit === 0) {
      return reply.code(400).send({ error: `offset must be ≥ 0 and limit 1..${PAGE_MAX}` });
    }
    const items = store.page(offset, limit).map((id) => store.view(id));
    return { total: store.size(), offset, limit, count: items.length, items };
  });

  app.get('/__sandbox/contacts/count', config('sandbox.contacts'), async () => {
    deps.engine.settleDue();
    return { count: store.size() };
  });

  // Seeds contacts directly (keys are field internal names), e.g. to test update rules.
  app.post('/__sandbox/contacts', config('sandbox.contacts'), async (request, reply) => {
    const body = request.body;
    if (!Array.isArray(body)) return reply.code(400).send({ error: 'body must be an array of contacts' });
    const { registry } = deps;
    const emailName = registry.emailField.internalName;
    let created = 0;
    let updated = 0;
    for (const [index, item] of body.entries()) {
      const contact = item as Record<string, unknown>;
      const email = contact[emailName];
      if (typeof email !== 'string' || !isValidEmail(email)) {
        return reply
          .code(400)
          .send({ error: `contacts[${index}].${emailName} must be a valid e-mail address` });
      }
      const existing = store.idByEmail(email);
      const values = existing === undefined ? store.blank() : (store.read(existing) ?? store.blank());
      for (const [name, value] of Object.entries(contact)) {
        const slot = registry.slotOf.get(name);
        if (slot === undefined)
          return reply.code(400).send({ error: `contacts[${index}]: unknown field ${name}` });
        values[slot] = value === null || value === undefined ? '' : String(value);
      }
      if (existing === undefined) {
        store.create(values, deps.now());
        created += 1;
      } else {
        store.write(existing, values, deps.now());
        updated += 1;
      }
    }
    return { created, updated };
  });

  // Deletes one contact by e-mail: drift a test plants behind Ferry's back (reconcile tests).
  app.delete('/__sandbox/contacts', config('sandbox.contacts'), async (request, reply) => {
    const email = (request.query as Record<string, string | undefined>).email;
    const id = email === undefined ? undefined : store.idByEmail(email);
    if (id === undefined || !store.remove(id))
      return reply.code(404).send({ error: `no contact ${email ?? ''}` });
    return reply.code(204).send();
  });

  app.get('/__sandbox/lists', config('sandbox.lists'), async () => {
    deps.engine.settleDue();
    return {
      lists: [...store.lists.values()].map((list) => ({
        id: list.id,
        name: list.name,
        memberCount: list.members.size,
      })),
    };
  });

  app.post('/__sandbox/lists', config('sandbox.lists'), async (request, reply) => {
    const body = (request.body ?? {}) as { id?: unknown; name?: unknown };
    if (typeof body.name !== 'string' || body.name === '')
      return reply.code(400).send({ error: 'name is required' });
    if (body.id !== undefined && typeof body.id !== 'number')
      return reply.code(400).send({ error: 'id must be a number' });
    const list = store.createList({ name: body.name, ...(body.id === undefined ? {} : { id: body.id }) });
    if (typeof list === 'string') return reply.code(409).send({ error: list });
    return reply.code(201).send({ id: list.id, name: list.name, memberCount: 0 });
  });

  app.get('/__sandbox/lists/:id', config('sandbox.lists'), async (request, reply) => {
    deps.engine.settleDue();
    const list = store.lists.get(Number((request.params as { id: string }).id));
    if (list === undefined) return reply.code(404).send({ error: 'no such list' });
    const query = request.query as Record<string, string | undefined>;
    const offset = intParam(query.offset, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(query.limit, 1000, PAGE_MAX);
    if (offset === undefined || limit === undefined) {
      return reply.code(400).send({ error: `offset must be ≥ 0 and limit 0..${PAGE_MAX}` });
    }
    const members: { id: number; emailAddress: string }[] = [];
    let index = 0;
    for (const id of list.members) {
      if (index >= offset + limit) break;
      if (index >= offset) members.push({ id, emailAddress: store.view(id)?.emailAddress ?? '' });
      index += 1;
    }
    return { id: list.id, name: list.name, memberCount: list.members.size, offset, limit, members };
  });

  app.get('/__sandbox/syncs', config('sandbox.syncs'), async () => ({
    syncs: deps.engine.list().map((sync) => ({
      ...deps.engine.json(sync),
      recordCount: sync.recordCount,
      endsAt: eloquaTime(sync.endsAtMs),
    })),
  }));

  app.get('/__sandbox/definitions', config('sandbox.definitions'), async () => ({
    definitions: deps.definitions.list(deps.now()).map((definition) => ({
      uri: definition.uri,
      name: definition.input.name,
      stagedUploads: definition.uploads.length,
      stagedRecords: definition.uploads.reduce((sum, upload) => sum + upload.rows.length, 0),
      ...(definition.deleteAtMs === undefined ? {} : { deletesAt: eloquaTime(definition.deleteAtMs) }),
    })),
  }));

  app.get('/__sandbox/callbacks', config('sandbox.callbacks'), async () => ({
    callbacks: deps.engine.callbacks(),
  }));

  app.post('/__sandbox/clock', config('sandbox.clock'), async (request, reply) => {
    const advanceMs = (request.body as { advanceMs?: unknown } | undefined)?.advanceMs;
    if (typeof advanceMs !== 'number' || !Number.isFinite(advanceMs) || advanceMs < 0) {
      return reply.code(400).send({ error: 'advanceMs must be a non-negative number' });
    }
    const offsetMs = deps.advanceClock(advanceMs);
    return { now: eloquaTime(deps.now()), offsetMs };
  });
};
