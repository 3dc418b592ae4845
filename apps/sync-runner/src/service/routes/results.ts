import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ErrorEntry, errorsCsv } from '../../report/errors-report.ts';
import type { BadRow, ProfileIssue } from '../../store/state-store.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';

/*
 * GET /v1/runs/{id}/records and /bad-rows: JSON pages with a cursor, or the whole set streamed as
 * CSV (the `ferry errors --csv` format and formula protection) or NDJSON, chosen by Accept. An
 * empty result is 200 with an empty page.
 */

const PAGE = 1000;

type Representation = 'json' | 'csv' | 'ndjson';

const representationOf = (request: FastifyRequest): Representation => {
  const accept = (request.headers.accept ?? '*/*').toLowerCase();
  for (const part of accept.split(',')) {
    const type = part.split(';')[0]!.trim();
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'json';
    if (type === 'text/csv' || type === 'text/*') return 'csv';
    if (type === 'application/x-ndjson') return 'ndjson';
  }
  throw new HttpProblem(406, 'this resource is served as application/json, text/csv or application/x-ndjson');
};

const encodeCursor = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const decodeCursor = <T>(cursor: string, check: (value: unknown) => value is T): T => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (check(value)) return value;
  } catch {
    // Fall through to the problem.
  }
  throw new HttpProblem(400, 'the cursor is not one this server gave', {
    errors: [{ field: 'querystring/cursor', message: 'not a cursor from a previous page' }],
  });
};

