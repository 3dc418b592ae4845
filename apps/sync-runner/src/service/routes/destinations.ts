import { AuthError, ConfigError, type VerifyResult } from '@ferry/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { reconcile } from '../../reconcile/reconcile.ts';
import { ExportConflictError } from '../../store/export-store.ts';
import { configuredSource } from '../../wiring/config-source.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';

/*
 * GET /v1/destinations, POST /v1/destinations/{name}/verify (`ferry verify` for one) and
 * POST /v1/destinations/{name}/reconcile (`ferry reconcile`).
 */

const fieldDriftSchema = z.object({
  field: z.string(),
  ferry: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  vendor: z.union([z.string(), z.number(), z.boolean(), z.null()]),
});

const reconcileSchema = z
  .object({
    destination: z.string(),
    vendorRecords: z.number(),
    confirmed: z.number(),
    compared: z.number(),
    unsynced: z.number(),
    counts: z.object({ missing: z.number(), changed: z.number(), unknown: z.number() }),
    drift: z.array(
      z.object({
        kind: z.enum(['missing', 'changed', 'unknown']),
        identity: z.string(),
        profileId: z.string().optional(),
        fields: z.array(fieldDriftSchema).optional(),
      }),
    ),
    requeued: z.number().optional(),
  })
  .meta({ id: 'ReconcileReport' });

const DEFAULT_DEADLINE_MS = 60 * 60_000;

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
        links: {
          verify: `/v1/destinations/${encodeURIComponent(d.key)}/verify`,
          reconcile: `/v1/destinations/${encodeURIComponent(d.key)}/reconcile`,
        },
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

  api.post(
    '/v1/destinations/:name/reconcile',
    {
      config: { scope: 'write' },
      schema: {
        summary:
          'Export what the destination holds and compare it with what Ferry confirmed (`ferry reconcile`); ' +
          'answers when the export has been read, which takes as long as the vendor needs',
        params: z.object({ name: z.string().min(1).max(200) }),
        body: z
          .object({
            fix: z
              .boolean()
              .default(false)
              .meta({ description: 'Re-queue the missing and changed profiles for the next sync.' }),
          })
          .prefault({}),
        response: {
          200: reconcileSchema,
          401: problemSchema,
          403: problemSchema,
          404: problemSchema,
          409: problemSchema,
          422: problemSchema,
        },
      },
    },
    async (request) => {
      const destination = engine.destinations.find((d) => d.key === request.params.name);
      if (destination === undefined)
        throw new HttpProblem(404, `no destination ${JSON.stringify(request.params.name)}`);
      if (!destination.ok) throw new HttpProblem(422, redact(destination.error));
      try {
        const source = configuredSource(context.source, { store: context.store });
        const report = await reconcile({
          store: context.store,
          destination,
          fields: context.verifyRequests[destination.key]?.fields ?? [],
          deadlineMs: destination.settings?.pollDeadlineMs ?? DEFAULT_DEADLINE_MS,
          source: source.open(),
          fix: request.body.fix,
        });
        return {
          ...report,
          drift: report.drift.map(({ fields, ...entry }) => ({
            ...entry,
            ...(fields === undefined
              ? {}
              : {
                  fields: fields.map((field) => ({
                    field: field.field,
                    ferry: field.ferry instanceof Date ? field.ferry.toISOString() : field.ferry,
                    vendor: field.vendor,
                  })),
                }),
          })),
        };
      } catch (error) {
        const message = redact(error instanceof Error ? error.message : String(error));
        if (error instanceof ExportConflictError) throw new HttpProblem(409, message);
        if (error instanceof ConfigError) throw new HttpProblem(422, message);
        throw error;
      }
    },
  );
};
