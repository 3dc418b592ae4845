import { STATUS_CODES } from 'node:http';
import {
  AuthError,
  ConfigError,
  FerryError,
  PermanentError,
  RateLimitedError,
  TransientError,
} from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { createRateLimiter, type RateLimiter, systemClock } from './rate-limiter.ts';
import { createRedactor, secretsFromHeaders } from './redact.ts';
import { backoffCeilingMs, backoffMs, exhaustedUntil, retryAfterFromHeaders } from './retry-after.ts';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from './types.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 4;
const DEFAULT_RATE_LIMIT_RETRIES = 6;
const DEFAULT_BASE_BACKOFF_MS = 250;
const DEFAULT_MAX_BACKOFF_MS = 20_000;
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;
/** Vendor error text quoted in error messages: enough for the reason, not a whole HTML page. */
const SNIPPET_CHARS = 500;
/** Bytes of an error body read at most; the rest is cancelled so a huge error page costs nothing. */
const SNIPPET_READ_BYTES = 64 * 1024;

/** Settings and state shared by a client and every client derived from it with `.with()`. */
interface Shared {
  readonly destination: string;
  readonly secrets: readonly string[];
  readonly logger: NonNullable<HttpClientOptions['logger']>;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly rateLimitRetries: number;
  readonly baseBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxRetryAfterMs: number;
  readonly fetch: typeof fetch;
  readonly clock: NonNullable<HttpClientOptions['clock']>;
  readonly limiter: RateLimiter;
}

interface Defaults {
  readonly baseUrl: string | undefined;
  /** Lower-cased names, so `Authorization` and `authorization` from two layers do not both go out. */
  readonly headers: Readonly<Record<string, string>>;
  readonly redact: (text: string) => string;
}

/** What one attempt came to, when it is not a response for the caller. */
type Failure =
  | {
      readonly kind: 'transient';
      /** `http_503`, `timeout` or `network`. */
      readonly code: string;
      /** `HTTP 503 Service Unavailable`, `timed out after 30000 ms`, `network error (ECONNRESET: ...)`. */
      readonly reason: string;
      readonly status?: number;
      readonly retryAfterMs?: number;
      readonly snippet?: string;
    }
  | { readonly kind: 'rate_limited'; readonly retryAfterMs?: number; readonly snippet?: string };

type Attempt<T> = { readonly kind: 'response'; readonly response: HttpResponse<T> } | Failure;

const lowerKeys = (headers: Readonly<Record<string, string>> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));

const ABSOLUTE_URL = /^[a-z][a-z\d+.-]*:/i;

const splitOnce = (text: string, separator: string): [string, string] => {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
};

/**
 * Joins a relative URL to the base by appending its path to the base's path, so
 * `https://x/api/bulk/2.0` + `/contacts/imports` is `https://x/api/bulk/2.0/contacts/imports`
 * (URL resolution rules would drop the base path for a leading slash, or its last segment without a
 * trailing one). Then appends `query`, skipping undefined values. Throws TypeError on invalid URLs.
 */
export const resolveUrl = (
  baseUrl: string | undefined,
  url: string,
  query: HttpRequest['query'] = {},
): URL => {
  let target: URL;
  if (ABSOLUTE_URL.test(url)) {
    target = new URL(url);
  } else {
    if (baseUrl === undefined) throw new TypeError('a relative URL needs the client to have a baseUrl');
    target = new URL(baseUrl);
    const [path, search] = splitOnce(splitOnce(url, '#')[0], '?');
    const relative = path.replace(/^\/+/, '');
    if (relative !== '') target.pathname = `${target.pathname.replace(/\/+$/, '')}/${relative}`;
    target.hash = '';
    if (search !== '') {
      if (target.search === '') target.search = search;
      else for (const [name, value] of new URLSearchParams(search)) target.searchParams.append(name, value);
    }
  }
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) target.searchParams.append(name, String(value));
  }
  return target;
};

const statusText = (response: Response): string => {
  const text = response.statusText || STATUS_CODES[response.status] || '';
  return text === '' ? `HTTP ${response.status}` : `HTTP ${response.status} ${text}`;
};

/** Reads at most `limit` bytes of a body as text and cancels the rest. */
const readLimitedText = async (response: Response, limit: number): Promise<string> => {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
      if (bytes >= limit) {
        await reader.cancel();
        break;
      }
    }
  } finally {
    reader.releaseLock();
  }
  return text + decoder.decode();
};

