import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  createFaultInjector,
  type FaultInjector,
  type FaultKind,
  type FaultRule,
  parseFaultRules,
} from './faults.ts';

/** Settings every emulator shares. */
export interface CommonOptions {
  /** Interface to listen on (default 127.0.0.1: loopback only). */
  readonly host?: string;
  /** Port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Fault rules active from the start. */
  readonly faults?: readonly FaultRule[];
  /** Seed for fault dice (default 1). */
  readonly seed?: number;
  /** Wait before a job starts processing (default 1000 ms; 0 in zero-delay mode). */
  readonly startDelayMs?: number;
  /** Records processed per second once started (default 5000; Infinity in zero-delay mode). */
  readonly recordsPerSecond?: number;
  /** Log each request to stdout (CLI use). */
  readonly logRequests?: boolean;
  /**
   * Also send `Retry-After` on 429s (default false). Neither vendor documents it (SendGrid sends
   * `X-RateLimit-*`, Oracle nothing), so by default a client that relies on it alone fails here first.
   */
  readonly retryAfterHeader?: boolean;
}

/** One line of the request log, for tests that count calls or look at what was sent. */
export interface RequestLogEntry {
  readonly at: string;
  readonly method: string;
  /** Path and query; secrets do not appear in sandbox URLs. */
  readonly url: string;
  /** The route's id (`sendgrid.upsert`), or `other`. */
  readonly endpoint: string;
  /** HTTP status sent; 0 when no response was sent (a `reset` fault dropped the connection). */
  readonly status: number;
  readonly ms: number;
  /** Request body size from content-length, when sent. */
  readonly bytes?: number;
  /** The fault injected into this request, if any. */
  readonly fault?: FaultKind;
}

export interface VendorServer {
  readonly app: FastifyInstance;
  readonly faults: FaultInjector;
  /** Listens and returns the base URL (`http://127.0.0.1:PORT`). */
  readonly listen: () => Promise<string>;
  readonly close: () => Promise<void>;
}

/** How a vendor answers an injected fault, so a 429 looks like that vendor's 429. */
export interface FaultReplies {
  readonly rateLimit: (reply: FastifyReply, retryAfterSeconds: number) => FastifyReply;
  readonly serverError: (reply: FastifyReply, status: 500 | 503) => FastifyReply;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Stable id of the vendor operation, used by faults, stats and the request log. */
    endpoint?: string;
  }
  interface FastifyRequest {
    ferryFault?: FaultKind;
    ferryStart?: number;
    /** Set once the request is in the log, so it is never counted twice. */
    ferryLogged?: boolean;
  }
}

const LOG_LIMIT = 10_000;
const REQUEST_FAULTS: readonly FaultKind[] = ['rate_limit', 'server_error', 'unavailable', 'reset', 'slow'];

/**
 * A fastify app with what both emulators need: the request log and call counts, fault injection
 * by route id, and the `/__sandbox` inspection routes (requests, stats, faults, reset).
 * Vendor modules register their routes with `config: { endpoint: 'vendor.operation' }`.
 */
