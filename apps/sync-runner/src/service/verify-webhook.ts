import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * For receivers of Ferry's webhooks: checks a delivery's Standard Webhooks v1 signature
 * (`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` under the `whsec_` secret)
 * and its timestamp, and returns the parsed body. Plain node:crypto, so a receiver needs nothing
 * else; the `standardwebhooks` npm package verifies the same deliveries.
 */

export type WebhookVerificationReason =
  | 'missing-header'
  | 'bad-secret'
  | 'bad-timestamp'
  | 'stale'
  | 'future'
  | 'bad-signature'
  | 'bad-body';

export class WebhookVerificationError extends Error {
  readonly reason: WebhookVerificationReason;
  constructor(reason: WebhookVerificationReason, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

/** A fetch `Headers`, or Node's `IncomingHttpHeaders` (lower-case names). */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookOptions {
  /** How far the timestamp may be from now, either way; default 300 s (the spec's, and standardwebhooks'). */
  readonly toleranceSeconds?: number;
  /** Now, in ms; default Date.now(). */
  readonly now?: number;
}

const headerOf = (headers: WebhookHeaders, name: string): string => {
  const value =
    headers instanceof Headers
      ? headers.get(name)
      : (headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1]);
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' || text === '')
    throw new WebhookVerificationError('missing-header', `the ${name} header is missing`);
  return text;
};

const keyOf = (secret: string): Buffer => {
  const base64 = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  const key = Buffer.from(base64, 'base64');
  if (base64 === '' || key.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64))
    throw new WebhookVerificationError('bad-secret', 'the secret is not whsec_ followed by base64');
  return key;
};

/**
 * Verifies a delivery and returns its parsed JSON body; throws a WebhookVerificationError (with a
 * `reason`) when a header is missing, the timestamp is outside the tolerance, or no signature
 * matches. `rawBody` must be the body exactly as received, before any JSON parsing.
 */
export const verifyWebhook = <T = unknown>(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): T => {
  const key = keyOf(secret);
  const id = headerOf(headers, 'webhook-id');
  const timestamp = headerOf(headers, 'webhook-timestamp');
  const signatures = headerOf(headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp))
    throw new WebhookVerificationError('bad-timestamp', 'webhook-timestamp is not a number of seconds');
  const tolerance = options.toleranceSeconds ?? 300;
  const skew = Math.floor((options.now ?? Date.now()) / 1000) - Number(timestamp);
  if (skew > tolerance)
    throw new WebhookVerificationError('stale', `the delivery is ${skew} s old, more than ${tolerance} s`);
  if (-skew > tolerance)
    throw new WebhookVerificationError(
      'future',
      `the delivery is ${-skew} s ahead, more than ${tolerance} s`,
    );
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  // The header may carry several signatures (a secret being rotated): one match is enough.
  const matches = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || signature === undefined) return false;
    const given = Buffer.from(signature, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches)
    throw new WebhookVerificationError(
      'bad-signature',
      'no webhook-signature matches: a wrong secret, or the body or headers were changed',
    );
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new WebhookVerificationError('bad-body', 'the body is not JSON');
  }
};
