import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiSession, ApiToken, ServiceStore } from '../store/service-store.ts';
import { hashToken } from './tokens.ts';

/*
 * Dashboard sessions. A browser cannot put a bearer token on an EventSource or a download link, so
 * the dashboard trades its token once (POST /v1/sessions) for a session cookie: random 256 bits,
 * httpOnly (no script reads it), SameSite=Strict (no other site's page sends it), `Secure` when the
 * request came over HTTPS, expiring. The store keeps only the SHA-256 of the session id, like tokens.
 *
 * CSRF: every write made with the cookie must also carry `X-Ferry-CSRF`, a token derived from the
 * session id (SHA-256 under a fixed label), given in the sign-in answer and by GET
 * /v1/sessions/current. Another origin cannot compute it (it cannot read the httpOnly cookie), cannot
 * read it from our answers (no CORS), and cannot send a custom header without a preflight this
 * server never grants. SameSite=Strict is a second lock, and a present Origin must be our own.
 * Deriving it rather than storing it keeps nothing more in the store and survives page reloads.
 */

export const SESSION_COOKIE = 'ferry_session';
export const CSRF_HEADER = 'x-ferry-csrf';
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export const csrfTokenOf = (sessionId: string): string =>
  createHash('sha256').update(`ferry-csrf\0${sessionId}`).digest('base64url');

export const createSession = async (
  store: ServiceStore,
  token: ApiToken,
  options: { readonly now?: number; readonly ttlMs?: number } = {},
): Promise<{ readonly id: string; readonly session: ApiSession }> => {
  const id = randomBytes(32).toString('base64url');
  const createdAt = options.now ?? Date.now();
  const session: ApiSession = {
    tokenId: token.id,
    createdAt,
    expiresAt: createdAt + (options.ttlMs ?? DEFAULT_SESSION_TTL_MS),
  };
  await store.createSession({ ...session, hash: hashToken(id) });
  return { id, session };
};

/** The live session and its token, or undefined (unknown, expired, signed out, token revoked). */
export const findSession = async (store: ServiceStore, id: string, now = Date.now()) =>
  id.length === 0 || id.length > 100 ? undefined : store.findSession(hashToken(id), now);

/** Compares digests of equal length, so the time taken says nothing about the expected token. */
export const csrfMatches = (sessionId: string, header: string | undefined): boolean => {
  if (header === undefined || header.length > 100) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header), digest(csrfTokenOf(sessionId)));
};