/** Redacted, on one line, and short — vendor messages reach the user without a whole page. */
const toSnippet = (text: string, redact: (text: string) => string): string | undefined => {
  const line = redact(text).replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  return line.length > SNIPPET_CHARS ? `${line.slice(0, SNIPPET_CHARS)}…` : line;
};

const readSnippet = async (
  response: Response,
  redact: (text: string) => string,
): Promise<string | undefined> => {
  try {
    return toSnippet(await readLimitedText(response, SNIPPET_READ_BYTES), redact);
  } catch {
    // The body of an error response is a nicety; the status already says what happened.
    return undefined;
  }
};

const errorCode = (error: unknown): string | undefined => {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
};

/** `ECONNRESET: socket hang up` from fetch's `TypeError('fetch failed', { cause })` chain. */
const describeNetworkError = (error: unknown): string => {
  const root = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = root instanceof Error ? root.message : String(error);
  const code = errorCode(error);
  return code === undefined || message.includes(code) ? message : `${code}: ${message}`;
};

const anySignal = (signals: readonly (AbortSignal | undefined)[]): AbortSignal | undefined => {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
};

type FetchBody = string | Uint8Array | ReadableStream<Uint8Array>;

const isReadableStream = (value: unknown): value is ReadableStream<Uint8Array> =>
  value instanceof ReadableStream;

