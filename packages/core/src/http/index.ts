export { createHttpClient, resolveUrl } from './http-client.ts';
export { createRateLimiter, type RateLimiter, type RateLimiterOptions, systemClock } from './rate-limiter.ts';
export {
  createRedactor,
  isSensitiveHeader,
  REDACTED,
  redactHeaders,
  redactText,
  secretsFromHeaders,
} from './redact.ts';
export {
  backoffCeilingMs,
  backoffMs,
  exhaustedUntil,
  parseRateLimitReset,
  parseRetryAfter,
  retryAfterFromHeaders,
} from './retry-after.ts';
export type {
  Clock,
  HttpBody,
  HttpClient,
  HttpClientOptions,
  HttpMethod,
  HttpRequest,
  HttpResponse,
} from './types.ts';
