import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';
import { checkWebhookUrl, WebhookUrlError } from '../webhook-urls.ts';
import { newWebhookSecret } from '../webhooks.ts';

/* Webhook endpoints (the secret is shown once, at creation) and a run's deliveries. */

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const endpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    createdAt: z.string(),
    disabledAt: z.string().nullable(),
    disabledReason: z.string().nullable(),
  })
  .meta({ id: 'WebhookEndpoint' });

const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'The `webhook-id` header of every attempt.' }),
    endpointId: z.string(),
    type: z.string(),
    state: z.enum(['pending', 'delivered', 'failed']),
    nextAttemptAt: z.string().nullable(),
    attempts: z.array(
      z.object({ at: z.string(), status: z.number().int().nullable(), error: z.string().nullable() }),
    ),
  })
  .meta({ id: 'WebhookDelivery' });

export const webhookRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/webhook-endpoints',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Register a completion webhook endpoint; its signing secret is in this answer only',
        body: z.strictObject({ url: z.string().min(1).max(2000) }),
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
      };
      await store.createWebhookEndpoint(endpoint);
      return reply
        .code(201)
        .header('location', `/v1/webhook-endpoints/${endpoint.id}`)
        .send({ ...endpoint, createdAt: iso(endpoint.createdAt)!, disabledAt: null, disabledReason: null });
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
      items: (await store.listWebhookEndpoints()).map((e) => ({
        id: e.id,
        url: e.url,
        createdAt: iso(e.createdAt)!,
        disabledAt: iso(e.disabledAt),
        disabledReason: e.disabledReason,
      })),
    }),
  );

  api.delete(
    '/v1/webhook-endpoints/:id',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Remove an endpoint and its pending deliveries',
        params: z.object({ id: z.string().min(1).max(200) }),
        response: { 204: z.null(), 401: problemSchema, 403: problemSchema, 404: problemSchema },
      },
    },
    async (request, reply) => {
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
      return {
        items: (await store.listDeliveries(request.params.id)).map((d) => ({
          id: d.id,
          endpointId: d.endpointId,
          type: d.type,
          state: d.state,
          nextAttemptAt: iso(d.nextAttemptAt),
          attempts: d.attempts.map((a) => ({ at: iso(a.at)!, status: a.status, error: a.error })),
        })),
      };
    },
  );
};
