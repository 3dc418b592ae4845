import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { problemSchema } from '../problems.ts';
import { runView } from '../run-view.ts';
import type { ServiceContext } from '../service-context.ts';

/*
 * GET /v1/stats/runs: runs over time, for a chart — per minute, hour or day since a moment, the
 * runs started in each bucket by state and the profiles they exported and had rejected. Only
 * buckets with runs are listed. At most MAX_RUNS runs are counted (`truncated` says so).
 */

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const DEFAULT_SPAN = { minute: 60, hour: 24, day: 30 } as const;
const MAX_RUNS = 10_000;
const PAGE = 200;

const bucketSchema = z.object({
  start: z.string().meta({ description: 'The start of the bucket (UTC).' }),
  runs: z.number().int(),
  states: z.record(z.string(), z.number().int()).meta({ description: 'Runs per state.' }),
  exported: z.number().int(),
  rejected: z.number().int(),
  badRows: z.number().int(),
});

export const statsRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store } = context;
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/stats/runs',
    {
      schema: {
        summary: 'Runs over time: per bucket, runs by state and profiles exported and rejected',
        querystring: z.object({
          bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
          since: z.iso
            .datetime({ offset: true })
            .optional()
            .meta({ description: 'Default: 60 minutes, 24 hours or 30 days back, by bucket.' }),
          destination: z
            .string()
            .min(1)
            .max(200)
            .optional()
            .meta({ description: 'Count only this destination.' }),
        }),
        response: {
          200: z
            .object({
              bucket: z.enum(['minute', 'hour', 'day']),
              since: z.string(),
              items: z.array(bucketSchema),
              truncated: z.boolean(),
            })
            .meta({ id: 'RunStats' }),
          400: problemSchema,
          401: problemSchema,
        },
      },
    },
    async (request) => {
      const { bucket, destination } = request.query;
      const size = BUCKET_MS[bucket];
      const since =
        request.query.since === undefined
          ? Math.floor((Date.now() - DEFAULT_SPAN[bucket] * size) / size) * size
          : Date.parse(request.query.since);
      const buckets = new Map<number, z.infer<typeof bucketSchema>>();
      let counted = 0;
      let before: string | undefined;
      let truncated = false;
      scan: for (;;) {
        const rows = await store.listRuns(PAGE, before === undefined ? {} : { before });
        for (const run of rows) {
          if (run.startedAt < since) break scan;
          if (counted === MAX_RUNS) {
            truncated = true;
            break scan;
          }
          counted += 1;
          // An ended run's summary holds its counters; only a running one needs its lanes.
          const view = runView(run, run.status === 'running' ? await store.listLanes(run.id) : [], []);
          const lanes = view.destinations.filter(
            (d) => destination === undefined || d.destination === destination,
          );
          if (destination !== undefined && lanes.length === 0) continue;
          const start = Math.floor(run.startedAt / size) * size;
          const entry = buckets.get(start) ?? {
            start: new Date(start).toISOString(),
            runs: 0,
            states: {},
            exported: 0,
            rejected: 0,
            badRows: 0,
          };
          entry.runs += 1;
          entry.states[view.status] = (entry.states[view.status] ?? 0) + 1;
          entry.exported += lanes.reduce((n, d) => n + d.exported, 0);
          entry.rejected += lanes.reduce((n, d) => n + d.rejected, 0);
          entry.badRows += view.source.badRows;
          buckets.set(start, entry);
        }
        if (rows.length < PAGE) break;
        before = rows.at(-1)!.id;
      }
      return {
        bucket,
        since: new Date(since).toISOString(),
        items: [...buckets.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry),
        truncated,
      };
    },
  );
};
