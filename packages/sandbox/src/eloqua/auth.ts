import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendText } from './wire.ts';

/**
 * Eloqua authentication: HTTP Basic with `Site\User:Password` (A.1.1), Bearer tokens (A.1.2),
 * the `GET /id` discovery call the sandbox answers as login host AND pod (A.1.3), and a small
 * OAuth 2.0 token endpoint (resource-owner password and refresh grants) for clients that want
 * to exercise their OAuth path — its request and response details are UNVERIFIED.
 */

export interface EloquaCredentials {
  readonly siteName: string;
  readonly siteId: number;
  readonly username: string;
  readonly password: string;
  /** A Bearer token accepted from the start, besides tokens issued by the token endpoint. */
  readonly accessToken: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** How `GET /id` answers bad credentials; which one Eloqua uses today is UNVERIFIED (A.1.3). */
export type IdAuthFailure = 'not-authenticated' | 'unauthorized';

export interface Authenticator {
  readonly check: (header: string | undefined) => boolean;
  readonly issue: () => { accessToken: string; refreshToken: string };
  readonly refresh: (refreshToken: string) => { accessToken: string; refreshToken: string } | undefined;
  readonly clear: () => void;
}

const decodeBasic = (header: string): { user: string; password: string } | undefined => {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return undefined;
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon === -1 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
};

export const createAuthenticator = (credentials: EloquaCredentials): Authenticator => {
  let tokens = new Set<string>([credentials.accessToken]);
  let refreshTokens = new Set<string>();
  // Site and user names compare case-insensitively, as Eloqua's login does; the password does not.
  const expectedUser = `${credentials.siteName}\\${credentials.username}`.toLowerCase();
  const issue = () => {
    const accessToken = randomBytes(24).toString('base64url');
    const refreshToken = randomBytes(24).toString('base64url');
    tokens.add(accessToken);
    refreshTokens.add(refreshToken);
    return { accessToken, refreshToken };
  };
  return {
    check: (header) => {
      if (header === undefined) return false;
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (bearer?.[1] !== undefined) return tokens.has(bearer[1]);
      const basic = decodeBasic(header);
      return (
        basic !== undefined &&
        basic.user.toLowerCase() === expectedUser &&
        basic.password === credentials.password
      );
    },
    issue,
    refresh: (refreshToken) => {
      if (!refreshTokens.delete(refreshToken)) return undefined;
      return issue();
    },
    clear: () => {
      tokens = new Set([credentials.accessToken]);
      refreshTokens = new Set();
    },
  };
};

/** The base URL clients used to reach us, so `/id` sends them back to the same place. */
const ownBaseUrl = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

export const idResponse = (credentials: EloquaCredentials, base: string): Record<string, unknown> => ({
  site: { id: credentials.siteId, name: credentials.siteName },
  user: {
    id: 314,
    username: credentials.username,
    displayName: 'Sandbox User',
    firstName: 'Sandbox',
    lastName: 'User',
    emailAddress: 'sandbox.user@example.test',
  },
  urls: {
    base,
    apis: {
      soap: {
        standard: `${base}/API/{version}/Service.svc`,
        dataTransfer: `${base}/API/{version}/DataTransferService.svc`,
        email: `${base}/API/{version}/EmailService.svc`,
        externalAction: `${base}/API/{version}/ExternalActionService.svc`,
      },
      rest: {
        standard: `${base}/API/REST/{version}/`,
        bulk: `${base}/API/Bulk/{version}/`,
      },
    },
  },
});

export const registerAuthRoutes = (
  app: FastifyInstance,
  deps: {
    readonly credentials: EloquaCredentials;
    readonly authenticator: Authenticator;
    readonly idAuthFailure: IdAuthFailure;
  },
): void => {
  const { credentials, authenticator } = deps;

  app.get('/id', { config: { endpoint: 'eloqua.id' } }, async (request, reply) => {
    if (!authenticator.check(request.headers.authorization)) {
      return deps.idAuthFailure === 'unauthorized'
        ? sendText(reply, 401, 'Unauthorized')
        : reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify('Not authenticated.'));
    }
    return idResponse(credentials, ownBaseUrl(request));
  });

  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 64 * 1024 },
      (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    scope.post('/auth/oauth2/token', { config: { endpoint: 'eloqua.token' } }, async (request, reply) => {
      const client = decodeBasic(request.headers.authorization ?? '');
      if (client?.user !== credentials.clientId || client.password !== credentials.clientSecret) {
        return reply.code(401).send({ error: 'invalid_client' });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      let issued: { accessToken: string; refreshToken: string } | undefined;
      if (body.grant_type === 'password') {
        const user = typeof body.username === 'string' ? body.username : '';
        const password = typeof body.password === 'string' ? body.password : '';
        const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        issued = authenticator.check(basic) ? authenticator.issue() : undefined;
      } else if (body.grant_type === 'refresh_token' && typeof body.refresh_token === 'string') {
        issued = authenticator.refresh(body.refresh_token);
      } else {
        return reply.code(400).send({ error: 'unsupported_grant_type' });
      }
      if (issued === undefined) return reply.code(400).send({ error: 'invalid_grant' });
      return {
        access_token: issued.accessToken,
        token_type: 'bearer',
        expires_in: 28800,
        refresh_token: issued.refreshToken,
      };
    });
  });
};
