import type { Kysely } from 'kysely';
import type { ReconcileStore } from '../reconcile-store.ts';
import type { Database } from '../schema.ts';
import { chunk, num, rowsPerStatement } from './shared.ts';

/* `ferry reconcile`: confirmed profiles page by page, and `--fix` forgetting confirmations. */

export const kyselyReconcile = (db: Kysely<Database>): ReconcileStore => ({
  listConfirmed: async (destination, afterProfileId, limit) => {
    let query = db
      .selectFrom('profile_state')
      .select(['profile_id', 'identity', 'confirmed_fingerprint'])
      .where('destination', '=', destination)
      .where('status', '=', 'exported')
      .where('confirmed_fingerprint', 'is not', null);
    if (afterProfileId !== undefined) query = query.where('profile_id', '>', afterProfileId);
    const rows = await query.orderBy('profile_id').limit(limit).execute();
    return rows.map((row) => ({
      profileId: row.profile_id,
      identity: row.identity,
      confirmedFingerprint: row.confirmed_fingerprint ?? '',
    }));
  },

  forgetConfirmed: async (destination, profileIds, at) =>
    db.transaction().execute(async (trx) => {
      let changed = 0;
      for (const part of chunk(profileIds, rowsPerStatement(1))) {
        const result = await trx
          .updateTable('profile_state')
          .set({ confirmed_fingerprint: null, updated_at: at })
          .where('destination', '=', destination)
          .where('status', '=', 'exported')
          .where('profile_id', 'in', part)
          .executeTakeFirst();
        changed += num(result.numUpdatedRows);
      }
      return changed;
    }),
});
