import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServiceContext } from '../service-context.ts';

/* /healthz (the process answers) and /readyz (the store answers too); no token needed. */

export const healthRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const status = z.object({ status: z.enum(['ok', 'unavailable']), detail: z.string().optional() });
  api.get(
    '/healthz',
    { config: { auth: false }, schema: { summary: 'Liveness', response: { 200: status } } },
    async () => ({ status: 'ok' as const }),
  );
  api.get(
    '/readyz',
    {
      config: { auth: false },
      schema: { summary: 'Readiness: the state store answers', response: { 200: status, 503: status } },
    },
    async (_request, reply) => {
      try {
        await context.store.listRuns(1);
        return { status: 'ok' as const };
      } catch {
        return reply
          .code(503)
          .send({ status: 'unavailable' as const, detail: 'the state store does not answer' });
      }
    },
  );
};
