import { timingSafeEqual } from 'node:crypto';

/** The key the sandbox accepts unless `apiKey` is given (SendGrid keys start with `SG.`). */
export const DEFAULT_SENDGRID_API_KEY = 'SG.sandbox';

/**
 * Checks `Authorization: Bearer <key>` [S1 securitySchemes]. Returns the 401 message, or
 * undefined when the key is right. The texts are the ones seen in practice (vendor-apis.md B.4):
 * "authorization required" without a key, the "grant is invalid" text for a wrong one.
 */
export const checkBearer = (authorization: string | undefined, apiKey: string): string | undefined => {
  if (authorization === undefined || authorization.trim() === '') return 'authorization required';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) return 'authorization required';
  const given = Buffer.from(match[1] ?? '');
  const expected = Buffer.from(apiKey);
  // Constant-time so the sandbox does not teach a client code that leaks keys by timing.
  const same = given.length === expected.length && timingSafeEqual(given, expected);
  return same ? undefined : 'The provided authorization grant is invalid, expired, or revoked';
};
