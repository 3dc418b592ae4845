import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiToken, ServiceStore, TokenScope } from '../store/service-store.ts';
import { HttpProblem } from './problems.ts';
import { CSRF_HEADER, csrfMatches, findSession, SESSION_COOKIE } from './sessions.ts';
import { authenticate } from './tokens.ts';

/*
 * Every route needs `Authorization: Bearer <token>` unless its config says `auth: false` (the
 * health checks, the OpenAPI document). A route's `scope` is what it needs: `write` routes (start,
 * cancel, retry, verify) refuse read tokens with a 403. The dashboard's session cookie (see
 * sessions.ts) stands for its token too; a write made with it needs the CSRF header as well.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default true. */
    auth?: boolean;
    /** Default `read`. */
    scope?: TokenScope;
    /** Sign-in: needs no token but is rate limited (per address). */
    signIn?: boolean;
  }
  interface FastifyRequest {
    token?: ApiToken;
    /** The dashboard session the request came with, when it came with one and not a bearer token. */
    ferrySession?: string;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="ferry"' };

export const requestToken = (request: FastifyRequest): ApiToken => {
  if (request.token === undefined) throw new Error('[ferry] route needs authentication');
  return request.token;
};

export const installAuth = (app: FastifyInstance, store: ServiceStore): void => {
  app.decorateRequest('token', undefined);
  app.decorateRequest('ferrySession', undefined);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // Unknown routes answer 404 without needing a token (Fastify gives them no config).
    if (request.routeOptions.url === undefined || config.auth === false) return;
    const header = request.headers.authorization;
    const cookie = request.cookies[SESSION_COOKIE];
    if (header === undefined && cookie !== undefined) return sessionAuth(request, store, cookie);
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null)
      throw new HttpProblem(
        401,
        'send Authorization: Bearer <token> (see `ferry tokens create`)',
        {},
        CHALLENGE,
      );
    const token = await authenticate(store, match[1]!);
    if (token === undefined)
      throw new HttpProblem(
        401,
        'the token is unknown or revoked',
        {},
        {
          'www-authenticate': 'Bearer realm="ferry", error="invalid_token"',
        },
      );
    if ((config.scope ?? 'read') === 'write' && token.scope !== 'write')
      throw new HttpProblem(403, 'this route needs a token with scope write; this one has scope read');
    request.token = token;
  });
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The request's own origin, as the browser writes it in `Origin`. */
export const ownOrigin = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

const sessionAuth = async (request: FastifyRequest, store: ServiceStore, cookie: string): Promise<void> => {
  const found = await findSession(store, cookie);
  if (found === undefined)
    throw new HttpProblem(401, 'the session has expired or was signed out; sign in again with a token');
  if (!SAFE_METHODS.has(request.method)) {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== ownOrigin(request))
      throw new HttpProblem(403, `a write from another origin (${origin}) is refused`);
    const csrf = request.headers[CSRF_HEADER];
    if (!csrfMatches(cookie, typeof csrf === 'string' ? csrf : undefined))
      throw new HttpProblem(
        403,
        `a write made with the session cookie needs the ${CSRF_HEADER} header (GET /v1/sessions/current)`,
      );
  }
  if ((request.routeOptions.config.scope ?? 'read') === 'write' && found.token.scope !== 'write')
    throw new HttpProblem(403, 'this route needs a token with scope write; this one has scope read');
  request.token = found.token;
  request.ferrySession = cookie;
};
