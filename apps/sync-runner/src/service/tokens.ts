import { createHash, randomBytes } from 'node:crypto';
import type { ApiToken, ServiceStore, TokenScope } from '../store/service-store.ts';

/*
 * Bearer tokens for `ferry serve`: `ferry_<id>_<secret>`, shown once; the store keeps only the
 * SHA-256 of the whole token (a random 256-bit secret needs no slow hash), so a stolen store
 * grants nothing.
 */

const PREFIX = 'ferry_';

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export const createToken = async (
  store: ServiceStore,
  request: { readonly scope: TokenScope; readonly name?: string; readonly now?: number },
): Promise<{ readonly token: string; readonly record: ApiToken }> => {
  const id = randomBytes(6).toString('hex');
  const token = `${PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  const record: ApiToken = {
    id,
    name: request.name ?? '',
    scope: request.scope,
    createdAt: request.now ?? Date.now(),
    revokedAt: null,
  };
  await store.createToken({ ...record, hash: hashToken(token) });
  return { token, record };
};

/** The token's record, or undefined when it is unknown, revoked or malformed. */
export const authenticate = async (store: ServiceStore, token: string): Promise<ApiToken | undefined> => {
  if (!token.startsWith(PREFIX) || token.length > 200) return undefined;
  return store.findToken(hashToken(token));
};
