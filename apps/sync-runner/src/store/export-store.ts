import type { ExportHandle, ExportPart, Json } from '@ferry/core';

/*
 * What the runner keeps of a vendor export it reads (an async source): the handle, the parts once
 * the export is ready, where reading stopped, and the records read so far. One export per key at a
 * time (`source` for `ferry sync`, `reconcile:<destination>` for `ferry reconcile`). A page of
 * records and the checkpoint after it are written in one transaction, so a crash loses nothing and
 * a resumed read asks the vendor only for what follows.
 */

export type ExportState = 'started' | 'ready' | 'downloaded';

export interface StoredExport {
  readonly key: string;
  /** This attempt's id: starting the export again gives a new one (and drops the old rows). */
  readonly exportId: string;
  /** The source plugin's name. */
  readonly source: string;
  readonly state: ExportState;
  readonly handle: ExportHandle;
  /** Once ready. */
  readonly parts: readonly ExportPart[] | null;
  /** When the vendor deletes the data (epoch ms), when it said. */
  readonly expiresAt: number | null;
  readonly total: number | null;
  /** The part being read (`parts.length` once all are read) and its checkpoint. */
  readonly partIndex: number;
  readonly checkpoint: Json;
  /** Records stored so far; their `seq` runs 1..rows. */
  readonly rows: number;
  readonly startedAt: number;
  readonly updatedAt: number;
}

/** Another process changed the export under this one (it restarted it, or read the same page). */
export class ExportConflictError extends Error {
  constructor(key: string) {
    super(
      `[ferry] [source] the export ${JSON.stringify(key)} was changed by another process while this one read it; run again`,
    );
    this.name = 'ExportConflictError';
  }
}

export interface ExportsStore {
  readonly getExport: (key: string) => Promise<StoredExport | undefined>;
  /** Records a started export for `key`, replacing (and dropping the rows of) any earlier one. */
  readonly startExport: (input: {
    readonly key: string;
    readonly exportId: string;
    readonly source: string;
    readonly handle: ExportHandle;
    readonly at: number;
  }) => Promise<void>;
  readonly markExportReady: (
    key: string,
    exportId: string,
    ready: {
      readonly parts: readonly ExportPart[];
      readonly expiresAt: number | null;
      readonly total: number | null;
      readonly at: number;
    },
  ) => Promise<void>;
  /**
   * Appends one page's records (JSON texts, in order) and moves the checkpoint, in one transaction.
   * `rowsBefore` must be the stored count (ExportConflictError otherwise: another process wrote).
   */
  readonly appendExportPage: (
    key: string,
    exportId: string,
    page: {
      readonly rowsBefore: number;
      readonly records: readonly string[];
      readonly partIndex: number;
      readonly checkpoint: Json;
      readonly at: number;
    },
  ) => Promise<void>;
  readonly markExportDownloaded: (key: string, exportId: string, at: number) => Promise<void>;
  /** Stored records with `seq` > `afterSeq`, in order (JSON texts). */
  readonly exportRows: (
    exportId: string,
    afterSeq: number,
    limit: number,
  ) => Promise<{ readonly seq: number; readonly record: string }[]>;
  /** Forgets the export and its records. */
  readonly dropExport: (key: string, exportId: string) => Promise<void>;
}
