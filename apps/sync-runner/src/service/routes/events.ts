import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RunEvent } from '../../engine/events.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { FedEvent } from '../run-feeds.ts';
import { runView } from '../run-view.ts';
import type { ServiceContext } from '../service-context.ts';

/*
 * GET /v1/runs/{id}/events: server-sent events. `progress` (counters), `phase` (reading →
 * finishing), then `finished` (the summary) or `failed`, after which the stream ends. A client
 * reconnecting with Last-Event-ID gets what it missed. A run this process does not drive (ended
 * long ago, or driven by another process) is followed from the store: a `run` event with its state
 * whenever that changes, and the end.
 */

const KEEP_ALIVE_MS = 15_000;
const STORE_POLL_MS = 1000;

const frameWith =
  (redact: (text: string) => string) =>
  (id: string | undefined, type: string, data: unknown): string =>
    `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${redact(JSON.stringify(data))}\n\n`;

const dataOf = (event: RunEvent): unknown =>
  event.type === 'progress'
    ? event.progress
    : event.type === 'phase'
      ? { runId: event.runId, phase: event.phase }
      : event.type === 'finished'
        ? event.summary
        : { runId: event.runId, error: event.error };

export const eventRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store, feeds } = context;
  // Summaries and errors never hold secrets by the engine's rules; redacting is the second lock.
  const frame = frameWith(context.redact);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/runs/:id/events',
    {
      schema: {
        summary: "Server-sent events of a run's progress and state (text/event-stream)",
        params: z.object({ id: z.string().min(1).max(200) }),
        headers: z.object({ 'last-event-id': z.string().max(100).optional() }),
        response: { 401: problemSchema, 404: problemSchema },
      },
    },
    async (request, reply) => {
      const runId = request.params.id;
      const run = await store.getRun(runId);
      if (run === undefined) throw new HttpProblem(404, `no run ${JSON.stringify(runId)}`);
      reply.hijack();
      const out = reply.raw;
      out.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      out.write('retry: 2000\n\n');
      let closed = false;
      const cleanups: (() => void)[] = [];
      const end = () => {
        if (closed) return;
        closed = true;
        for (const cleanup of cleanups) cleanup();
        out.end();
      };
      // The response closes when the client goes away (or when it ended).
      out.on('close', end);
      const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      cleanups.push(() => clearInterval(keepAlive));

      const send = (fed: FedEvent) => {
        if (closed) return;
        out.write(frame(fed.id, fed.event.type, dataOf(fed.event)));
        if (fed.event.type === 'finished' || fed.event.type === 'failed') end();
      };
      const backlog = feeds.since(runId, request.headers['last-event-id']);
      if (backlog !== undefined) {
        // Listen first, then replay: nothing emitted in between is lost (seq dedups).
        let last = 0;
        const deliver = (fed: FedEvent) => {
          if (fed.seq <= last) return;
          last = fed.seq;
          send(fed);
        };
        cleanups.push(feeds.listen(runId, deliver));
        for (const fed of backlog) deliver(fed);
        return;
      }
      // Not driven here: follow the store.
      let seen = '';
      const poll = async () => {
        const current = await store.getRun(runId);
        if (closed || current === undefined) return end();
        const view = runView(current, await store.listLanes(runId), []);
        const key = `${view.status}:${JSON.stringify(view.destinations)}`;
        if (key !== seen) {
          seen = key;
          out.write(frame(undefined, 'run', view));
        }
        if (current.status !== 'running') {
          if (current.summary !== null) out.write(frame(undefined, 'finished', current.summary));
          else out.write(frame(undefined, 'failed', { runId, error: current.error ?? current.status }));
          return end();
        }
        const timer = setTimeout(() => void poll().catch(end), STORE_POLL_MS);
        cleanups.push(() => clearTimeout(timer));
      };
      await poll();
    },
  );
};
