import type { SendgridOptions } from './options.ts';

/**
 * SendGrid authenticates every v3 call with `Authorization: Bearer <API key>` (no token exchange,
 * no expiry to manage). Presigned URLs — `upload_uri` and `errors_url` — carry their own signature
 * and must be fetched WITHOUT this header: S3 refuses a request that holds two auth mechanisms.
 *
 * The key never leaves this function except inside the header; core's HTTP client redacts it from
 * every error and log line (it is declared `secret` in options.ts, and Authorization values are
 * always redacted).
 */
export const authHeaders = (options: SendgridOptions): Record<string, string> => ({
  authorization: `Bearer ${options.apiKey}`,
  ...(options.onBehalfOf === undefined ? {} : { 'on-behalf-of': options.onBehalfOf }),
});
