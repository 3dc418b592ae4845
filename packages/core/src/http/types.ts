import type { Logger } from '../logger.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** A request body. Pass a function when the body is a stream, so a retry can build it again. */
export type HttpBody =
  | string
  | Uint8Array
  | (() => string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>);

export interface HttpRequest {
  readonly method: HttpMethod;
  /** Absolute, or relative to the client's `baseUrl`. */
  readonly url: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON with `content-type: application/json`. Mutually exclusive with `body`. */
  readonly json?: unknown;
  readonly body?: HttpBody;
  /**
   * How to read the response: `json` (default; empty body → `undefined`), `text`, or `stream`
   * (`data` is the body stream; the caller must consume or cancel it).
   */
  readonly responseType?: 'json' | 'text' | 'stream';
  /**
   * Statuses returned to the caller instead of thrown (e.g. `[404]` when a missing job is an
   * answer, not an error). 2xx are always returned.
   */
  readonly accept?: readonly number[];
  /** Per-attempt timeout; defaults to the client's. */
  readonly timeoutMs?: number;
  /** `false` for requests that must not be repeated (non-idempotent without a body factory). */
  readonly retry?: boolean;
  /** A short name for logs and errors, e.g. `create import definition`. */
  readonly operation?: string;
  /** Cancels this request (on top of the client's signal); an abort is never retried. */
  readonly signal?: AbortSignal;
}

export interface HttpResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly data: T;
}

/**
 * The HTTP client core gives plugins. It throws core's typed errors: AuthError (401/403),
 * RateLimitedError (429 still failing after the retry budget, with `retryAfterMs`), TransientError
 * (5xx, timeouts, connection errors after retries), PermanentError (other 4xx) — all redacted.
 */
export interface HttpClient {
  readonly request: <T = unknown>(request: HttpRequest) => Promise<HttpResponse<T>>;
  /** A client with the same limiter, secrets and settings but extra defaults (base URL, auth header). */
  readonly with: (defaults: {
    readonly baseUrl?: string;
    readonly headers?: Readonly<Record<string, string>>;
  }) => HttpClient;
}

export interface HttpClientOptions {
  /** The destination's `name`, for error prefixes and logs. */
  readonly destination: string;
  readonly baseUrl?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Values never to print: API keys, passwords, tokens. Authorization headers are always redacted. */
  readonly secrets?: readonly string[];
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Per-attempt timeout (default 30 s). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt for 5xx / network errors / timeouts (default 4). */
  readonly retries?: number;
  /** Retries for 429 before RateLimitedError is thrown to the caller (default 6). */
  readonly rateLimitRetries?: number;
  /** First backoff (default 250 ms); doubles each attempt, with full jitter, capped by `maxBackoffMs`. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Longest Retry-After the client waits itself; longer ones are thrown as RateLimitedError (default 60 s). */
  readonly maxRetryAfterMs?: number;
  readonly requestsPerSecond?: number;
  readonly maxConcurrent?: number;
  /** Injected for tests; defaults to the global fetch. */
  readonly fetch?: typeof fetch;
  /** Injected for tests: the time and the waits of backoff, Retry-After and the rate limiter. */
  readonly clock?: Clock;
}

/** Time as the HTTP client sees it, so tests can run Retry-After waits without waiting. */
export interface Clock {
  /** Epoch milliseconds (Retry-After HTTP-dates and rate-limit resets are absolute times). */
  readonly now: () => number;
  /** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}
