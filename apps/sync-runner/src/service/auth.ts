import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiToken, ServiceStore, TokenScope } from '../store/service-store.ts';
import { HttpProblem } from './problems.ts';
import { authenticate } from './tokens.ts';

/*
 * Every route needs `Authorization: Bearer <token>` unless its config says `auth: false` (the
 * health checks, the OpenAPI document). A route's `scope` is what it needs: `write` routes (start,
 * cancel, retry, verify) refuse read tokens with a 403.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Default true. */
    auth?: boolean;
    /** Default `read`. */
    scope?: TokenScope;
  }
  interface FastifyRequest {
    token?: ApiToken;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="ferry"' };

export const requestToken = (request: FastifyRequest): ApiToken => {
  if (request.token === undefined) throw new Error('[ferry] route needs authentication');
  return request.token;
};

export const installAuth = (app: FastifyInstance, store: ServiceStore): void => {
  app.decorateRequest('token', undefined);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    // Unknown routes answer 404 without needing a token (Fastify gives them no config).
    if (request.routeOptions.url === undefined || config.auth === false) return;
    const header = request.headers.authorization;
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
