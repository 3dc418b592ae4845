import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WebhookDelivery } from '../../store/webhook-store.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';
import { checkWebhookUrl, WebhookUrlError } from '../webhook-urls.ts';
import { newWebhookSecret } from '../webhooks.ts';

/* Webhook endpoints (the secret is shown once, at creation) and a run's deliveries. */

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The event types of completion webhooks. */
export const EVENT_TYPE_NAMES = [
  'run.completed',
  'run.completed_with_errors',
  'run.failed',
  'run.canceled',
] as const;

const eventsSchema = z
  .array(z.enum(EVENT_TYPE_NAMES))
  .min(1)
  .nullable()
  .meta({ description: 'The event types sent to this endpoint; null (the default) for all.' });

const endpointSchema = z
  .object({
    id: z.string(),
    source: z.enum(['api', 'config']).meta({ description: 'POST /v1/webhook-endpoints, or the config.' }),
    url: z.string(),
    events: eventsSchema,
    createdAt: z.string(),
    disabledAt: z.string().nullable(),
    disabledReason: z.string().nullable(),
  })
  .meta({ id: 'WebhookEndpoint' });

const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'The `webhook-id` header of every attempt.' }),
    endpointId: z.string(),
    source: z.enum(['api', 'config', 'callback']).meta({
      description: "The endpoint's origin; `callback` is the run's `Ferry-Async-Callback-Url`.",
    }),
    url: z.string(),
    type: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    nextAttemptAt: z.string().nullable(),
    attempts: z.array(
      z.object({
        at: z.string(),
        status: z.number().int().nullable(),
        error: z.string().nullable(),
        redelivery: z.boolean().meta({ description: 'The first attempt after a redeliver request.' }),
      }),
    ),
  })
  .meta({ id: 'WebhookDelivery' });

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  endpointId: d.endpointId,
  source: d.endpointKind === 'run' ? ('callback' as const) : d.endpointKind,
  url: d.url,
  type: d.type,
  state: d.state,
  nextAttemptAt: iso(d.nextAttemptAt),
  attempts: d.attempts.map((a) => ({
    at: iso(a.at)!,
    status: a.status,
    error: a.error,
    redelivery: a.redelivery === true,
  })),
});

const redeliverResponse = z.object({
  items: z.array(deliverySchema).meta({ description: 'The deliveries made due again.' }),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
});

