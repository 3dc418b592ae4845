import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RunNotFoundError } from '../../engine/engine.ts';
import { requestToken } from '../auth.ts';
import { checkKey, claimKey, findKeyRun, fingerprintOf, replay } from '../idempotency.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import { RUN_STATES, redactRunView, runView, runViewSchema, storeStatusOf } from '../run-view.ts';
import type { ServiceContext } from '../service-context.ts';
import { receiveUpload, type StoredUpload, UPLOAD_TYPES, uploadPath } from '../uploads.ts';
import { checkWebhookUrl, WebhookUrlError } from '../webhook-urls.ts';
import { CALLBACK_SECRET } from '../webhooks.ts';

/* POST /v1/runs, GET /v1/runs and /v1/runs/{id}, cancel and retry. */

const booleanString = z.enum(['true', 'false']).transform((value) => value === 'true');

const startQuery = z.object({
  destinations: z
    .string()
    .optional()
    .meta({ description: 'Comma-separated destination names (with a CSV/NDJSON body); default all.' }),
  dryRun: booleanString.optional(),
  full: booleanString.optional(),
});

const startBody = z
  .strictObject({
    destinations: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Default: every destination.' }),
    dryRun: z.boolean().optional().meta({ description: 'Read, map and compare; send and record nothing.' }),
    full: z.boolean().optional().meta({ description: 'Send every profile, changed or not.' }),
  })
  .meta({ id: 'RunRequest' });

const runParams = z.object({ id: z.string().min(1).max(200) });