export const createVendorServer = (input: {
  readonly vendor: 'eloqua' | 'sendgrid';
  readonly options: CommonOptions;
  readonly faultReplies: FaultReplies;
  /** Largest request body the vendor accepts; bigger ones get the vendor's own error. */
  readonly bodyLimit: number;
  /** Clears the vendor's data (contacts, jobs...) on `POST /__sandbox/reset`. */
  readonly onReset: () => void;
}): VendorServer => {
  const { options } = input;
  const app = Fastify({
    bodyLimit: input.bodyLimit,
    logger: options.logRequests === true,
    forceCloseConnections: true,
  });
  const faults = createFaultInjector(options.faults ?? [], options.seed ?? 1);
  const log: RequestLogEntry[] = [];
  let counts: Record<string, number> = {};

  /** Counts the request for `/__sandbox/stats` and appends it to `/__sandbox/requests`. */
  const record = (request: FastifyRequest, status: number): void => {
    const endpoint = request.routeOptions.config.endpoint ?? 'other';
    if (endpoint.startsWith('sandbox.') || request.ferryLogged === true) return;
    request.ferryLogged = true;
    counts[endpoint] = (counts[endpoint] ?? 0) + 1;
    const length = Number(request.headers['content-length']);
    const entry: RequestLogEntry = {
      at: new Date().toISOString(),
      method: request.method,
      url: request.url,
      endpoint,
      status,
      ms: Math.round(performance.now() - (request.ferryStart ?? performance.now())),
      ...(Number.isFinite(length) ? { bytes: length } : {}),
      ...(request.ferryFault === undefined ? {} : { fault: request.ferryFault }),
    };
    log.push(entry);
    if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
  };

  // A DELETE without a body is not parsed, whatever its Content-Type: `@sendgrid/client` sends
  // `application/json` on every call, and both vendors accept such a DELETE, while fastify refuses
  // an empty JSON body. Only DELETE: an empty body where one is expected is still the vendor's 400.
  app.addHook('onRequest', async (request) => {
    const headers = request.raw.headers;
    if (
      request.method === 'DELETE' &&
      headers['content-type'] !== undefined &&
      headers['transfer-encoding'] === undefined &&
      (headers['content-length'] === undefined || headers['content-length'] === '0')
    ) {
      delete headers['content-type'];
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    request.ferryStart = performance.now();
    const endpoint = request.routeOptions.config.endpoint;
    // Inspection routes are never faulted: a `*` rule must not break /__sandbox/reset itself.
    if (endpoint === undefined || endpoint.startsWith('sandbox.')) return;
    const rule = faults.draw(endpoint, REQUEST_FAULTS);
    if (rule === undefined) return;
    request.ferryFault = rule.kind;
    switch (rule.kind) {
      case 'rate_limit':
        return input.faultReplies.rateLimit(reply, rule.retryAfterSeconds ?? 1);
      case 'server_error':
        return input.faultReplies.serverError(reply, 500);
      case 'unavailable':
        return input.faultReplies.serverError(reply, 503);
      case 'reset':
        // A hijacked reply never reaches onResponse, so the request is logged here, with status 0.
        record(request, 0);
        // Destroying the socket mid-request is what a dropped connection looks like to a client.
        request.raw.socket.destroy();
        return reply.hijack();
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, rule.delayMs ?? 5000));
        return;
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    record(request, reply.statusCode);
  });

  app.get('/__sandbox/requests', { config: { endpoint: 'sandbox.requests' } }, async () => ({
    requests: log,
  }));
  app.get('/__sandbox/stats', { config: { endpoint: 'sandbox.stats' } }, async () => ({
    vendor: input.vendor,
    requests: counts,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    faultsFired: faults.fired(),
  }));
  app.get('/__sandbox/faults', { config: { endpoint: 'sandbox.faults' } }, async () => ({
    faults: faults.rules(),
  }));
  app.put('/__sandbox/faults', { config: { endpoint: 'sandbox.faults' } }, async (request, reply) => {
    const parsed = parseFaultRules((request.body as { faults?: unknown } | undefined)?.faults);
    if (typeof parsed === 'string') return reply.code(400).send({ error: parsed });
    faults.set(parsed);
    return { faults: faults.rules() };
  });
  app.post('/__sandbox/reset', { config: { endpoint: 'sandbox.reset' } }, async () => {
    log.length = 0;
    counts = {};
    faults.reset();
    input.onReset();
    return { ok: true };
  });

  return {
    app,
    faults,
    listen: async () => {
      await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string')
        throw new Error('sandbox: server has no TCP address');
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return `http://${host}:${address.port}`;
    },
    close: () => app.close(),
  };
};

/** How much of a refused body is read before answering anyway (the socket is closed then). */
const MAX_DRAIN_BYTES = 1024 ** 3;

/**
 * Reads a request body to its end, discarding it, so that an error can be answered after it: a
 * reply sent while the client is still writing closes the socket under it, and the client sees
 * EPIPE or a reset (a transient error it retries) instead of the status. Fastify refuses an
 * oversized body before reading it (Content-Length) or partway (chunked).
 */
export const drainBody = (raw: IncomingMessage, maxBytes = MAX_DRAIN_BYTES): Promise<void> =>
  new Promise((resolve) => {
    if (raw.readableEnded || raw.destroyed) {
      resolve();
      return;
    }
    let seen = 0;
    const done = (): void => {
      raw.off('data', onData);
      raw.off('end', done);
      raw.off('error', done);
      raw.off('close', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('error', done);
    raw.once('close', done);
    raw.resume();
  });

/**
 * When a job of `records` rows queued at `queuedAtMs` finishes, given the processing settings.
 * Zero-delay mode (startDelayMs 0, recordsPerSecond Infinity) finishes at once.
 */
export const jobTimeline = (
  options: Pick<CommonOptions, 'startDelayMs' | 'recordsPerSecond'>,
  queuedAtMs: number,
  records: number,
): {
  readonly startsAtMs: number;
  readonly endsAtMs: number;
  readonly processedAt: (nowMs: number) => number;
} => {
  const startDelay = options.startDelayMs ?? 1000;
  const rate = options.recordsPerSecond ?? 5000;
  const startsAtMs = queuedAtMs + startDelay;
  const endsAtMs = startsAtMs + (rate === Number.POSITIVE_INFINITY ? 0 : Math.ceil((records / rate) * 1000));
  return {
    startsAtMs,
    endsAtMs,
    processedAt: (nowMs) =>
      nowMs < startsAtMs ? 0 : nowMs >= endsAtMs ? records : Math.floor(((nowMs - startsAtMs) / 1000) * rate),
  };
};
