import type { FastifyInstance } from 'fastify';
import {
  type CommonOptions,
  createVendorServer,
  drainBody,
  type FaultReplies,
  type VendorServer,
} from '../vendor-server.ts';
import {
  createAuthenticator,
  type EloquaCredentials,
  type IdAuthFailure,
  registerAuthRoutes,
} from './auth.ts';
import { collect, parseCollectionQuery } from './collection.ts';
import { createDefinitionRegistry, pathId, registerDefinitionRoutes } from './definitions.ts';
import { createExportEngine, registerExportRoutes } from './exports.ts';
import {
  type ContactFieldSpec,
  contactFieldJson,
  createFieldRegistry,
  DEFAULT_CONTACT_FIELDS,
} from './fields.ts';
import { registerInspectionRoutes } from './inspection.ts';
import { registerListRoutes } from './lists.ts';
import type { InvalidFieldPolicy } from './processing.ts';
import { type ContactListSeed, createContactStore } from './store.ts';
import { createSyncEngine, registerSyncRoutes } from './syncs.ts';
import { registerUploadRoutes } from './uploads.ts';
import { REASON, sendFailures, sendNotFound, sendText } from './wire.ts';

export type { ContactFieldSpec } from './fields.ts';
export { DEFAULT_CONTACT_FIELDS } from './fields.ts';
export type { ContactListSeed } from './store.ts';

/** Eloqua-specific settings; every one has a default (see `ELOQUA_DEFAULTS` and docs/eloqua.md). */
export interface EloquaOptions {
  /** Company (site) name of the Basic credentials `Site\User:Password`. */
  readonly siteName?: string;
  /** `site.id` in the `/id` response. */
  readonly siteId?: number;
  readonly username?: string;
  readonly password?: string;
  /** A Bearer token accepted without going through the token endpoint. */
  readonly accessToken?: string;
  /** OAuth client credentials for `POST /auth/oauth2/token`. */
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** `/id` with bad credentials: 200 `"Not authenticated."` (default) or 401. */
  readonly idAuthFailure?: IdAuthFailure;
  /** Contact fields of the emulated instance (default: DEFAULT_CONTACT_FIELDS). */
  readonly fields?: readonly ContactFieldSpec[];
  /** Contact lists that exist from the start (sync actions may only target existing lists). */
  readonly contactLists?: readonly ContactListSeed[];
  /** A value too long or of the wrong type: drop that field and import the rest (default) or reject the record. */
  readonly invalidFieldPolicy?: InvalidFieldPolicy;
  /** Largest data upload; over it the upload gets 404 (default 32,000,000 bytes). */
  readonly maxUploadBytes?: number;
  /** Uploads per sync (default 500). */
  readonly maxUploadsPerSync?: number;
  /** Entries in an import definition's `fields` (default 100). */
  readonly maxFieldsPerDefinition?: number;
  /** Entries in `syncActions` (default 10). */
  readonly maxSyncActions?: number;
  /** How long a `callbackUrl` POST may take (default 5000 ms). */
  readonly callbackTimeoutMs?: number;
  /** Time source in ms (default Date.now); `POST /__sandbox/clock` shifts it further. */
  readonly clock?: () => number;
}

export const ELOQUA_DEFAULTS = {
  siteName: 'FerrySandbox',
  siteId: 42,
  username: 'sandbox.user',
  password: 'sandbox-password',
  accessToken: 'sandbox-eloqua-token',
  clientId: 'sandbox-client',
  clientSecret: 'sandbox-client-secret',
  idAuthFailure: 'not-authenticated',
  contactLists: [
    { id: 1001, name: 'Ferry Sandbox List A' },
    { id: 1002, name: 'Ferry Sandbox List B' },
  ],
  invalidFieldPolicy: 'dropField',
  // "32 MB" read as decimal megabytes: the stricter reading, so what passes here passes there.
  maxUploadBytes: 32_000_000,
  maxUploadsPerSync: 500,
  maxFieldsPerDefinition: 100,
  maxSyncActions: 10,
  callbackTimeoutMs: 5000,
} as const satisfies EloquaOptions;

/**
 * Eloqua documents no rate-limit headers (A.4/A.5): a 429 carries none, unless `retryAfterHeader`
 * asks for a Retry-After.
 */
const faultRepliesFor = (retryAfterHeader: boolean): FaultReplies => ({
  rateLimit: (reply, retryAfterSeconds) =>
    sendText(
      retryAfterHeader ? reply.header('retry-after', String(Math.ceil(retryAfterSeconds))) : reply,
      429,
      REASON[429],
    ),
  serverError: (reply, status) => sendText(reply, status, status === 500 ? REASON[500] : REASON[503]),
});

const BULK_PREFIXES = ['/api/bulk/2.0', '/API/Bulk/2.0'] as const;