const recordSchema = z
  .object({
    destination: z.string(),
    profileId: z.string(),
    identity: z.string(),
    status: z.enum(['rejected', 'retry_wait']),
    code: z.string().nullable(),
    field: z.string().nullable(),
    message: z.string().nullable(),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Record' });

const badRowSchema = z
  .object({ row: z.number().int(), profileId: z.string().nullable(), reason: z.string() })
  .meta({ id: 'BadRow' });

const recordOf = (issue: ProfileIssue): z.infer<typeof recordSchema> => ({
  destination: issue.destination,
  profileId: issue.profileId,
  identity: issue.identity,
  status: issue.status,
  code: issue.code,
  field: issue.field,
  message: issue.message,
  attempts: issue.attempts,
  nextAttemptAt: issue.nextAttemptAt === null ? null : new Date(issue.nextAttemptAt).toISOString(),
  updatedAt: new Date(issue.updatedAt).toISOString(),
});

const isAfter = (value: unknown): value is { destination: string; profileId: string } =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { destination?: unknown }).destination === 'string' &&
  typeof (value as { profileId?: unknown }).profileId === 'string';
const isRow = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

const stream = async (reply: FastifyReply, type: string, chunks: AsyncIterable<Buffer | string>) => {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  try {
    for await (const chunk of chunks) {
      if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
      if (out.destroyed) return;
    }
  } catch (error) {
    // Headers are out: all that is left is to cut the response so the client sees it incomplete.
    out.destroy(error as Error);
    return;
  }
  out.end();
};

async function* ndjson<T>(items: AsyncIterable<T>): AsyncGenerator<string> {
  for await (const item of items) yield `${JSON.stringify(item)}\n`;
}

export const resultRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const params = z.object({ id: z.string().min(1).max(200) });
  const mustExist = async (id: string) => {
    if ((await store.getRun(id)) === undefined) throw new HttpProblem(404, `no run ${JSON.stringify(id)}`);
  };

  async function* problems(
    filter: { destination?: string; status?: string; code?: string; field?: string; q?: string },
    after?: { destination: string; profileId: string },
  ) {
    const q = filter.q?.toLowerCase();
    const wanted = (issue: ProfileIssue) =>
      (filter.status === undefined || issue.status === filter.status) &&
      (filter.code === undefined || issue.code === filter.code) &&
      (filter.field === undefined || issue.field === filter.field) &&
      (q === undefined ||
        issue.profileId.toLowerCase().includes(q) ||
        issue.identity.toLowerCase().includes(q) ||
        (issue.message ?? '').toLowerCase().includes(q));
    let cursor = after;
    for (;;) {
      const page = await store.listProblems({
        ...(filter.destination === undefined ? {} : { destination: filter.destination }),
        ...(cursor === undefined ? {} : { after: cursor }),
        limit: PAGE,
      });
      for (const issue of page) if (wanted(issue)) yield issue;
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) return;
      cursor = { destination: last.destination, profileId: last.profileId };
    }
  }

  async function* badRows(runId: string, afterRow = 0): AsyncGenerator<BadRow> {
    let after = afterRow;
    for (;;) {
      const page = await store.listBadRows(runId, after, PAGE);
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < PAGE) return;
      after = last.row;
    }
  }

  api.get(
    '/v1/runs/:id/records',
    {
      schema: {
        summary: 'Per-profile problems: rejected profiles and those waiting for a retry',
        description:
          'What `ferry errors` lists, for the destinations of the store. JSON pages (`cursor`, `limit`), or the ' +
          'whole set as `text/csv` (formula-safe, as `ferry errors --csv`) or `application/x-ndjson` by Accept.',
        params,
        querystring: z.object({
          status: z.enum(['rejected', 'retry_wait']).optional(),
          destination: z.string().min(1).optional(),
          code: z
            .string()
            .min(1)
            .max(200)
            .optional()
            .meta({ description: "Only this error code (the vendor's)." }),
          field: z.string().min(1).max(200).optional().meta({ description: 'Only errors about this field.' }),
          q: z
            .string()
            .min(1)
            .max(200)
            .optional()
            .meta({ description: 'Text search in the profile id, identity and message (case-insensitive).' }),
          cursor: z.string().min(1).max(1000).optional(),
          limit: z.coerce.number().int().min(1).max(PAGE).default(100),
        }),
        response: {
          200: z.object({ items: z.array(recordSchema), nextCursor: z.string().nullable() }),
          400: problemSchema,
          404: problemSchema,
          406: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const representation = representationOf(request);
      await mustExist(request.params.id);
      const { status, destination, code, field, q, cursor, limit } = request.query;
      const filter = {
        ...(status === undefined ? {} : { status }),
        ...(destination === undefined ? {} : { destination }),
        ...(code === undefined ? {} : { code }),
        ...(field === undefined ? {} : { field }),
        ...(q === undefined ? {} : { q }),
      };
      const after = cursor === undefined ? undefined : decodeCursor(cursor, isAfter);
      if (representation === 'csv') {
        async function* entries(): AsyncGenerator<ErrorEntry> {
          for await (const issue of problems(filter, after)) yield { kind: 'profile', issue };
        }
        return stream(reply, 'text/csv; charset=utf-8', errorsCsv(entries()));
      }
      if (representation === 'ndjson') {
        async function* items() {
          for await (const issue of problems(filter, after)) yield recordOf(issue);
        }
        return stream(reply, 'application/x-ndjson', ndjson(items()));
      }
      const items: ProfileIssue[] = [];
      let more = false;
      for await (const issue of problems(filter, after)) {
        if (items.length === limit) {
          more = true;
          break;
        }
        items.push(issue);
      }
      const last = items.at(-1);
      return {
        items: items.map(recordOf),
        nextCursor:
          more && last !== undefined
            ? encodeCursor({ destination: last.destination, profileId: last.profileId })
            : null,
      };
    },
  );

  api.get(
    '/v1/runs/:id/bad-rows',
    {
      schema: {
        summary: "The run's bad source rows (unreadable, no id, a value of the wrong type, duplicates)",
        params,
        querystring: z.object({
          cursor: z.string().min(1).max(1000).optional(),
          limit: z.coerce.number().int().min(1).max(PAGE).default(100),
        }),
        response: {
          200: z.object({ items: z.array(badRowSchema), nextCursor: z.string().nullable() }),
          400: problemSchema,
          404: problemSchema,
          406: problemSchema,
        },
      },
    },
    async (request, reply) => {
      const representation = representationOf(request);
      const runId = request.params.id;
      await mustExist(runId);
      const { cursor, limit } = request.query;
      const after = cursor === undefined ? 0 : decodeCursor(cursor, isRow);
      if (representation === 'csv') {
        async function* entries(): AsyncGenerator<ErrorEntry> {
          for await (const badRow of badRows(runId, after)) yield { kind: 'bad_row', runId, badRow };
        }
        return stream(reply, 'text/csv; charset=utf-8', errorsCsv(entries()));
      }
      const view = (row: BadRow) => ({ row: row.row, profileId: row.profileId ?? null, reason: row.reason });
      if (representation === 'ndjson') {
        async function* items() {
          for await (const row of badRows(runId, after)) yield view(row);
        }
        return stream(reply, 'application/x-ndjson', ndjson(items()));
      }
      const page = await store.listBadRows(runId, after, limit + 1);
      const items = page.slice(0, limit);
      return {
        items: items.map(view),
        nextCursor: page.length > limit ? encodeCursor(items.at(-1)!.row) : null,
      };
    },
  );
};
