import {
  AuthError,
  type DestinationContext,
  PermanentError,
  RateLimitedError,
  TransientError,
} from '@ferry/core';
import type { MemoryOptions } from './options.ts';
import type { VendorRequest, VendorResponse } from './types.ts';

export type MemoryContext = DestinationContext<MemoryOptions>;

/**
 * Transport and error mapping. A real plugin sends requests through `ctx.http`, which already turns
 * 401/429/5xx into core's typed errors; this one talks to an in-process vendor, so it does that
 * mapping itself, the same way: the rest of the plugin only ever sees typed errors or a body.
 */
export const callVendor = async <T>(
  ctx: MemoryContext,
  operation: string,
  send: (request: VendorRequest) => VendorResponse<T>,
): Promise<T> => {
  const response = await callVendorAccepting(ctx, operation, send, []);
  if (!response.ok) throw new Error('unreachable: no status is accepted');
  return response.body;
};

/**
 * Like `callVendor`, but the statuses in `accept` are answers, not errors (a 404 for a job the vendor
 * forgot is news for the runner, not a failed call) — the plugin's version of core's `accept` option.
 */
export const callVendorAccepting = async <T, S extends number>(
  ctx: MemoryContext,
  operation: string,
  send: (request: VendorRequest) => VendorResponse<T>,
  accept: readonly S[],
): Promise<{ readonly ok: true; readonly body: T } | { readonly ok: false; readonly status: S }> => {
  ctx.signal.throwIfAborted();
  // A vendor is across a network: never answer synchronously, so no caller comes to depend on it.
  await new Promise((resolve) => setImmediate(resolve));
  const response = send({
    namespace: ctx.options.namespace,
    apiKey: ctx.options.apiKey,
    faults: ctx.options.faults,
  });
  if (response.ok) return { ok: true, body: response.body };
  if ((accept as readonly number[]).includes(response.status))
    return { ok: false, status: response.status as S };
  ctx.logger.debug('memory vendor refused a call', { operation, status: response.status });
  const message = `${operation}: ${response.status} ${response.error}`;
  const details = { code: `http_${response.status}`, status: response.status };
  if (response.status === 401 || response.status === 403)
    throw new AuthError(ctx.destination, message, details);
  if (response.status === 429) {
    throw new RateLimitedError(ctx.destination, message, response.retryAfterMs ?? 1000, details);
  }
  if (response.status >= 500) throw new TransientError(ctx.destination, message, details);
  throw new PermanentError(ctx.destination, message, details);
};
