import type { DestinationContext, HttpClient } from '@ferry/core';
import type { __PASCAL__Options } from './options.ts';

export type __PASCAL__Context = DestinationContext<__PASCAL__Options>;

/**
 * Transport: the vendor's API for the configured account, through core's HTTP client. It already
 * turns 401/403 into AuthError, 429 into RateLimitedError (after waiting out short Retry-After
 * answers), 5xx and dropped connections into TransientError, and other 4xx into PermanentError —
 * with the API key redacted from every message — so the rest of the plugin only sees typed errors.
 */
export const vendorApi = (ctx: __PASCAL__Context): HttpClient =>
  ctx.http.with({
    baseUrl: `${ctx.options.baseUrl.replace(/\/+$/, '')}/v1/${encodeURIComponent(ctx.options.account)}`,
    headers: { authorization: `Bearer ${ctx.options.apiKey}` },
  });
