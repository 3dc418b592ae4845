import { AuthError, type DestinationContext, PermanentError } from '@ferry/core';
import type { EloquaAuth, EloquaOptions } from './options.ts';
import type { IdResponse } from './types.ts';

export type EloquaContext = DestinationContext<EloquaOptions>;

/** What talking to an instance needs: credentials and the login host (destination or export source). */
export type EloquaConnection = DestinationContext<Pick<EloquaOptions, 'auth' | 'loginUrl'>>;

/** Where the Bulk API lives under the pod's base URL (A.2). */
export const BULK_PATH = '/api/bulk/2.0';

/**
 * The Authorization header for every call, `/id` included. Basic joins site and user with ONE
 * literal backslash (Oracle: `COMPANYX\user1:password123`).
 */
export const authorizationHeader = (auth: EloquaAuth): string =>
  auth.type === 'basic'
    ? `Basic ${Buffer.from(`${auth.site}\\${auth.username}:${auth.password}`, 'utf8').toString('base64')}`
    : `Bearer ${auth.token}`;

/**
 * Bulk base URLs per destination instance. `ctx` is built once per instance, so its parsed options
 * object identifies the instance; a WeakMap lets a dropped instance take its entry with it. Oracle
 * asks callers to call `/id` once per session. Only a cache: handles carry the base URL themselves,
 * so status checks from another process never need it.
 */
const baseUrls = new WeakMap<object, Promise<string>>();

const trimSlashes = (url: string): string => url.replace(/\/+$/, '');

/** Reads `urls.base` from an `/id` answer; both failure forms Eloqua is known for are AuthErrors. */
export const bulkBaseFromId = (destination: string, data: unknown): string => {
  // Eloqua (per client mocks) answers bad credentials with 200 and the JSON string "Not authenticated.".
  if (typeof data === 'string') {
    throw new AuthError(
      destination,
      `Eloqua refused the credentials (GET /id answered ${JSON.stringify(data)})`,
      {
        code: 'not_authenticated',
      },
    );
  }
  const base = (data as IdResponse | undefined)?.urls?.base;
  if (typeof base !== 'string' || !/^https?:\/\//i.test(base)) {
    throw new AuthError(
      destination,
      'GET /id answered without urls.base: the credentials were not accepted',
      {
        code: 'not_authenticated',
      },
    );
  }
  return `${trimSlashes(base)}${BULK_PATH}`;
};

const discover = async (ctx: EloquaConnection): Promise<string> => {
  const response = await ctx.http.request<unknown>({
    method: 'GET',
    url: `${trimSlashes(ctx.options.loginUrl)}/id`,
    headers: { authorization: authorizationHeader(ctx.options.auth) },
    operation: 'discover base URL',
  });
  return bulkBaseFromId(ctx.destination, response.data);
};

/**
 * The instance's Bulk API base URL (`https://secure.p03.eloqua.com/api/bulk/2.0`), from `GET /id`
 * once per destination instance. A failed discovery is not cached, so the next call asks again.
 */
export const bulkBaseUrl = (ctx: EloquaConnection): Promise<string> => {
  const cached = baseUrls.get(ctx.options);
  if (cached !== undefined) return cached;
  const pending = discover(ctx);
  baseUrls.set(ctx.options, pending);
  pending.catch(() => {
    if (baseUrls.get(ctx.options) === pending) baseUrls.delete(ctx.options);
  });
  return pending;
};

/**
 * Forgets the cached base URL, after a 401 from the pod: the credentials may have been revoked or
 * the instance moved, and the next `/id` tells which.
 */
export const forgetBaseUrl = (ctx: EloquaConnection): void => {
  baseUrls.delete(ctx.options);
};

/** A handle's base URL must be one this plugin wrote; anything else would send credentials elsewhere. */
export const checkBaseUrl = (destination: string, base: string): string => {
  if (!/^https?:\/\/[^/]+/i.test(base) || !base.endsWith(BULK_PATH)) {
    throw new PermanentError(destination, 'unreadable job handle: bad base URL (not from this destination?)');
  }
  return base;
};
