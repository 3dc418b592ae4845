import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExportConflictError } from '../../src/store/export-store.ts';
import type { StateStore } from '../../src/store/state-store.ts';

/**
 * The ExportsStore contract (vendor exports read as sources), run against every dialect: a fresh,
 * empty store per test.
 */
export const describeExportsStore = (
  title: string,
  open: () => Promise<{ store: StateStore; dispose: () => Promise<void> }>,
): void => {
  describe(title, () => {
    let store: StateStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await open());
    });
    afterEach(async () => {
      await store.close();
      await dispose();
    });

    const started = (exportId = 'exp-1') =>
      store.startExport({
        key: 'source',
        exportId,
        source: 'eloqua',
        handle: { syncUri: '/syncs/1' },
        at: 10,
      });

    it('keeps the handle, then the parts, then pages of records with their checkpoint, in order', async () => {
      expect(await store.getExport('source')).toBeUndefined();
      await started();
      expect(await store.getExport('source')).toMatchObject({
        exportId: 'exp-1',
        source: 'eloqua',
        state: 'started',
        handle: { syncUri: '/syncs/1' },
        parts: null,
        partIndex: 0,
        checkpoint: null,
        rows: 0,
        startedAt: 10,
      });
      await store.markExportReady('source', 'exp-1', {
        parts: [{ uri: 'a' }, { uri: 'b' }],
        expiresAt: 9_000_000_000_000,
        total: 3,
        at: 20,
      });
      await store.appendExportPage('source', 'exp-1', {
        rowsBefore: 0,
        records: ['{"id":"1"}', '{"id":"2"}'],
        partIndex: 0,
        checkpoint: { offset: 2 },
        at: 30,
      });
      await store.appendExportPage('source', 'exp-1', {
        rowsBefore: 2,
        records: ['{"id":"3","name":"Zoë"}'],
        partIndex: 1,
        checkpoint: { lines: 1 },
        at: 40,
      });
      expect(await store.getExport('source')).toMatchObject({
        state: 'ready',
        parts: [{ uri: 'a' }, { uri: 'b' }],
        expiresAt: 9_000_000_000_000,
        total: 3,
        partIndex: 1,
        checkpoint: { lines: 1 },
        rows: 3,
        updatedAt: 40,
      });
      expect(await store.exportRows('exp-1', 0, 2)).toEqual([
        { seq: 1, record: '{"id":"1"}' },
        { seq: 2, record: '{"id":"2"}' },
      ]);
      expect(await store.exportRows('exp-1', 2, 10)).toEqual([{ seq: 3, record: '{"id":"3","name":"Zoë"}' }]);
      await store.markExportDownloaded('source', 'exp-1', 50);
      expect((await store.getExport('source'))?.state).toBe('downloaded');
    });

    it('refuses a page written on a stale row count or for a replaced export (another process)', async () => {
      await started();
      await store.appendExportPage('source', 'exp-1', {
        rowsBefore: 0,
        records: ['{}'],
        partIndex: 0,
        checkpoint: 1,
        at: 1,
      });
      await expect(
        store.appendExportPage('source', 'exp-1', {
          rowsBefore: 0,
          records: ['{}'],
          partIndex: 0,
          checkpoint: 1,
          at: 2,
        }),
      ).rejects.toBeInstanceOf(ExportConflictError);
      // Nothing of the refused page was kept.
      expect(await store.exportRows('exp-1', 0, 10)).toHaveLength(1);
      // Starting again replaces the export and drops its records.
      await started('exp-2');
      expect(await store.exportRows('exp-1', 0, 10)).toEqual([]);
      await expect(
        store.appendExportPage('source', 'exp-1', {
          rowsBefore: 1,
          records: [],
          partIndex: 0,
          checkpoint: 1,
          at: 3,
        }),
      ).rejects.toBeInstanceOf(ExportConflictError);
      await expect(
        store.markExportReady('source', 'exp-1', { parts: [], expiresAt: null, total: null, at: 3 }),
      ).rejects.toBeInstanceOf(ExportConflictError);
    });

    it('forgets an export and its records; keys are independent', async () => {
      await started();
      await store.startExport({
        key: 'reconcile:sg',
        exportId: 'exp-9',
        source: 'sendgrid',
        handle: { exportId: 'x' },
        at: 1,
      });
      await store.appendExportPage('source', 'exp-1', {
        rowsBefore: 0,
        records: ['{}', '{}'],
        partIndex: 0,
        checkpoint: 2,
        at: 2,
      });
      await store.dropExport('source', 'exp-1');
      expect(await store.getExport('source')).toBeUndefined();
      expect(await store.exportRows('exp-1', 0, 10)).toEqual([]);
      expect((await store.getExport('reconcile:sg'))?.source).toBe('sendgrid');
    });
  });
};
