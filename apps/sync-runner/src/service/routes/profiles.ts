import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';

/*
 * GET /v1/profiles/{id}: one profile across the configured destinations — where it stands at each
 * (the vendor's verdict on the latest change sent, the run and job that carried it, when) and the
 * bad source rows it was in, run by run. The store keeps the latest state per destination, not
 * every past change, so that is what this shows.
 */

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

const stateSchema = z.object({
  destination: z.string(),
  identity: z.string(),
  status: z.enum(['pending', 'exported', 'rejected', 'retry_wait', 'deleted']),
  op: z.enum(['upsert', 'delete']),
  inSync: z.boolean().meta({ description: 'The latest change sent is the one the destination confirmed.' }),
  code: z.string().nullable(),
  field: z.string().nullable(),
  message: z.string().nullable(),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  updatedAt: z.string(),
  runId: z.string().nullable().meta({ description: 'The run that last planned or settled it.' }),
  job: z
    .object({
      id: z.string(),
      state: z.string(),
      vendorJobId: z.string().nullable(),
      submittedAt: z.string().nullable(),
      settledAt: z.string().nullable(),
    })
    .nullable()
    .meta({ description: 'The job holding its latest change, while that is pending.' }),
});

const profileSchema = z
  .object({
    profileId: z.string(),
    destinations: z.array(stateSchema),
    badRows: z.array(z.object({ runId: z.string(), row: z.number().int(), reason: z.string() })),
  })
  .meta({ id: 'Profile' });

export const profileRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store, engine, redact } = context;
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/profiles/:id',
    {
      schema: {
        summary: 'One profile: its state at every destination and its bad rows across runs',
        params: z.object({ id: z.string().min(1).max(500) }),
        response: { 200: profileSchema, 401: problemSchema, 404: problemSchema },
      },
    },
    async (request) => {
      const profileId = request.params.id;
      const record = await store.profileRecord(
        profileId,
        engine.destinations.map((d) => d.key),
      );
      if (record.states.length === 0 && record.badRows.length === 0)
        throw new HttpProblem(404, `no profile ${JSON.stringify(profileId)} in any destination or run`);
      const destinations = [];
      for (const state of record.states) {
        const job = state.jobId === null ? undefined : await store.getJob(state.jobId);
        const vendorJobId = job?.handle?.id ?? job?.handle?.jobId;
        destinations.push({
          destination: state.destination,
          identity: state.identity,
          status: state.status,
          op: state.op,
          inSync: state.fingerprint === state.confirmedFingerprint,
          code: state.code,
          field: state.field,
          message: state.message === null ? null : redact(state.message),
          attempts: state.attempts,
          nextAttemptAt: iso(state.nextAttemptAt),
          updatedAt: iso(state.updatedAt)!,
          runId: state.runId,
          job:
            job === undefined
              ? null
              : {
                  id: job.id,
                  state: job.state,
                  vendorJobId:
                    typeof vendorJobId === 'string' || typeof vendorJobId === 'number'
                      ? String(vendorJobId)
                      : null,
                  submittedAt: iso(job.submittedAt),
                  settledAt: iso(job.settledAt),
                },
        });
      }
      return {
        profileId,
        destinations,
        badRows: record.badRows.map((row) => ({
          runId: row.runId,
          row: row.row,
          reason: redact(row.reason),
        })),
      };
    },
  );
};
