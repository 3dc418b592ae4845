import type { ExportHandle, ExportPart, Json } from '@ferry/core';
import type { Kysely } from 'kysely';
import { ExportConflictError, type ExportsStore, type StoredExport } from '../export-store.ts';
import type { Database, SourceExportsTable } from '../schema.ts';
import { chunk, num, numOrNull, rowsPerStatement } from './shared.ts';

/* Vendor exports read as sources: the export's row, and its records in read order. */

const toExport = (row: SourceExportsTable): StoredExport => ({
  key: row.key,
  exportId: row.export_id,
  source: row.source,
  state: row.state,
  handle: JSON.parse(row.handle) as ExportHandle,
  parts: row.parts === null ? null : (JSON.parse(row.parts) as ExportPart[]),
  expiresAt: numOrNull(row.expires_at),
  total: numOrNull(row.total),
  partIndex: num(row.part_index),
  checkpoint: JSON.parse(row.checkpoint) as Json,
  rows: num(row.rows),
  startedAt: num(row.started_at),
  updatedAt: num(row.updated_at),
});

export const kyselyExports = (db: Kysely<Database>): ExportsStore => ({
  getExport: async (key) => {
    const row = await db.selectFrom('source_exports').selectAll().where('key', '=', key).executeTakeFirst();
    return row === undefined ? undefined : toExport(row);
  },

  startExport: async ({ key, exportId, source, handle, at }) => {
    await db.transaction().execute(async (trx) => {
      const earlier = await trx
        .selectFrom('source_exports')
        .select('export_id')
        .where('key', '=', key)
        .executeTakeFirst();
      if (earlier !== undefined) {
        await trx.deleteFrom('source_export_rows').where('export_id', '=', earlier.export_id).execute();
        await trx.deleteFrom('source_exports').where('key', '=', key).execute();
      }
      await trx
        .insertInto('source_exports')
        .values({
          key,
          export_id: exportId,
          source,
          state: 'started',
          handle: JSON.stringify(handle),
          parts: null,
          expires_at: null,
          total: null,
          part_index: 0,
          checkpoint: 'null',
          rows: 0,
          started_at: at,
          updated_at: at,
        })
        .execute();
    });
  },

  markExportReady: async (key, exportId, ready) => {
    const result = await db
      .updateTable('source_exports')
      .set({
        state: 'ready',
        parts: JSON.stringify(ready.parts),
        expires_at: ready.expiresAt,
        total: ready.total,
        updated_at: ready.at,
      })
      .where('key', '=', key)
      .where('export_id', '=', exportId)
      .executeTakeFirst();
    if (num(result.numUpdatedRows) !== 1) throw new ExportConflictError(key);
  },

  appendExportPage: async (key, exportId, page) => {
    await db.transaction().execute(async (trx) => {
      // The fence first: the row count this process last saw, so two readers never both append.
      const moved = await trx
        .updateTable('source_exports')
        .set({
          rows: page.rowsBefore + page.records.length,
          part_index: page.partIndex,
          checkpoint: JSON.stringify(page.checkpoint),
          updated_at: page.at,
        })
        .where('key', '=', key)
        .where('export_id', '=', exportId)
        .where('rows', '=', page.rowsBefore)
        .executeTakeFirst();
      if (num(moved.numUpdatedRows) !== 1) throw new ExportConflictError(key);
      const rows = page.records.map((record, index) => ({
        export_id: exportId,
        seq: page.rowsBefore + index + 1,
        record,
      }));
      for (const part of chunk(rows, rowsPerStatement(3)))
        await trx.insertInto('source_export_rows').values(part).execute();
    });
  },

  markExportDownloaded: async (key, exportId, at) => {
    const result = await db
      .updateTable('source_exports')
      .set({ state: 'downloaded', updated_at: at })
      .where('key', '=', key)
      .where('export_id', '=', exportId)
      .executeTakeFirst();
    if (num(result.numUpdatedRows) !== 1) throw new ExportConflictError(key);
  },

  exportRows: async (exportId, afterSeq, limit) => {
    const rows = await db
      .selectFrom('source_export_rows')
      .select(['seq', 'record'])
      .where('export_id', '=', exportId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ seq: num(row.seq), record: row.record }));
  },

  dropExport: async (key, exportId) => {
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('source_export_rows').where('export_id', '=', exportId).execute();
      await trx
        .deleteFrom('source_exports')
        .where('key', '=', key)
        .where('export_id', '=', exportId)
        .execute();
    });
  },
});
