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