export const createEloquaServer = (options: EloquaOptions & CommonOptions = {}): VendorServer => {
  const settings = { ...ELOQUA_DEFAULTS, ...withoutUndefined(options) };
  const credentials: EloquaCredentials = {
    siteName: settings.siteName,
    siteId: settings.siteId,
    username: settings.username,
    password: settings.password,
    accessToken: settings.accessToken,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
  };
  let clockOffsetMs = 0;
  const clock = options.clock ?? Date.now;
  const now = () => clock() + clockOffsetMs;

  const registry = createFieldRegistry(options.fields ?? DEFAULT_CONTACT_FIELDS);
  const store = createContactStore(registry, settings.contactLists, now);
  const definitions = createDefinitionRegistry();
  const authenticator = createAuthenticator(credentials);
  const createdBy = settings.username;
  const engine = createSyncEngine({
    now,
    registry,
    store,
    definitions,
    timing: { startDelayMs: options.startDelayMs, recordsPerSecond: options.recordsPerSecond },
    invalidFieldPolicy: settings.invalidFieldPolicy,
    callbackTimeoutMs: settings.callbackTimeoutMs,
    createdBy,
  });
  const exports = createExportEngine({
    now,
    registry,
    store,
    timing: { startDelayMs: options.startDelayMs, recordsPerSecond: options.recordsPerSecond },
    createdBy,
    nextSyncId: engine.allocateId,
  });

  const server = createVendorServer({
    vendor: 'eloqua',
    options,
    faultReplies: faultRepliesFor(options.retryAfterHeader === true),
    bodyLimit: settings.maxUploadBytes,
    onReset: () => {
      // The clock first, so the re-seeded lists are stamped with the reset time.
      clockOffsetMs = 0;
      engine.clear();
      exports.clear();
      definitions.clear();
      store.clear();
      authenticator.clear();
    },
  });
  const { app } = server;

  app.setNotFoundHandler((_request, reply) => sendNotFound(reply));
  app.setErrorHandler(async (error: Error & { code?: string; statusCode?: number }, request, reply) => {
    // Oversized non-upload bodies get what oversized uploads get (A.4), once read (drainBody).
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await drainBody(request.raw);
      return sendNotFound(reply);
    }
    // Malformed JSON, missing or unsupported Content-Type: Oracle lists only 400 parse errors (A.5).
    if (error.statusCode !== undefined && error.statusCode < 500) return sendText(reply, 400, REASON.parse);
    request.log.error(error);
    return sendText(reply, 500, REASON[500]);
  });
  // Due syncs settle and expired definitions go before any route looks at the state.
  app.addHook('onRequest', async () => {
    engine.settleDue();
    definitions.sweep(now());
  });
  app.addHook('onClose', async () => engine.clear());

  registerAuthRoutes(app, { credentials, authenticator, idAuthFailure: settings.idAuthFailure });

  const bulkRoutes = async (scope: FastifyInstance) => {
    scope.addHook('onRequest', async (request, reply) => {
      if (!authenticator.check(request.headers.authorization)) return sendText(reply, 401, REASON[401]);
    });

    scope.get('/contacts/fields', { config: { endpoint: 'eloqua.fields' } }, async (request, reply) => {
      const query = parseCollectionQuery(request.query as Record<string, string>);
      if (Array.isArray(query)) return sendFailures(reply, query);
      return collect(registry.fields.map(contactFieldJson), query);
    });
    scope.get('/contacts/fields/:id', { config: { endpoint: 'eloqua.field' } }, async (request, reply) => {
      const id = pathId(request.params);
      const field = id === undefined ? undefined : registry.byId.get(id);
      return field === undefined ? sendNotFound(reply) : contactFieldJson(field);
    });
    registerListRoutes(scope, { store, createdBy });

    registerDefinitionRoutes(scope, {
      now,
      registry,
      store,
      definitions,
      limits: { maxFields: settings.maxFieldsPerDefinition, maxSyncActions: settings.maxSyncActions },
      createdBy,
    });
    registerSyncRoutes(scope, { now, definitions, engine, exports, faults: server.faults });
    registerExportRoutes(scope, {
      exports,
      registry,
      createdBy,
      isImportSync: (id) => engine.get(id) !== undefined,
    });
    await scope.register(async (uploadScope) =>
      registerUploadRoutes(uploadScope, {
        now,
        definitions,
        engine,
        maxUploadBytes: settings.maxUploadBytes,
        maxUploadsPerSync: settings.maxUploadsPerSync,
      }),
    );
  };
  for (const prefix of BULK_PREFIXES) app.register(bulkRoutes, { prefix });

  registerInspectionRoutes(app, {
    now,
    advanceClock: (ms) => {
      clockOffsetMs += ms;
      return clockOffsetMs;
    },
    registry,
    store,
    definitions,
    engine,
  });

  return server;
};

/** Drops keys set to undefined so they do not override defaults when spread. */
const withoutUndefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
