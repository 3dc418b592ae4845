import type { Kysely } from 'kysely';
import type { Database, LeasesTable } from '../schema.ts';
import type { Lease, LeasesStore } from '../state-store.ts';
import { num } from './shared.ts';

/*
 * Expiring claims with fencing tokens. A claim is one statement (an upsert that only overwrites a
 * row that is free, or still held by the token being replaced), so two processes claiming at once
 * cannot both win, on SQLite or PostgreSQL.
 */

const toLease = (row: LeasesTable): Lease => ({
  key: row.key,
  owner: row.owner,
  token: num(row.token),
  acquiredAt: num(row.acquired_at),
  expiresAt: num(row.expires_at),
});

export const kyselyLeases = (db: Kysely<Database>): LeasesStore => ({
  claimLease: async ({ key, owner, at, ttlMs, replacing }) => {
    const row = await db
      .insertInto('leases')
      .values({ key, owner, token: 1, acquired_at: at, expires_at: at + ttlMs })
      .onConflict((oc) =>
        oc
          .column('key')
          .doUpdateSet((eb) => ({
            owner: eb.ref('excluded.owner'),
            token: eb('leases.token', '+', 1),
            acquired_at: eb.ref('excluded.acquired_at'),
            expires_at: eb.ref('excluded.expires_at'),
          }))
          .where((eb) =>
            replacing === undefined
              ? eb('leases.expires_at', '<=', at)
              : eb.or([eb('leases.expires_at', '<=', at), eb('leases.token', '=', replacing)]),
          ),
      )
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toLease(row);
  },
  renewLease: async (fence, at, ttlMs) => {
    const result = await db
      .updateTable('leases')
      .set({ expires_at: at + ttlMs })
      .where('key', '=', fence.key)
      .where('token', '=', fence.token)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return num(result.numUpdatedRows) === 1;
  },
  releaseLease: async (fence) => {
    // The row stays (expired), so the next claim's token is still larger than every earlier one.
    await db
      .updateTable('leases')
      .set({ expires_at: 0 })
      .where('key', '=', fence.key)
      .where('token', '=', fence.token)
      .execute();
  },
  readLease: async (key) => {
    const row = await db.selectFrom('leases').selectAll().where('key', '=', key).executeTakeFirst();
    return row === undefined ? undefined : toLease(row);
  },
  listLeases: async (prefix, at) => {
    const rows = await db
      .selectFrom('leases')
      .selectAll()
      .where('key', 'like', `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
      .where('expires_at', '>', at)
      .orderBy('key')
      .execute();
    return rows.map(toLease);
  },
});
