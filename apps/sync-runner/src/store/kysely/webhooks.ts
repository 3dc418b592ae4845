import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../schema.ts';
import type {
  DeliveryAttempt,
  DueDelivery,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookStore,
} from '../webhook-store.ts';
import { num, numOrNull } from './shared.ts';

/* Webhook endpoints (from the API, the config and per-run callbacks) and the deliveries outbox. */

type DeliveryRow = Omit<WebhookDeliveriesTable, 'payload'> & Pick<WebhookEndpointsTable, 'kind' | 'url'>;

const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  runId: row.run_id,
  type: row.type,
  state: row.state,
  attempts: JSON.parse(row.attempts) as DeliveryAttempt[],
  nextAttemptAt: numOrNull(row.next_attempt_at),
  createdAt: num(row.created_at),
  attemptsBase: num(row.attempts_base),
  endpointKind: row.kind,
  url: row.url,
});

const eventsOf = (text: string | null): string[] | null =>
  text === null ? null : (JSON.parse(text) as string[]);
const eventsText = (events: readonly string[] | null | undefined): string | null =>
  events === null || events === undefined ? null : JSON.stringify(events);

const toEndpoint = (
  row: Pick<
    WebhookEndpointsTable,
    'id' | 'kind' | 'url' | 'events' | 'created_at' | 'disabled_at' | 'disabled_reason'
  >,
): WebhookEndpoint => ({
  id: row.id,
  kind: row.kind,
  url: row.url,
  events: eventsOf(row.events),
  createdAt: num(row.created_at),
  disabledAt: numOrNull(row.disabled_at),
  disabledReason: row.disabled_reason,
});

const DELIVERY_COLUMNS = [
  'd.id',
  'd.endpoint_id',
  'd.run_id',
  'd.type',
  'd.state',
  'd.attempts',
  'd.next_attempt_at',
  'd.created_at',
  'd.attempts_base',
  'e.kind',
  'e.url',
] as const;

