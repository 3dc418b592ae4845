import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

/*
 * Errors as RFC 9457 problem details (`application/problem+json`). A request that fails its schema
 * names every field at fault in `errors` (`field` is a JSON pointer into the part of the request:
 * `body/destinations/0`, `querystring/limit`, `headers/idempotency-key`).
 */

export const PROBLEM_TYPE = 'application/problem+json';

export const problemSchema = z
  .object({
    type: z
      .string()
      .meta({ description: 'A URI naming the kind of problem; `about:blank` when the status says it all.' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .meta({ description: 'Each field at fault, for a 400.' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

export type Problem = z.infer<typeof problemSchema>;

const TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  411: 'Length Required',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An error a handler throws to answer with a problem. */
export class HttpProblem extends Error {
  readonly status: number;
  readonly extra: Partial<Problem>;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    detail: string,
    extra: Partial<Problem> = {},
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.extra = extra;
    this.headers = headers;
  }
}

export const sendProblem = (
  reply: FastifyReply,
  status: number,
  detail: string | undefined,
  extra: Partial<Problem> = {},
): FastifyReply => {
  const body: Problem = {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail === undefined ? {} : { detail }),
    instance: reply.request.url.split('?')[0] ?? '/',
    ...extra,
  };
  return reply.code(status).type(PROBLEM_TYPE).send(body);
};

/** Installs the error and not-found handlers; `redact` keeps secrets out of 500s. */
export const installProblemHandlers = (app: FastifyInstance, redact: (text: string) => string): void => {
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, `no route ${request.method} ${request.url.split('?')[0]}`),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return sendProblem(reply, error.status, error.message, error.extra);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const part = error.validationContext ?? 'request';
      const errors = error.validation.map((issue) => ({
        field: `${part}${issue.instancePath === '/' ? '' : issue.instancePath}`,
        message: issue.message ?? 'invalid',
      }));
      return sendProblem(reply, 400, `invalid ${part}: ${errors.map((e) => e.field).join(', ')}`, { errors });
    }
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: { message: redact(error.message) } }, 'request failed');
    return sendProblem(
      reply,
      status,
      status >= 500 ? 'the server could not answer this request' : redact(error.message),
    );
  });
};
