/** A value read from the source: CSV text, or a JSON scalar, after the declared column type applied. */
export type SourceValue = string | number | boolean | null;

/** Column (CSV) or property (JSONL) name → value. No prototype: any column name is an ordinary key. */
export type SourceRecord = Readonly<Record<string, SourceValue>>;

/** A readable record. */
export interface SourceRecordItem {
  readonly kind: 'record';
  /**
   * 1-based row: for CSV the record number as a spreadsheet shows it (the header is row 1, blank lines
   * count), for JSONL the line number.
   */
  readonly row: number;
  /** 1-based physical line the record starts on (what an editor shows); differs from `row` only
   * after CSV values that contain line breaks. */
  readonly line: number;
  /** The value of the id column, whitespace-trimmed, never empty. */
  readonly id: string;
  readonly record: SourceRecord;
}

/** A row that could not be read; reading goes on with the next one. */
export interface SourceBadItem {
  readonly kind: 'bad';
  readonly row: number;
  readonly line: number;
  /** The row's id, when it could be read. */
  readonly id?: string;
  /** What is wrong, precise enough to fix the file: `column "age": expected a number, got "abc"`. */
  readonly reason: string;
}

export type SourceItem = SourceRecordItem | SourceBadItem;

export interface ReadSourceOptions {
  /** Stops reading: the iteration then throws an `AbortError` (within one 64 KiB chunk). */
  readonly signal?: AbortSignal;
  /**
   * Longest record accepted, in characters (default 4 MiB). It bounds memory when a quote is never
   * closed: the reader gives up on the record at this length instead of buffering the rest of the file.
   */
  readonly maxRecordLength?: number;
}

export const DEFAULT_MAX_RECORD_LENGTH = 4 * 1024 * 1024;

/**
 * The source as a whole cannot be read: the file is missing, the header is unusable (no id column,
 * duplicate column names), a declared column is absent. Unlike bad rows, this stops the sync.
 */
export class SourceError extends Error {
  /** The source file. */
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`[ferry] [source] ${path}: ${message}`, options);
    this.name = 'SourceError';
    this.path = path;
  }
}
