import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ownOrigin } from '../auth.ts';
import { HttpProblem, problemSchema } from '../problems.ts';
import type { ServiceContext } from '../service-context.ts';
import { createSession, csrfTokenOf, SESSION_COOKIE } from '../sessions.ts';
import { authenticate, hashToken } from '../tokens.ts';

/*
 * POST /v1/sessions (a token for a session cookie), GET and DELETE /v1/sessions/current. The
 * dashboard signs in with these; any browser client may.
 */

const tokenSchema = z.object({ id: z.string(), name: z.string(), scope: z.enum(['read', 'write']) });

const sessionSchema = z
  .object({
    token: tokenSchema.meta({ description: 'The token the session stands for (never its secret).' }),
    session: z
      .object({
        expiresAt: z.string(),
        csrfToken: z
          .string()
          .meta({ description: 'Send as `X-Ferry-CSRF` on every write made with the cookie.' }),
      })
      .nullable()
      .meta({ description: 'Null when the request came with a bearer token rather than the cookie.' }),
  })
  .meta({ id: 'Session' });

export const sessionRoutes = (app: FastifyInstance, context: ServiceContext): void => {
  const { store } = context;
  const api = app.withTypeProvider<ZodTypeProvider>();
  const setCookie = (reply: FastifyReply, request: FastifyRequest, value: string, expires: Date) =>
    reply.setCookie(SESSION_COOKIE, value, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      expires,
    });

  api.post(
    '/v1/sessions',
    {
      config: { auth: false, signIn: true },
      schema: {
        summary: 'Sign in: trade an API token for a session cookie (httpOnly, SameSite=Strict)',
        description:
          'The body must be JSON (a cross-site form cannot send it without a preflight). The answer sets the ' +
          '`ferry_session` cookie and gives the CSRF token to send as `X-Ferry-CSRF` on writes.',
        security: [],
        body: z.strictObject({ token: z.string().min(1).max(200) }),
        response: { 201: sessionSchema, 400: problemSchema, 401: problemSchema, 403: problemSchema },
      },
    },
    async (request, reply) => {
      const origin = request.headers.origin;
      if (origin !== undefined && origin !== ownOrigin(request))
        throw new HttpProblem(403, `a sign-in from another origin (${origin}) is refused`);
      const token = await authenticate(store, request.body.token);
      if (token === undefined) throw new HttpProblem(401, 'the token is unknown or revoked');
      const { id, session } = await createSession(store, token);
      setCookie(reply, request, id, new Date(session.expiresAt));
      return reply.code(201).send({
        token: { id: token.id, name: token.name, scope: token.scope },
        session: { expiresAt: new Date(session.expiresAt).toISOString(), csrfToken: csrfTokenOf(id) },
      });
    },
  );

  api.get(
    '/v1/sessions/current',
    {
      schema: {
        summary: 'Who is signed in: the token (id, name, scope) and, with the cookie, the CSRF token',
        response: { 200: sessionSchema, 401: problemSchema },
      },
    },
    async (request) => {
      const token = request.token!;
      const id = request.ferrySession;
      const found = id === undefined ? undefined : await store.findSession(hashToken(id), Date.now());
      return {
        token: { id: token.id, name: token.name, scope: token.scope },
        session:
          id === undefined || found === undefined
            ? null
            : { expiresAt: new Date(found.session.expiresAt).toISOString(), csrfToken: csrfTokenOf(id) },
      };
    },
  );

  api.delete(
    '/v1/sessions/current',
    {
      schema: {
        summary: 'Sign out: ends the session and clears its cookie',
        response: { 204: z.null(), 401: problemSchema, 403: problemSchema },
      },
    },
    async (request, reply) => {
      const id = request.ferrySession;
      if (id !== undefined) await store.deleteSession(hashToken(id));
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
};