export const webhookRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/webhook-endpoints',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Register a completion webhook endpoint; its signing secret is in this answer only',
        body: z.strictObject({ url: z.string().min(1).max(2000), events: eventsSchema.optional() }),
        response: {
          201: endpointSchema.extend({ secret: z.string().meta({ description: '`whsec_…`, shown once.' }) }),
          400: problemSchema,
          401: problemSchema,
          403: problemSchema,
        },
      },
    },
    async (request, reply) => {
      try {
        await checkWebhookUrl(request.body.url, context.allowPrivateWebhooks);
      } catch (error) {
        if (!(error instanceof WebhookUrlError)) throw error;
        throw new HttpProblem(400, `the URL cannot receive webhooks: ${error.message}`, {
          errors: [{ field: 'body/url', message: error.message }],
        });
      }
      const endpoint = {
        id: `we_${randomBytes(8).toString('hex')}`,
        url: request.body.url,
        secret: newWebhookSecret(),
        createdAt: Date.now(),
        events: request.body.events ?? null,
      };
      await store.createWebhookEndpoint(endpoint);
      return reply
        .code(201)
        .header('location', `/v1/webhook-endpoints/${endpoint.id}`)
        .send({
          ...endpoint,
          source: 'api' as const,
          createdAt: iso(endpoint.createdAt)!,
          disabledAt: null,
          disabledReason: null,
        });
    },
  );

  api.get(
    '/v1/webhook-endpoints',
    {
      schema: {
        summary: 'Webhook endpoints (never their secrets)',
        response: { 200: z.object({ items: z.array(endpointSchema) }), 401: problemSchema },
      },
    },
    async () => ({
      items: (await store.listWebhookEndpoints()).flatMap((e) =>
        e.kind === 'run'
          ? []
          : [
              {
                id: e.id,
                source: e.kind,
                url: e.url,
                events: e.events === null ? null : e.events.filter(isEventType),
                createdAt: iso(e.createdAt)!,
                disabledAt: iso(e.disabledAt),
                disabledReason: e.disabledReason,
              },
            ],
      ),
    }),
  );

  api.delete(
    '/v1/webhook-endpoints/:id',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Remove an endpoint and its pending deliveries (endpoints from the config stay)',
        params: z.object({ id: z.string().min(1).max(200) }),
        response: {
          204: z.null(),
          401: problemSchema,
          403: problemSchema,
          404: problemSchema,
          409: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const known = (await store.listWebhookEndpoints()).find((e) => e.id === request.params.id);
      if (known?.kind === 'config')
        throw new HttpProblem(409, `webhook endpoint ${known.id} comes from the config: remove it there`);
      if (!(await store.deleteWebhookEndpoint(request.params.id)))
        throw new HttpProblem(404, `no webhook endpoint ${JSON.stringify(request.params.id)}`);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/v1/runs/:id/deliveries',
    {
      schema: {
        summary: "The run's completion webhook deliveries and each attempt",
        params: z.object({ id: z.string().min(1).max(200) }),
        response: {
          200: z.object({ items: z.array(deliverySchema) }),
          401: problemSchema,
          404: problemSchema,
        },
      },
    },
    async (request) => {
      if ((await store.getRun(request.params.id)) === undefined)
        throw new HttpProblem(404, `no run ${JSON.stringify(request.params.id)}`);
      return { items: (await store.listDeliveries(request.params.id)).map(deliveryView) };
    },
  );

  const redeliver = async (runId: string, deliveryId: string | undefined) => {
    if ((await store.getRun(runId)) === undefined)
      throw new HttpProblem(404, `no run ${JSON.stringify(runId)}`);
    const result = await store.redeliver(runId, deliveryId, Date.now());
    if (deliveryId !== undefined && result.redelivered.length === 0) {
      if (result.skipped[0] !== undefined)
        throw new HttpProblem(
          409,
          `delivery ${deliveryId} cannot be sent again: ${result.skipped[0].reason}`,
        );
      throw new HttpProblem(404, `run ${runId} has no delivery ${JSON.stringify(deliveryId)}`);
    }
    const again = new Set(result.redelivered);
    return {
      items: (await store.listDeliveries(runId)).filter((d) => again.has(d.id)).map(deliveryView),
      skipped: [...result.skipped],
    };
  };
  const redeliverSchema = {
    response: {
      202: redeliverResponse,
      401: problemSchema,
      403: problemSchema,
      404: problemSchema,
      409: problemSchema,
    },
  };

  api.post(
    '/v1/runs/:id/deliveries/redeliver',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Send every delivery of the run again (same webhook-id; the retry schedule starts over)',
        params: z.object({ id: z.string().min(1).max(200) }),
        ...redeliverSchema,
      },
    },
    async (request, reply) => reply.code(202).send(await redeliver(request.params.id, undefined)),
  );

  api.post(
    '/v1/runs/:id/deliveries/:deliveryId/redeliver',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Send one delivery again (same webhook-id; the retry schedule starts over)',
        params: z.object({ id: z.string().min(1).max(200), deliveryId: z.string().min(1).max(200) }),
        ...redeliverSchema,
      },
    },
    async (request, reply) =>
      reply.code(202).send(await redeliver(request.params.id, request.params.deliveryId)),
  );
};

const isEventType = (type: string): type is (typeof EVENT_TYPE_NAMES)[number] =>
  (EVENT_TYPE_NAMES as readonly string[]).includes(type);
