import type { Kysely } from 'kysely';
import { createBulkSql } from '../bulk-sql.ts';
import type { Database } from '../schema.ts';
import type { StateStore } from '../state-store.ts';
import { kyselyExports } from './exports.ts';
import { kyselyJobs } from './jobs.ts';
import { kyselyLeases } from './leases.ts';
import { kyselyMembers } from './members.ts';
import { kyselyProfiles } from './profiles.ts';
import { kyselyReconcile } from './reconcile.ts';
import { kyselyReports } from './reports.ts';
import { kyselyRuns } from './runs.ts';
import { kyselyService } from './service.ts';
import { kyselyWebhooks } from './webhooks.ts';

/*
 * The StateStore over Kysely, for every dialect: only portable SQL (multi-row VALUES, ON CONFLICT,
 * RETURNING, NOT EXISTS), which SQLite ≥ 3.35 and PostgreSQL both run. One file per concern.
 */

export interface KyselyStoreInfo {
  readonly dialect: StateStore['dialect'];
  readonly location: string;
}

/** A StateStore over an open, migrated Kysely instance. `close` destroys the instance. */
export const createKyselyStore = (db: Kysely<Database>, info: KyselyStoreInfo): StateStore => {
  const bulk = createBulkSql(info.dialect);
  return {
    dialect: info.dialect,
    location: info.location,
    close: async () => {
      await db.destroy();
    },
    ...kyselyRuns(db, bulk),
    ...kyselyLeases(db),
    ...kyselyJobs(db, bulk),
    ...kyselyMembers(db),
    ...kyselyProfiles(db, bulk),
    ...kyselyReports(db),
    ...kyselyService(db),
    ...kyselyWebhooks(db),
    ...kyselyExports(db),
    ...kyselyReconcile(db),
  };
};
