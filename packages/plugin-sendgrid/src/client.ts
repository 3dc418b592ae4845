import {
  createRedactor,
  type DestinationContext,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  PermanentError,
} from '@ferry/core';
import { authHeaders } from './auth.ts';
import type { SendgridOptions } from './options.ts';
import type { ErrorBody, ErrorItem } from './types.ts';

export type SendgridContext = DestinationContext<SendgridOptions>;

/**
 * Transport and error mapping. Every call goes through core's `ctx.http`, which owns timeouts,
 * retries, 429 / `X-RateLimit-*` waits and redaction, and already throws AuthError (401/403),
 * RateLimitedError, TransientError (5xx, network). What is SendGrid-specific is the 4xx body:
 * `{"errors":[{"field","message"}]}` — core would only quote it, so the statuses below are taken
 * as answers and turned into a PermanentError that names the field.
 */

/** 4xx statuses whose body is read here (401/403/408/429 stay with core). */
const VENDOR_ERROR_STATUSES: readonly number[] = [400, 404, 405, 406, 409, 410, 413, 414, 415, 422];

/** A 4xx from SendGrid, with its `errors` items; `field` is the first one that names a field. */
export class SendgridApiError extends PermanentError {
  readonly errors: readonly { readonly field?: string; readonly message: string }[];
  readonly field?: string;

  constructor(
    destination: string,
    message: string,
    details: { status: number; errors: readonly { field?: string; message: string }[] },
  ) {
    super(destination, message, { status: details.status, code: `http_${details.status}` });
    this.errors = details.errors;
    const field = details.errors.find((item) => item.field !== undefined)?.field;
    if (field !== undefined) this.field = field;
  }
}

/** The `errors` of a SendGrid error body, normalised (`errors` may be one object; `field` may be null). */
export const errorItems = (body: unknown): { field?: string; message: string }[] => {
  if (typeof body !== 'object' || body === null) return [];
  const raw = (body as ErrorBody).errors;
  const list: readonly unknown[] = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.flatMap((item) => {
    if (typeof item !== 'object' || item === null) return [];
    const { field, message } = item as ErrorItem;
    const text = typeof message === 'string' && message !== '' ? message : 'no message';
    return [typeof field === 'string' && field !== '' ? { field, message: text } : { message: text }];
  });
};

/** The v3 API client (base URL + Bearer key) and the bare client for presigned URLs. */
export interface SendgridClients {
  readonly api: HttpClient;
  /** For `upload_uri` and `errors_url`: no Authorization header, which S3 would refuse. */
  readonly presigned: HttpClient;
}

export const sendgridClients = (ctx: SendgridContext): SendgridClients => ({
  api: ctx.http.with({ baseUrl: ctx.options.baseUrl, headers: authHeaders(ctx.options) }),
  presigned: ctx.http,
});

export interface ApiRequest extends HttpRequest {
  /** Statuses (besides 2xx) returned to the caller as answers, e.g. `[404]` for a forgotten job. */
  readonly answers?: readonly number[];
}

/**
 * One call to the v3 API. Returns 2xx and the `answers` statuses; throws SendgridApiError for the
 * other 4xx (with the vendor's fields and messages, redacted), and core's typed errors otherwise.
 */
export const callApi = async <T>(ctx: SendgridContext, request: ApiRequest): Promise<HttpResponse<T>> => {
  const { answers = [], ...rest } = request;
  const response = await sendgridClients(ctx).api.request<unknown>({
    ...rest,
    accept: [...VENDOR_ERROR_STATUSES, ...answers, ...(rest.accept ?? [])],
  });
  if (response.status < 400 || answers.includes(response.status)) return response as HttpResponse<T>;
  throw apiError(
    ctx,
    request.operation ?? `${request.method} ${request.url}`,
    response.status,
    response.data,
  );
};

export const apiError = (
  ctx: SendgridContext,
  operation: string,
  status: number,
  body: unknown,
): SendgridApiError => {
  const redact = createRedactor([ctx.options.apiKey]);
  const errors = errorItems(body).map((item) => ({ ...item, message: redact(item.message) }));
  const detail = errors
    .map((item) => (item.field === undefined ? item.message : `${item.field}: ${item.message}`))
    .join('; ');
  const text = `${operation} failed: HTTP ${status}${detail === '' ? '' : `: ${detail}`}`;
  return new SendgridApiError(ctx.destination, text.length > 1000 ? `${text.slice(0, 1000)}…` : text, {
    status,
    errors,
  });
};
