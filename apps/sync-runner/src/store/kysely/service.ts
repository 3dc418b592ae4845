import type { Kysely } from 'kysely';
import type { ApiTokensTable, Database } from '../schema.ts';
import type { ApiToken, IdempotentResponse, ServiceStore } from '../service-store.ts';
import { num, numOrNull } from './shared.ts';

/* `ferry serve`'s tokens and Idempotency-Key responses. */

const toToken = (row: Omit<ApiTokensTable, 'hash'>): ApiToken => ({
  id: row.id,
  name: row.name,
  scope: row.scope,
  createdAt: num(row.created_at),
  revokedAt: numOrNull(row.revoked_at),
});

const TOKEN_COLUMNS = ['id', 'name', 'scope', 'created_at', 'revoked_at'] as const;

export const kyselyService = (db: Kysely<Database>): ServiceStore => ({
  createToken: async (token) => {
    await db
      .insertInto('api_tokens')
      .values({
        id: token.id,
        name: token.name,
        scope: token.scope,
        hash: token.hash,
        created_at: token.createdAt,
        revoked_at: null,
      })
      .execute();
  },
  findToken: async (hash) => {
    const row = await db
      .selectFrom('api_tokens')
      .select(TOKEN_COLUMNS)
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row === undefined ? undefined : toToken(row);
  },
  listTokens: async () =>
    (
      await db.selectFrom('api_tokens').select(TOKEN_COLUMNS).orderBy('created_at').orderBy('id').execute()
    ).map(toToken),
  revokeToken: async (id, at) => {
    const result = await db
      .updateTable('api_tokens')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
  createSession: async (session) => {
    await db.deleteFrom('api_sessions').where('expires_at', '<=', session.createdAt).execute();
    await db
      .insertInto('api_sessions')
      .values({
        hash: session.hash,
        token_id: session.tokenId,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
      })
      .execute();
  },
  findSession: async (hash, now) => {
    const row = await db
      .selectFrom('api_sessions')
      .innerJoin('api_tokens', 'api_tokens.id', 'api_sessions.token_id')
      .select([
        'api_sessions.token_id',
        'api_sessions.created_at as session_created_at',
        'api_sessions.expires_at',
        'api_tokens.id',
        'api_tokens.name',
        'api_tokens.scope',
        'api_tokens.created_at',
        'api_tokens.revoked_at',
      ])
      .where('api_sessions.hash', '=', hash)
      .where('api_sessions.expires_at', '>', now)
      .where('api_tokens.revoked_at', 'is', null)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      session: {
        tokenId: row.token_id,
        createdAt: num(row.session_created_at),
        expiresAt: num(row.expires_at),
      },
      token: toToken(row),
    };
  },
  deleteSession: async (hash) => {
    await db.deleteFrom('api_sessions').where('hash', '=', hash).execute();
  },
  claimIdempotencyKey: async ({ tokenId, key, fingerprint, at, since }) => {
    await db.deleteFrom('idempotency_keys').where('created_at', '<', since).execute();
    const inserted = await db
      .insertInto('idempotency_keys')
      .values({ token_id: tokenId, key, fingerprint, status: null, response: null, created_at: at })
      .onConflict((oc) => oc.columns(['token_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (inserted !== undefined) return { kind: 'claimed' };
    const row = await db
      .selectFrom('idempotency_keys')
      .select(['fingerprint', 'status', 'response', 'created_at'])
      .where('token_id', '=', tokenId)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
    return {
      kind: 'existing',
      fingerprint: row.fingerprint,
      claimedAt: num(row.created_at),
      ...(row.status === null || row.response === null
        ? {}
        : { response: JSON.parse(row.response) as IdempotentResponse }),
    };
  },
  saveIdempotentResponse: async (tokenId, key, response) => {
    await db
      .updateTable('idempotency_keys')
      .set({ status: response.status, response: JSON.stringify(response) })
      .where('token_id', '=', tokenId)
      .where('key', '=', key)
      .execute();
  },
  takeOverIdempotencyKey: async ({ tokenId, key, at, claimedBefore }) => {
    const result = await db
      .updateTable('idempotency_keys')
      .set({ created_at: at })
      .where('token_id', '=', tokenId)
      .where('key', '=', key)
      .where('status', 'is', null)
      .where('created_at', '<', claimedBefore)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
  releaseIdempotencyKey: async (tokenId, key) => {
    await db.deleteFrom('idempotency_keys').where('token_id', '=', tokenId).where('key', '=', key).execute();
  },
});