const listQuery = z.object({
  state: z.enum(RUN_STATES).optional(),
  destination: z.string().min(1).max(200).optional().meta({ description: 'Only runs that include it.' }),
  cursor: z.string().min(1).max(200).optional().meta({ description: '`nextCursor` of the previous page.' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** `Ferry-Async-Callback-Url` (the `Elements-Async-Callback-Url` idea), as Fastify sees headers. */
const CALLBACK_HEADER = 'ferry-async-callback-url';

/** A 400 naming the header when the URL may not get callbacks; a 409 when nothing could sign them. */
const checkCallbackUrl = async (context: ServiceContext, url: string): Promise<void> => {
  try {
    await checkWebhookUrl(url, context.allowPrivateWebhooks);
  } catch (error) {
    if (!(error instanceof WebhookUrlError)) throw error;
    throw new HttpProblem(400, `Ferry-Async-Callback-Url cannot receive callbacks: ${error.message}`, {
      errors: [{ field: `headers/${CALLBACK_HEADER}`, message: error.message }],
    });
  }
  if ((await context.store.getServiceSecret(CALLBACK_SECRET)) === undefined)
    throw new HttpProblem(
      409,
      'this service has no callback signing secret yet: its operator creates one with `ferry webhooks secret`',
    );
};

const errors = { 400: problemSchema, 401: problemSchema, 403: problemSchema, 404: problemSchema };

export const runRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { engine, store } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();

  const viewOf = async (id: string) => {
    const run = await store.getRun(id);
    if (run === undefined) throw new HttpProblem(404, `no run ${JSON.stringify(id)}`);
    return redactRunView(runView(run, await store.listLanes(id), await store.listJobs(id)), context.redact);
  };

  api.post(
    '/v1/runs',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Start a sync',
        description:
          'The source is the configured one (JSON or empty body) or the request body itself as `text/csv` or ' +
          '`application/x-ndjson`, streamed to disk. Answers 202 once the run is recorded.',
        querystring: startQuery,
        body: startBody.nullish(),
        headers: z.object({
          'idempotency-key': z
            .string()
            .optional()
            .meta({ description: 'Replays the first response for 24 h.' }),
          [CALLBACK_HEADER]: z.string().max(2000).optional().meta({
            description:
              "An http(s) URL that gets this run's completion callback, signed with the service's callback secret.",
          }),
        }),
        response: {
          202: runViewSchema,
          ...errors,
          409: problemSchema,
          413: problemSchema,
          422: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const token = requestToken(request);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const format = UPLOAD_TYPES[contentType];
      let upload: StoredUpload | undefined;
      if (format !== undefined) {
        const length = Number(request.headers['content-length']);
        upload = await receiveUpload(request.raw, {
          dir: context.uploadsDir,
          format,
          maxBytes: context.maxUploadBytes,
          ...(Number.isFinite(length) ? { declaredLength: length } : {}),
        });
      }
      const body = request.body ?? {};
      const fromQuery = request.query.destinations
        ?.split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const destinations = body.destinations ?? (fromQuery?.length ? fromQuery : undefined);
      const field = body.destinations === undefined ? 'querystring/destinations' : 'body/destinations';
      const dryRun = body.dryRun ?? request.query.dryRun ?? false;
      const full = body.full ?? request.query.full ?? false;
      const key = request.headers['idempotency-key'];
      const callbackUrl = request.headers[CALLBACK_HEADER];
      let claimed = false;
      let runId: string | undefined;
      try {
        const known = engine.destinations.map((d) => d.key);
        const unknown = (destinations ?? []).flatMap((name, index) =>
          known.includes(name) ? [] : [{ name, index }],
        );
        if (unknown.length > 0)
          throw new HttpProblem(400, `unknown destination(s); configured: ${known.join(', ')}`, {
            errors: unknown.map(({ name, index }) => ({
              field: body.destinations === undefined ? field : `${field}/${index}`,
              message: `no destination named ${JSON.stringify(name)}`,
            })),
          });
        if (callbackUrl !== undefined) await checkCallbackUrl(context, callbackUrl);
        if (key !== undefined) {
          checkKey(key);
          const fingerprint = fingerprintOf({
            destinations: destinations ?? null,
            dryRun,
            full,
            upload: upload === undefined ? null : { format: upload.format, sha256: upload.sha256 },
            // Absent keeps the fingerprints of requests made before the header existed.
            ...(callbackUrl === undefined ? {} : { callbackUrl }),
          });
          const claim = await claimKey(store, { tokenId: token.id, key, fingerprint, now: Date.now() });
          // A process that died after starting the run but before answering: its run is the answer.
          const started =
            claim.kind === 'taken_over'
              ? await findKeyRun(store, { tokenId: token.id, key, since: claim.claimedAt })
              : undefined;
          if (claim.kind === 'replay' || started !== undefined) {
            if (upload !== undefined) await rm(uploadPath(context.uploadsDir, upload.file), { force: true });
            if (claim.kind === 'replay') return replay(reply, claim.response);
            const view = await viewOf(started!);
            const response = { status: 202, headers: { location: view.links.self }, body: view };
            await store.saveIdempotentResponse(token.id, key, response);
            return replay(reply, response);
          }
          claimed = true;
        }
        runId = await context.launcher.start({
          ...(destinations === undefined ? {} : { destinations }),
          dryRun,
          full,
          ...(upload === undefined ? {} : { upload }),
          // A run started with the session cookie came from the dashboard.
          trigger: request.ferrySession === undefined ? 'api' : 'dashboard',
          ...(callbackUrl === undefined ? {} : { callbackUrl }),
          ...(key === undefined ? {} : { idempotency: { tokenId: token.id, key } }),
        });
        // The run is recorded; its first steps may already be going, but to the caller it is queued.
        const view = { ...(await viewOf(runId)), status: 'queued' as const };
        const location = view.links.self;
        if (key !== undefined)
          await store.saveIdempotentResponse(token.id, key, {
            status: 202,
            headers: { location },
            body: view,
          });
        return reply.code(202).header('location', location).send(view);
      } catch (error) {
        if (claimed && key !== undefined) await store.releaseIdempotencyKey(token.id, key);
        // An upload belongs to its run once the run is recorded; before that nothing refers to it.
        if (upload !== undefined && runId === undefined)
          await rm(uploadPath(context.uploadsDir, upload.file), { force: true });
        throw error;
      }
    },
  );

  api.get(
    '/v1/runs',
    {
      schema: {
        summary: 'List runs, newest first',
        querystring: listQuery,
        response: {
          200: z.object({ items: z.array(runViewSchema), nextCursor: z.string().nullable() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const { state, destination, cursor, limit } = request.query;
      const rows = await store.listRuns(limit, {
        ...(state === undefined ? {} : { status: storeStatusOf(state) }),
        ...(cursor === undefined ? {} : { before: cursor }),
      });
      const items = [];
      for (const run of rows) {
        const view = redactRunView(
          runView(run, await store.listLanes(run.id), await store.listJobs(run.id)),
          context.redact,
        );
        if (state !== undefined && view.status !== state) continue;
        if (destination !== undefined && !view.destinations.some((d) => d.destination === destination))
          continue;
        items.push(view);
      }
      return { items, nextCursor: rows.length < limit ? null : rows.at(-1)!.id };
    },
  );

  api.get(
    '/v1/runs/:id',
    {
      schema: {
        summary: 'A run: its state and per-destination counters',
        params: runParams,
        response: { 200: runViewSchema, ...errors },
      },
    },
    async (request) => viewOf(request.params.id),
  );

  api.post(
    '/v1/runs/:id/cancel',
    {
      config: { scope: 'write' },
      schema: {
        summary: 'Stop a run gracefully (writes finish; vendor jobs are checked by the next run)',
        params: runParams,
        response: { 202: runViewSchema, ...errors, 409: problemSchema },
      },
    },
    async (request, reply) => {
      const view = await viewOf(request.params.id);
      if (view.finishedAt !== null) throw new HttpProblem(409, `run ${view.id} has ended (${view.status})`);
      try {
        await engine.cancelRun(view.id);
      } catch (error) {
        if (error instanceof RunNotFoundError) throw new HttpProblem(404, error.message);
        throw new HttpProblem(409, error instanceof Error ? error.message : String(error));
      }
      return reply.code(202).header('location', view.links.self).send(view);
    },
  );

  api.post(
    '/v1/runs/:id/retry',
    {
      config: { scope: 'write' },
      schema: {
        summary:
          "`ferry retry` for the run's destinations: rejected profiles go again in the next run, waiting ones at once",
        params: runParams,
        response: { 200: z.object({ rejected: z.number().int(), waiting: z.number().int() }), ...errors },
      },
    },
    async (request) => {
      const view = await viewOf(request.params.id);
      let rejected = 0;
      let waiting = 0;
      for (const { destination } of view.destinations) {
        const counts = await engine.retry(destination);
        rejected += counts.rejected;
        waiting += counts.waiting;
      }
      return { rejected, waiting };
    },
  );
};