export const kyselyWebhooks = (db: Kysely<Database>): WebhookStore => ({
  createWebhookEndpoint: async (endpoint) => {
    await db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        kind: 'api',
        run_id: null,
        url: endpoint.url,
        secret: endpoint.secret,
        events: eventsText(endpoint.events),
        created_at: endpoint.createdAt,
        disabled_at: null,
        disabled_reason: null,
      })
      .execute();
  },
  listWebhookEndpoints: async () =>
    (
      await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'kind', 'url', 'events', 'created_at', 'disabled_at', 'disabled_reason'])
        .where('kind', '!=', 'run')
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map(toEndpoint),
  deleteWebhookEndpoint: async (id) =>
    db.transaction().execute(async (trx) => {
      const found = await trx
        .selectFrom('webhook_endpoints')
        .select('id')
        .where('id', '=', id)
        .where('kind', '=', 'api')
        .executeTakeFirst();
      if (found === undefined) return false;
      await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
      return true;
    }),
  disableWebhookEndpoint: async (id, at, reason) => {
    await db
      .updateTable('webhook_endpoints')
      .set({ disabled_at: at, disabled_reason: reason })
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .execute();
  },
  syncConfigEndpoints: async (endpoints, at) => {
    await db.transaction().execute(async (trx) => {
      const known = new Set(
        (await trx.selectFrom('webhook_endpoints').select('id').where('kind', '=', 'config').execute()).map(
          (row) => row.id,
        ),
      );
      for (const endpoint of endpoints) {
        if (known.has(endpoint.id))
          await trx
            .updateTable('webhook_endpoints')
            .set({
              url: endpoint.url,
              events: eventsText(endpoint.events),
              disabled_at: null,
              disabled_reason: null,
            })
            .where('id', '=', endpoint.id)
            .execute();
        else
          await trx
            .insertInto('webhook_endpoints')
            .values({
              id: endpoint.id,
              kind: 'config',
              run_id: null,
              url: endpoint.url,
              // The secret stays in the config; the store never holds it.
              secret: '',
              events: eventsText(endpoint.events),
              created_at: at,
              disabled_at: null,
              disabled_reason: null,
            })
            .execute();
        known.delete(endpoint.id);
      }
      if (known.size > 0)
        await trx
          .updateTable('webhook_endpoints')
          .set({ disabled_at: at, disabled_reason: 'removed from the config' })
          .where('id', 'in', [...known])
          .where('disabled_at', 'is', null)
          .execute();
    });
  },
  ensureRunEndpoint: async (endpoint) => {
    await db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        kind: 'run',
        run_id: endpoint.runId,
        url: endpoint.url,
        // Signed with the service's callback secret, read at each attempt.
        secret: '',
        events: null,
        created_at: endpoint.createdAt,
        disabled_at: null,
        disabled_reason: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  },
  enqueueDeliveries: async ({ runId, type, endedAt, at, payload, newId }) => {
    const endpoints = (
      await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'events'])
        .where('disabled_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb.and([eb('kind', '!=', 'run'), eb('created_at', '<=', endedAt)]),
            eb.and([eb('kind', '=', 'run'), eb('run_id', '=', runId)]),
          ]),
        )
        .execute()
    ).filter((endpoint) => eventsOf(endpoint.events)?.includes(type) ?? true);
    if (endpoints.length === 0) return 0;
    const inserted = await db
      .insertInto('webhook_deliveries')
      .values(
        endpoints.map((endpoint) => ({
          id: newId(),
          endpoint_id: endpoint.id,
          run_id: runId,
          type,
          payload,
          state: 'pending' as const,
          attempts: '[]',
          next_attempt_at: at,
          created_at: at,
          attempts_base: 0,
        })),
      )
      .onConflict((oc) => oc.columns(['endpoint_id', 'run_id']).doNothing())
      .returning('id')
      .execute();
    return inserted.length;
  },
  dueDeliveries: async (now, limit) => {
    const rows = await db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .select([...DELIVERY_COLUMNS, 'd.payload', 'e.secret'])
      .where('d.state', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where('e.disabled_at', 'is', null)
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    return rows.map((row): DueDelivery => {
      const delivery = { ...toDelivery(row), payload: row.payload };
      return row.kind === 'api'
        ? { ...delivery, endpointKind: 'api', secret: row.secret }
        : { ...delivery, endpointKind: row.kind };
    });
  },
  recordDeliveryAttempt: async (id, attempt, outcome) => {
    await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('webhook_deliveries')
        .select('attempts')
        .where('id', '=', id)
        .executeTakeFirst();
      if (row === undefined) return;
      const attempts = [...(JSON.parse(row.attempts) as DeliveryAttempt[]), attempt];
      await trx
        .updateTable('webhook_deliveries')
        .set({ attempts: JSON.stringify(attempts), state: outcome.state, next_attempt_at: outcome.next })
        .where('id', '=', id)
        .execute();
    });
  },
  listDeliveries: async (runId) =>
    (
      await db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
        .select(DELIVERY_COLUMNS)
        .where('d.run_id', '=', runId)
        .orderBy('d.created_at')
        .orderBy('d.id')
        .execute()
    ).map(toDelivery),
  redeliver: async (runId, deliveryId, at) =>
    db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
        .select(['d.id', 'd.attempts', 'e.disabled_at', 'e.disabled_reason'])
        .where('d.run_id', '=', runId);
      if (deliveryId !== undefined) query = query.where('d.id', '=', deliveryId);
      const redelivered: string[] = [];
      const skipped: { id: string; reason: string }[] = [];
      for (const row of await query.orderBy('d.created_at').orderBy('d.id').execute()) {
        if (row.disabled_at !== null) {
          skipped.push({ id: row.id, reason: `the endpoint is disabled: ${row.disabled_reason ?? ''}` });
          continue;
        }
        await trx
          .updateTable('webhook_deliveries')
          .set({
            state: 'pending',
            next_attempt_at: at,
            attempts_base: (JSON.parse(row.attempts) as unknown[]).length,
          })
          .where('id', '=', row.id)
          .execute();
        redelivered.push(row.id);
      }
      return { redelivered, skipped };
    }),
  getServiceSecret: async (name) => {
    const row = await db
      .selectFrom('service_secrets')
      .select(['value', 'created_at'])
      .where('name', '=', name)
      .executeTakeFirst();
    return row === undefined ? undefined : { value: row.value, createdAt: num(row.created_at) };
  },
  setServiceSecret: async (name, value, at) => {
    await db
      .insertInto('service_secrets')
      .values({ name, value, created_at: at })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value, created_at: at }))
      .execute();
  },
});
