import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  type CommonOptions,
  createVendorServer,
  drainBody,
  type FaultReplies,
  type VendorServer,
} from '../vendor-server.ts';
import { checkBearer, DEFAULT_SENDGRID_API_KEY } from './auth.ts';
import { registerContactRoutes } from './contacts.ts';
import { DEFAULT_LIMITS, type SendgridContext, type SendgridLimits } from './context.ts';
import { errorBody, S3_ENDPOINTS, sendError, sendS3Error, TOO_MANY_REQUESTS } from './errors.ts';
import { registerErrorsFileRoute } from './errors-file.ts';
import { DEFAULT_EXPORT_RETENTION_MS, registerExportRoutes } from './exports.ts';
import {
  type CustomFieldSeed,
  createFieldRegistry,
  registerFieldDefinitionRoutes,
} from './field-definitions.ts';
import { registerImportRoutes } from './imports.ts';
import { registerInspectionRoutes } from './inspect.ts';
import { createJobQueue } from './jobs.ts';
import { createListRegistry, type ListSeed, registerListRoutes } from './lists.ts';
import {
  createRateLimiter,
  DEFAULT_RATE_LIMIT,
  type RateLimitOptions,
  type RateVerdict,
} from './rate-limit.ts';
import { createContactStore } from './store.ts';

export { DEFAULT_SENDGRID_API_KEY } from './auth.ts';
export type { SendgridLimits } from './context.ts';
export type { CustomFieldSeed, FieldType } from './field-definitions.ts';
export type { ListSeed } from './lists.ts';
export type { RateLimitOptions, RateLimitSettings } from './rate-limit.ts';

/** SendGrid emulator settings (the shared ones are in CommonOptions). */
export interface SendgridOptions {
  /** The API key clients must send as `Authorization: Bearer <key>` (default `SG.sandbox`). */
  readonly apiKey?: string;
  /** Custom fields that exist from the start (default none); ids are generated when omitted. */
  readonly customFields?: readonly CustomFieldSeed[];
  /** Contact lists that exist from the start (default none); ids are generated when omitted. */
  readonly lists?: readonly ListSeed[];
  /**
   * Per-endpoint request budget behind the X-RateLimit-* headers and real 429s
   * (default 1000 requests per 60 s per endpoint); `false` turns both off.
   */
  readonly rateLimit?: RateLimitOptions | false;
  /** Lower the vendor's size limits (defaults: 30,000 contacts / 6,000,000 bytes per PUT, 1,000,000 rows / 5 GiB per import). */
  readonly limits?: Partial<SendgridLimits>;
  /** How long export files stay downloadable once ready (default 72 hours; UNVERIFIED, see docs). */
  readonly exportRetentionMs?: number;
  /** Most contacts per export file, on top of `max_file_size` (default: no limit; sandbox-only). */
  readonly exportMaxRowsPerFile?: number;
}

const isVendorApi = (request: FastifyRequest): boolean => request.url.startsWith('/v3/');

const setRateHeaders = (reply: FastifyReply, verdict: RateVerdict): void => {
  reply.header('x-ratelimit-limit', verdict.limit);
  reply.header('x-ratelimit-remaining', verdict.remaining);
  reply.header('x-ratelimit-reset', verdict.resetEpochSeconds);
};

/**
 * The SendGrid Marketing Contacts emulator: the v3 routes behind Bearer auth and rate limits,
 * an S3-like upload URL and errors file, async jobs on the shared timeline, and `/__sandbox`
 * inspection. Behaviour and every sandbox choice: docs/sendgrid.md.
 */
