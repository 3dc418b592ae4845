import { AuthError, ConfigError, type VerifyResult } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';

/* GET /v1/destinations and POST /v1/destinations/{name}/verify (`ferry verify` for one). */

const destinationSchema = z
  .object({
    name: z.string(),
    plugin: z.string(),
    displayName: z.string(),
    version: z.string().nullable().meta({ description: "The plugin package's version, when known." }),
    capabilities: z.object({ delete: z.boolean(), lists: z.boolean(), callbacks: z.boolean() }),
    limits: z
      .object({
        maxProfilesPerJob: z.number(),
        maxBytesPerJob: z.number(),
        maxJobsInFlight: z.number(),
        requestsPerSecond: z.number().optional(),
        maxConcurrentRequests: z.number().optional(),
      })
      .nullable()
      .meta({ description: 'With the configured options; null when they could not be parsed.' }),
    ok: z.boolean().meta({ description: 'False when its options could not be parsed (see `error`).' }),
    error: z.string().optional(),
    links: z.object({ verify: z.string() }),
  })
  .meta({ id: 'Destination' });

export const destinationRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { engine, redact } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/v1/destinations',
    {
      schema: {
        summary: 'The configured destinations',
        response: { 200: z.object({ items: z.array(destinationSchema) }), 401: problemSchema },
      },
    },
    async () => ({
      items: engine.destinations.map((d) => ({
        name: d.key,
        plugin: d.plugin.name,
        displayName: d.plugin.displayName,
        version: context.pluginVersions?.[d.key] ?? null,
        capabilities: {
          delete: d.plugin.capabilities.delete,
          lists: d.plugin.capabilities.lists,
          callbacks: d.plugin.capabilities.callbacks,
        },
        limits: d.ok
          ? {
              maxProfilesPerJob: d.limits.maxProfilesPerJob,
              maxBytesPerJob: d.limits.maxBytesPerJob,
              maxJobsInFlight: d.limits.maxJobsInFlight,
              ...(d.limits.requestsPerSecond === undefined
                ? {}
                : { requestsPerSecond: d.limits.requestsPerSecond }),
              ...(d.limits.maxConcurrentRequests === undefined
                ? {}
                : { maxConcurrentRequests: d.limits.maxConcurrentRequests }),
            }
          : null,
        ok: d.ok,
        ...(d.ok ? {} : { error: redact(d.error) }),
        links: { verify: `/v1/destinations/${encodeURIComponent(d.key)}/verify` },
      })),
    }),
  );
  api.post(
    '/v1/destinations/:name/verify',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Credentials, permissions, and that the mapped fields and lists exist (`ferry verify`)',
        params: z.object({ name: z.string().min(1).max(200) }),
        response: {
          200: z.object({
            name: z.string(),
            plugin: z.string(),
            ok: z.boolean(),
            problems: z.array(
              z.object({ kind: z.string(), subject: z.string().optional(), message: z.string() }),
            ),
          }),
          401: problemSchema,
          403: problemSchema,
          404: problemSchema,
        },
      },
    },
    async (request) => {
      const destination = engine.destinations.find((d) => d.key === request.params.name);
      if (destination === undefined)
        throw new HttpProblem(404, `no destination ${JSON.stringify(request.params.name)}`);
      let result: VerifyResult;
      try {
        result = destination.ok
          ? await destination.plugin.verify(
              destination.ctx,
              context.verifyRequests[destination.key] ?? { fields: [], lists: [] },
            )
          : { ok: false, problems: [{ kind: 'option', message: destination.error }] };
      } catch (error) {
        const kind =
          error instanceof AuthError ? 'auth' : error instanceof ConfigError ? 'option' : 'permission';
        result = {
          ok: false,
          problems: [{ kind, message: error instanceof Error ? error.message : String(error) }],
        };
      }
      return {
        name: destination.key,
        plugin: destination.plugin.name,
        ok: result.ok,
        problems: result.ok
          ? []
          : result.problems.map((p) => ({
              kind: p.kind,
              ...(p.subject === undefined ? {} : { subject: redact(p.subject) }),
              message: redact(p.message),
            })),
      };
    },
  );
};
