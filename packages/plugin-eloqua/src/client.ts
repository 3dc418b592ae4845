import { AuthError, type HttpClient, type HttpRequest, PermanentError, TransientError } from '@ferry/core';
import { authorizationHeader, type EloquaConnection, forgetBaseUrl } from './auth.ts';
import type { Collection, ValidationFailure } from './types.ts';

/**
 * Transport for the Bulk API: core's HTTP client (timeouts, retries, 429, redaction) with the pod's
 * base URL and the Authorization header, plus the Eloqua-specific error mapping core cannot know:
 * a 400 `{"failures":[...]}` body becomes a PermanentError naming each field, 413 "Storage space
 * exceeded" is transient (staging frees up as syncs finish), and a 401 drops the cached base URL.
 */

export interface Bulk {
  /** `https://secure.p03.eloqua.com/api/bulk/2.0`. */
  readonly base: string;
  readonly http: HttpClient;
}

export const bulkClient = (ctx: EloquaConnection, base: string): Bulk => ({
  base,
  http: ctx.http.with({ baseUrl: base, headers: { authorization: authorizationHeader(ctx.options.auth) } }),
});

export interface BulkResponse<T> {
  readonly status: number;
  /** Parsed JSON body; `undefined` for an empty body or a non-JSON error answer. */
  readonly data: T | undefined;
}

const describeFailure = (failure: ValidationFailure): string => {
  const field = failure.field ?? '(request)';
  const value =
    failure.value === undefined || failure.value === '' ? '' : ` (value ${JSON.stringify(failure.value)})`;
  return `${field}: ${failure.constraint ?? 'invalid'}${value}`;
};

/** The `failures` of a Bulk 400 body, or an empty array when the body is something else. */
export const validationFailures = (data: unknown): ValidationFailure[] => {
  const failures = (data as { failures?: unknown } | undefined)?.failures;
  if (!Array.isArray(failures)) return [];
  return failures.filter((f): f is ValidationFailure => typeof f === 'object' && f !== null);
};

const parseJson = (text: string): unknown => {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * Sends one Bulk request. 2xx and the statuses in `accept` are returned; 400 (unless accepted)
 * throws a PermanentError listing Eloqua's failures (field, constraint, value); 413 (unless accepted)
 * a TransientError; everything else is thrown by core's client
 * as its typed errors. Bodies are read as text and parsed here, so an error answer that is plain text
 * (Eloqua's reason phrases) is still readable.
 */
export const sendBulk = async <T>(
  ctx: EloquaConnection,
  bulk: Bulk,
  request: Omit<HttpRequest, 'responseType'> & { readonly operation: string },
): Promise<BulkResponse<T>> => {
  let response: { status: number; data: string };
  try {
    response = await bulk.http.request<string>({
      ...request,
      headers: { accept: 'application/json', ...request.headers },
      responseType: 'text',
      accept: [400, 413, ...(request.accept ?? [])],
    });
  } catch (error) {
    if (error instanceof AuthError && error.status === 401) forgetBaseUrl(ctx);
    throw error;
  }
  const data = parseJson(response.data);
  if (response.status === 400 && !(request.accept ?? []).includes(400)) {
    const failures = validationFailures(data);
    const reason =
      failures.length > 0
        ? failures.map(describeFailure).join('; ')
        : response.data.trim().slice(0, 300) || 'There was a validation error.';
    const fields = failures.map((failure) => failure.field).filter((field) => field !== undefined);
    throw new PermanentError(
      ctx.destination,
      `${request.operation} refused by Eloqua (HTTP 400): ${reason}`,
      {
        status: 400,
        code: fields.length > 0 ? `invalid:${fields.join(',')}` : 'http_400',
      },
    );
  }
  if (response.status === 413 && !(request.accept ?? []).includes(413)) {
    throw new TransientError(
      ctx.destination,
      `${request.operation} refused by Eloqua (HTTP 413 Storage space exceeded): staged import data is over the instance's quota; retry once running syncs have finished`,
      { status: 413, code: 'storage_exceeded' },
    );
  }
  return { status: response.status, data: data as T | undefined };
};

/** Most items Eloqua returns per page of a collection (A.2). */
export const PAGE_SIZE = 1000;

/**
 * Reads every page of a collection GET, `limit` 1000 at a time, following `hasMore` (or, when a page
 * omits it, stopping at a short page). `onPage` sees each page's items in order.
 */
export const readAllPages = async <T>(
  ctx: EloquaConnection,
  bulk: Bulk,
  request: { readonly url: string; readonly operation: string; readonly query?: HttpRequest['query'] },
  onPage: (items: readonly T[]) => void,
  options: { readonly accept404?: boolean } = {},
): Promise<'ok' | 'not_found'> => {
  for (let offset = 0; ; ) {
    const response = await sendBulk<Collection<T>>(ctx, bulk, {
      method: 'GET',
      url: request.url,
      query: { ...request.query, limit: PAGE_SIZE, offset },
      operation: request.operation,
      ...(options.accept404 ? { accept: [404] } : {}),
    });
    if (response.status === 404) return 'not_found';
    const items = response.data?.items ?? [];
    onPage(items);
    const more = response.data?.hasMore ?? items.length >= PAGE_SIZE;
    if (!more || items.length === 0) return 'ok';
    offset += items.length;
  }
};