export const createSendgridServer = (options: SendgridOptions & CommonOptions = {}): VendorServer => {
  const apiKey = options.apiKey ?? DEFAULT_SENDGRID_API_KEY;
  const limits: SendgridLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const rateLimit =
    options.rateLimit === false ? undefined : createRateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const store = createContactStore();
  const fields = createFieldRegistry(options.customFields ?? []);
  const lists = createListRegistry(options.lists ?? []);
  const jobs = createJobQueue({ timing: options, store, lists });
  let resetImports = (): void => {};
  let resetExports = (): void => {};

  /** SendGrid's 429: the documented body and X-RateLimit-* (set by the caller); Retry-After if asked. */
  const tooManyRequests = (reply: FastifyReply, retryAfterSeconds: number): FastifyReply => {
    if (options.retryAfterHeader === true) reply.header('retry-after', Math.ceil(retryAfterSeconds));
    return reply.code(429).send(TOO_MANY_REQUESTS);
  };

  const faultReplies: FaultReplies = {
    rateLimit: (reply, retryAfterSeconds) => {
      const endpoint = reply.request.routeOptions.config.endpoint ?? 'other';
      // S3 throttles with 503 SlowDown, not 429.
      if (S3_ENDPOINTS.has(endpoint))
        return sendS3Error(reply, 503, 'SlowDown', 'Please reduce your request rate.');
      const limit = rateLimit?.settingsFor(endpoint).limit ?? DEFAULT_RATE_LIMIT.limit;
      setRateHeaders(reply, {
        allowed: false,
        limit,
        remaining: 0,
        // Whole epoch seconds, as SendGrid sends them: the first second at or after the wait.
        resetEpochSeconds: Math.ceil((Date.now() + retryAfterSeconds * 1000) / 1000),
        retryAfterSeconds,
      });
      return tooManyRequests(reply, retryAfterSeconds);
    },
    serverError: (reply, status) => {
      const endpoint = reply.request.routeOptions.config.endpoint ?? 'other';
      if (S3_ENDPOINTS.has(endpoint)) {
        return status === 500
          ? sendS3Error(reply, 500, 'InternalError', 'We encountered an internal error. Please try again.')
          : sendS3Error(reply, 503, 'ServiceUnavailable', 'Please reduce your request rate.');
      }
      return reply
        .code(status)
        .send(errorBody({ message: status === 500 ? 'internal server error' : 'service unavailable' }));
    },
  };

  const server = createVendorServer({
    vendor: 'sendgrid',
    options,
    faultReplies,
    bodyLimit: limits.maxRequestBytes,
    onReset: () => {
      jobs.clear();
      store.clear();
      fields.reset();
      lists.reset();
      rateLimit?.reset();
      resetImports();
      resetExports();
    },
  });
  const { app } = server;
  const verdicts = new WeakMap<FastifyRequest, RateVerdict>();

  const ctx: SendgridContext = {
    limits,
    store,
    fields,
    lists,
    jobs,
    faults: server.faults,
    originOf: (request) => `${request.protocol}://${request.host}`,
  };

  // Runs after the shared fault hook: auth, then the endpoint's budget, before any body is read.
  app.addHook('onRequest', async (request, reply) => {
    const endpoint = request.routeOptions.config.endpoint;
    if (endpoint === undefined || !isVendorApi(request)) return;
    const denied = checkBearer(request.headers.authorization, apiKey);
    if (denied !== undefined) return sendError(reply, 401, denied, null);
    if (rateLimit === undefined) return;
    const verdict = rateLimit.take(endpoint, Date.now());
    verdicts.set(request, verdict);
    if (!verdict.allowed) return tooManyRequests(reply, verdict.retryAfterSeconds);
  });

  // Jobs whose time has come are applied before any handler reads state (lazy settle).
  app.addHook('preHandler', async () => {
    jobs.settleDue(Date.now());
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (rateLimit !== undefined && isVendorApi(request) && !reply.hasHeader('x-ratelimit-limit')) {
      const endpoint = request.routeOptions.config.endpoint ?? 'other';
      setRateHeaders(reply, verdicts.get(request) ?? rateLimit.peek(endpoint, Date.now()));
    }
    return payload;
  });

  app.addHook('onClose', async () => {
    jobs.clear();
  });

  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/__uploads/') || request.url.startsWith('/__files/')) {
      return sendS3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    // The real API authenticates before it routes, so a keyless call to an unknown path is a 401.
    const denied = isVendorApi(request) ? checkBearer(request.headers.authorization, apiKey) : undefined;
    if (denied !== undefined) return sendError(reply, 401, denied, null);
    return sendError(reply, 404, `no route for ${request.method} ${request.url.split('?')[0]}`, null);
  });

  app.setErrorHandler(
    async (error: { statusCode?: number; code?: string; message: string }, request, reply) => {
      const status = error.statusCode ?? 500;
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        // The vendor documents the 6 MB cap but not the status; 413 as for Mail Send (UNVERIFIED).
        // Answered once the body is read, so that the client sees it.
        await drainBody(request.raw);
        const length = request.headers['content-length'];
        return sendError(
          reply,
          413,
          `request body too large: ${length === undefined ? 'more than' : `${length} bytes; the limit is`} ${limits.maxRequestBytes} bytes`,
          '',
        );
      }
      if (status >= 400 && status < 500) {
        const message =
          error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? 'invalid JSON in request body' : error.message;
        return sendError(reply, status, message, '');
      }
      request.log.error(error);
      return reply.code(500).send(errorBody({ message: 'internal server error' }));
    },
  );

  registerContactRoutes(app, ctx);
  resetImports = registerImportRoutes(app, ctx).reset;
  registerErrorsFileRoute(app, ctx);
  resetExports = registerExportRoutes(app, ctx, {
    retentionMs: options.exportRetentionMs ?? DEFAULT_EXPORT_RETENTION_MS,
    maxRowsPerFile: options.exportMaxRowsPerFile ?? Number.POSITIVE_INFINITY,
    now: Date.now,
    timing: options,
  }).reset;
  registerFieldDefinitionRoutes(app, ctx);
  registerListRoutes(app, ctx);
  registerInspectionRoutes(app, ctx);
  return server;
};
