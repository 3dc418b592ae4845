import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../schema.ts';
import type { DeliveryAttempt, WebhookDelivery, WebhookStore } from '../webhook-store.ts';
import { num, numOrNull } from './shared.ts';

/* Webhook endpoints and the deliveries outbox. */

const toDelivery = (row: Omit<WebhookDeliveriesTable, 'payload'>): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpoint_id,
  runId: row.run_id,
  type: row.type,
  state: row.state,
  attempts: JSON.parse(row.attempts) as DeliveryAttempt[],
  nextAttemptAt: numOrNull(row.next_attempt_at),
  createdAt: num(row.created_at),
});

export const kyselyWebhooks = (db: Kysely<Database>): WebhookStore => ({
  createWebhookEndpoint: async (endpoint) => {
    await db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        url: endpoint.url,
        secret: endpoint.secret,
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
        .select(['id', 'url', 'created_at', 'disabled_at', 'disabled_reason'])
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map((row) => ({
      id: row.id,
      url: row.url,
      createdAt: num(row.created_at),
      disabledAt: numOrNull(row.disabled_at),
      disabledReason: row.disabled_reason,
    })),
  deleteWebhookEndpoint: async (id) =>
    db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      const result = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    }),
  disableWebhookEndpoint: async (id, at, reason) => {
    await db
      .updateTable('webhook_endpoints')
      .set({ disabled_at: at, disabled_reason: reason })
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .execute();
  },
  enqueueDeliveries: async ({ runId, type, endedAt, at, payload, newId }) => {
    const endpoints = await db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('disabled_at', 'is', null)
      .where('created_at', '<=', endedAt)
      .execute();
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
      .select([
        'd.id',
        'd.endpoint_id',
        'd.run_id',
        'd.type',
        'd.payload',
        'd.state',
        'd.attempts',
        'd.next_attempt_at',
        'd.created_at',
        'e.url',
        'e.secret',
      ])
      .where('d.state', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where('e.disabled_at', 'is', null)
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      ...toDelivery(row),
      url: row.url,
      secret: row.secret,
      payload: row.payload,
    }));
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
        .selectFrom('webhook_deliveries')
        .select(['id', 'endpoint_id', 'run_id', 'type', 'state', 'attempts', 'next_attempt_at', 'created_at'])
        .where('run_id', '=', runId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    ).map(toDelivery),
});