/** Builds the body for one attempt; factories are called again for every attempt. */
const makeBody = (request: HttpRequest): FetchBody | undefined => {
  if (request.json !== undefined) return JSON.stringify(request.json);
  const body = request.body;
  if (body === undefined || typeof body === 'string' || body instanceof Uint8Array) return body;
  const made = body();
  if (typeof made === 'string' || made instanceof Uint8Array || isReadableStream(made)) return made;
  // fetch takes web streams; an async generator (e.g. a CSV encoder) becomes one here.
  return ReadableStream.from(made);
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const send = async <T>(
  shared: Shared,
  defaults: Defaults,
  request: HttpRequest,
): Promise<HttpResponse<T>> => {
  const { destination, logger, clock, limiter } = shared;
  const method = request.method;
  const requestHeaders = lowerKeys(request.headers);
  const headers: Record<string, string> = { ...defaults.headers, ...requestHeaders };
  const extraSecrets = secretsFromHeaders(requestHeaders);
  const redact =
    extraSecrets.length === 0
      ? defaults.redact
      : createRedactor([...shared.secrets, ...secretsFromHeaders(headers)]);

  let url: URL;
  try {
    url = resolveUrl(defaults.baseUrl, request.url, request.query);
  } catch (error) {
    const reason =
      error instanceof TypeError && error.message.startsWith('a relative') ? error.message : 'invalid URL';
    throw new ConfigError(destination, `${method} ${redact(request.url)}: ${reason}`);
  }
  const href = redact(url.href);
  const path = redact(url.pathname);
  const label =
    request.operation === undefined ? `${method} ${path}` : `${request.operation} (${method} ${path})`;

  if (request.json !== undefined && request.body !== undefined) {
    throw new PermanentError(destination, `${label}: pass either json or body, not both`);
  }
  if (request.json !== undefined) headers['content-type'] ??= 'application/json; charset=utf-8';
  const responseType = request.responseType ?? 'json';
  if (responseType === 'json') headers.accept ??= 'application/json';

  const signal = anySignal([shared.signal, request.signal]);
  const timeoutMs = request.timeoutMs ?? shared.timeoutMs;
  const accept = new Set(request.accept ?? []);
  const retry = request.retry !== false;

  const attemptOnce = async (attempt: number): Promise<Attempt<T>> => {
    const release = await limiter.acquire(signal);
    const started = performance.now();
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    const attemptSignal = anySignal([signal, timeout.signal]) ?? timeout.signal;
    const fields = (extra: Record<string, unknown>) => ({
      destination,
      method,
      url: href,
      attempt,
      ...extra,
    });
    const elapsed = () => Math.round(performance.now() - started);
    let status: number | undefined;
    let sent = false;
    try {
      const body = makeBody(request);
      sent = true;
      const response = await shared.fetch(url, {
        method,
        headers,
        signal: attemptSignal,
        ...(body === undefined ? {} : { body }),
        // Required by fetch for streamed request bodies.
        ...(isReadableStream(body) ? { duplex: 'half' } : {}),
      } as RequestInit);
      status = response.status;
      const until = exhaustedUntil(response.headers, clock.now());
      if (until !== undefined) limiter.holdUntil(until);

      if (response.ok || accept.has(response.status)) {
        let data: unknown;
        if (responseType === 'stream') {
          // The caller reads the stream at its own pace; only the wait for headers is timed.
          clearTimeout(timer);
          data = response.body;
        } else {
          const text = await response.text();
          if (responseType === 'text') data = text;
          else if (text.trim() !== '') {
            try {
              data = JSON.parse(text);
            } catch {
              if (response.ok) {
                throw new PermanentError(
                  destination,
                  `${label} returned invalid JSON (${statusText(response)}): ${toSnippet(text, redact) ?? ''}`,
                  { status: response.status, code: 'invalid_json' },
                );
              }
              // An accepted error status (say a 404 HTML page) is an answer even without a JSON body.
              data = undefined;
            }
          }
        }
        logger.debug(
          `${method} ${href} → ${response.status} in ${elapsed()} ms`,
          fields({ status, ms: elapsed() }),
        );
        return {
          kind: 'response',
          response: { status: response.status, headers: response.headers, data: data as T },
        };
      }

      const snippet = await readSnippet(response, redact);
      signal?.throwIfAborted();
      logger.debug(
        `${method} ${href} → ${response.status} in ${elapsed()} ms`,
        fields({ status, ms: elapsed() }),
      );
      const retryAfterMs = retryAfterFromHeaders(response.headers, clock.now());
      const withSnippet = (text: string) => (snippet === undefined ? text : `${text}: ${snippet}`);
      const details = { status: response.status, code: `http_${response.status}` };
      if (response.status === 429) {
        return {
          kind: 'rate_limited',
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(snippet === undefined ? {} : { snippet }),
        };
      }
      if (response.status >= 500 || response.status === 408) {
        return {
          kind: 'transient',
          code: details.code,
          reason: statusText(response),
          status: response.status,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(snippet === undefined ? {} : { snippet }),
        };
      }
      if (response.status === 401 || response.status === 403) {
        throw new AuthError(destination, withSnippet(`${label} failed: ${statusText(response)}`), details);
      }
      throw new PermanentError(destination, withSnippet(`${label} failed: ${statusText(response)}`), details);
    } catch (error) {
      // A body factory that throws is the plugin's bug or bad data, not the network's.
      if (error instanceof FerryError || !sent) throw error;
      // A caller's abort is an instruction, not a failure: no retry, and its own reason.
      if (signal?.aborted) throw signal.reason;
      if (timeout.signal.aborted) {
        logger.debug(`${method} ${href} timed out after ${elapsed()} ms`, fields({ status, ms: elapsed() }));
        return { kind: 'transient', code: 'timeout', reason: `timed out (${timeoutMs} ms per attempt)` };
      }
      const reason = `network error (${redact(describeNetworkError(error))})`;
      logger.debug(`${method} ${href} failed: ${reason}`, fields({ status, ms: elapsed() }));
      return { kind: 'transient', code: 'network', reason };
    } finally {
      clearTimeout(timer);
      release();
    }
  };

  let attempts = 0;
  let retriesUsed = 0;
  let rateLimitWaits = 0;
  for (;;) {
    signal?.throwIfAborted();
    const held = limiter.heldForMs();
    if (held > shared.maxRetryAfterMs) {
      throw new RateLimitedError(
        destination,
        `${label} not sent: the vendor's rate-limit window resets in ${held} ms`,
        held,
        { code: 'rate_limited' },
      );
    }
    attempts += 1;
    const result = await attemptOnce(attempts);
    if (result.kind === 'response') return result.response;

    if (result.kind === 'rate_limited') {
      const wanted = result.retryAfterMs;
      // A 429 is about the destination, not this request: hold the others too.
      if (wanted !== undefined) limiter.holdUntil(clock.now() + wanted);
      if (retry && rateLimitWaits < shared.rateLimitRetries && (wanted ?? 0) <= shared.maxRetryAfterMs) {
        const wait = wanted ?? backoffMs(rateLimitWaits, shared.baseBackoffMs, shared.maxBackoffMs);
        rateLimitWaits += 1;
        logger.warn(`[${destination}] ${label}: HTTP 429 Too Many Requests; waiting ${wait} ms`, {
          destination,
          method,
          url: href,
          status: 429,
          attempt: attempts,
          waitMs: wait,
          rateLimitWait: rateLimitWaits,
        });
        await clock.sleep(wait, signal);
        continue;
      }
      const retryAfterMs =
        wanted ?? backoffCeilingMs(rateLimitWaits, shared.baseBackoffMs, shared.maxBackoffMs);
      const why =
        wanted !== undefined && wanted > shared.maxRetryAfterMs
          ? `the vendor asks to wait ${wanted} ms`
          : `still rate limited after ${plural(attempts, 'attempt')}`;
      const text = `${label} failed: HTTP 429 Too Many Requests (${why})`;
      throw new RateLimitedError(
        destination,
        result.snippet === undefined ? text : `${text}: ${result.snippet}`,
        retryAfterMs,
        { status: 429, code: 'http_429' },
      );
    }

    if (retry && retriesUsed < shared.retries) {
      const backoff = backoffMs(retriesUsed, shared.baseBackoffMs, shared.maxBackoffMs);
      // A 503 that says when to come back is believed, within reason.
      const wait =
        result.retryAfterMs !== undefined && result.retryAfterMs <= shared.maxRetryAfterMs
          ? Math.max(result.retryAfterMs, backoff)
          : backoff;
      retriesUsed += 1;
      logger.warn(`[${destination}] ${label}: ${result.reason}; retrying in ${wait} ms`, {
        destination,
        method,
        url: href,
        ...(result.status === undefined ? {} : { status: result.status }),
        attempt: attempts,
        waitMs: wait,
      });
      await clock.sleep(wait, signal);
      continue;
    }
    const text = `${label} failed: ${result.reason} after ${plural(attempts, 'attempt')}`;
    throw new TransientError(
      destination,
      result.snippet === undefined ? text : `${text}: ${result.snippet}`,
      {
        code: result.code,
        ...(result.status === undefined ? {} : { status: result.status }),
      },
    );
  }
};

const makeDefaults = (
  shared: Shared,
  baseUrl: string | undefined,
  headers: Record<string, string>,
): Defaults => ({
  baseUrl,
  headers,
  redact: createRedactor([...shared.secrets, ...secretsFromHeaders(headers)]),
});

const build = (shared: Shared, defaults: Defaults): HttpClient => ({
  request: <T = unknown>(request: HttpRequest) => send<T>(shared, defaults, request),
  with: (more) => {
    // A relative base (say `/api/bulk/2.0`) extends the current one; an absolute one replaces it.
    const baseUrl =
      more.baseUrl === undefined
        ? defaults.baseUrl
        : defaults.baseUrl === undefined || ABSOLUTE_URL.test(more.baseUrl)
          ? more.baseUrl
          : resolveUrl(defaults.baseUrl, more.baseUrl).href;
    return build(shared, makeDefaults(shared, baseUrl, { ...defaults.headers, ...lowerKeys(more.headers) }));
  },
});

/**
 * The HTTP client for one destination: timeouts, retries with backoff, 429 handling with
 * Retry-After, a shared rate limiter, and secrets redacted from every error and log line.
 */
export const createHttpClient = (options: HttpClientOptions): HttpClient => {
  const clock = options.clock ?? systemClock;
  const shared: Shared = {
    destination: options.destination,
    secrets: (options.secrets ?? []).filter((secret) => secret.length > 0),
    logger: options.logger ?? silentLogger,
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
    rateLimitRetries: options.rateLimitRetries ?? DEFAULT_RATE_LIMIT_RETRIES,
    baseBackoffMs: options.baseBackoffMs ?? DEFAULT_BASE_BACKOFF_MS,
    maxBackoffMs: options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
    maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    // Looked up per call, so test interceptors that patch the global fetch later still apply.
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    clock,
    limiter: createRateLimiter({
      ...(options.requestsPerSecond === undefined ? {} : { requestsPerSecond: options.requestsPerSecond }),
      ...(options.maxConcurrent === undefined ? {} : { maxConcurrent: options.maxConcurrent }),
      clock,
    }),
  };
  return build(shared, makeDefaults(shared, options.baseUrl, lowerKeys(options.headers)));
};
