import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import type { Logger } from '@ferry/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { SourceConfig } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import type { StateStore } from '../store/state-store.ts';
import { installAuth } from './auth.ts';
import { dashboardRoutes } from './dashboard.ts';
import { createLauncher, type Launcher } from './launcher.ts';
import { openApiRoute, registerOpenApi } from './openapi.ts';
import { HttpProblem, installProblemHandlers } from './problems.ts';
import { destinationRoutes } from './routes/destinations.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { profileRoutes } from './routes/profiles.ts';
import { resultRoutes } from './routes/results.ts';
import { runRoutes } from './routes/runs.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { statsRoutes } from './routes/stats.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { createRunFeeds } from './run-feeds.ts';
import type { ServiceContext } from './service-context.ts';
import { DEFAULT_MAX_UPLOAD_BYTES, UPLOAD_TYPES } from './uploads.ts';
import { type ConfigEndpoint, createWebhookDispatcher, type WebhookDispatcher } from './webhooks.ts';

/*
 * `ferry serve`'s HTTP app over one engine: Fastify with zod schemas (validation and the OpenAPI
 * document), bearer tokens, RFC 9457 problems. Building it does not listen; `ferry serve` does.
 */

export interface ServiceOptions {
  readonly engine: Engine;
  readonly store: StateStore;
  /** The configured source: used when a run has no upload, and its reading rules for uploads. */
  readonly source: SourceConfig;
  readonly uploadsDir: string;
  /** Default 1 GiB. */
  readonly maxUploadBytes?: number;
  readonly verifyRequests?: ServiceContext['verifyRequests'];
  /** The plugin package version per destination, when known. */
  readonly pluginVersions?: Readonly<Record<string, string>>;
  /** Requests per minute per token (default 600); the health checks are not counted. */
  readonly rateLimitPerMinute?: number;
  readonly redact?: (text: string) => string;
  readonly logger: Logger;
  readonly version?: string;
  readonly webhooks?: {
    /** Waits after each failed attempt; default the Standard Webhooks schedule. */
    readonly retryScheduleMs?: readonly number[];
    readonly allowPrivate?: boolean;
    /** The service's public base URL, for the links in webhook bodies. */
    readonly publicUrl?: string;
    /** Endpoints from the config (`service.webhooks`), with their secrets. */
    readonly endpoints?: readonly ConfigEndpoint[];
  };
}

export interface Service {
  readonly app: FastifyInstance;
  readonly launcher: Launcher;
  readonly webhooks: WebhookDispatcher;
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

/** JSON bodies are small (run options); records come as upload streams, which this limit does not cover. */
const JSON_BODY_LIMIT = 64 * 1024;

export const buildService = async (options: ServiceOptions): Promise<Service> => {
  const redact = options.redact ?? ((text: string) => text);
  const app = Fastify({ logger: false, bodyLimit: JSON_BODY_LIMIT, return503OnClosing: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Upload bodies are left unread here: the run route streams them to disk itself.
  app.addContentTypeParser(Object.keys(UPLOAD_TYPES), (_request, _payload, done) => done(null, undefined));
  const feeds = createRunFeeds(options.engine);
  const webhooks = createWebhookDispatcher({
    store: options.store,
    logger: options.logger,
    ...(options.webhooks?.retryScheduleMs === undefined
      ? {}
      : { retryScheduleMs: options.webhooks.retryScheduleMs }),
    allowPrivate: options.webhooks?.allowPrivate ?? false,
    ...(options.webhooks?.publicUrl === undefined ? {} : { publicUrl: options.webhooks.publicUrl }),
    ...(options.webhooks?.endpoints === undefined ? {} : { configEndpoints: options.webhooks.endpoints }),
  });
  const launcher = createLauncher({
    onEnded: webhooks.runEnded,
    engine: options.engine,
    store: options.store,
    source: options.source,
    uploadsDir: options.uploadsDir,
    feeds,
    logger: options.logger,
  });
  const context: ServiceContext = {
    engine: options.engine,
    store: options.store,
    source: options.source,
    uploadsDir: options.uploadsDir,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    launcher,
    feeds,
    verifyRequests: options.verifyRequests ?? {},
    ...(options.pluginVersions === undefined ? {} : { pluginVersions: options.pluginVersions }),
    redact,
    allowPrivateWebhooks: options.webhooks?.allowPrivate ?? false,
  };
  installProblemHandlers(app, redact);
  await app.register(cookie);
  installAuth(app, options.store);
  // After authentication (preHandler), so the limit is per token, not per address.
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => request.token?.id ?? request.ip,
    allowList: (request) =>
      request.routeOptions.config.auth === false && request.routeOptions.config.signIn !== true,
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(429, `at most ${context.max} requests a minute per token; retry in ${context.after}`),
  });
  await registerOpenApi(app, options.version ?? '0.0.0');
  healthRoutes(app, context);
  openApiRoute(app);
  runRoutes(app, context);
  resultRoutes(app, context);
  eventRoutes(app, context);
  destinationRoutes(app, context);
  webhookRoutes(app, context);
  sessionRoutes(app, context);
  profileRoutes(app, context);
  statsRoutes(app, context);
  dashboardRoutes(app);
  await app.ready();
  return { app, launcher, webhooks };
};
