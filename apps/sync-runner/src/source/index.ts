import type { FileSourceConfig } from '../config/schema.ts';
import { readCsv, readCsvHeader } from './csv.ts';
import { readJsonl } from './jsonl.ts';
import type { ReadSourceOptions, SourceItem } from './types.ts';

export { readCsv, readCsvHeader } from './csv.ts';
export type { SourceEncoding } from './decode.ts';
export { readJsonl } from './jsonl.ts';
export {
  DEFAULT_MAX_RECORD_LENGTH,
  type ReadSourceOptions,
  type SourceBadItem,
  SourceError,
  type SourceItem,
  type SourceRecord,
  type SourceRecordItem,
  type SourceValue,
} from './types.ts';

/**
 * Streams the profiles of a source, in file order, as `record` items and `bad` items, in arrays: one
 * per 64 KiB chunk read, never empty (a few hundred profiles; one `await` per item would cost more
 * than reading it). Memory stays flat whatever the file size: the file is read as fast as arrays are
 * taken, a chunk at a time.
 *
 * - `row`/`line` are 1-based and exact (see `SourceRecordItem`); blank lines are skipped silently and
 *   still counted.
 * - A bad row (wrong column count, broken quoting, invalid UTF-8, invalid JSON, a line that is not an
 *   object, missing id, a value that does not fit its declared type) becomes a `bad` item with a
 *   reason, and reading goes on.
 * - Problems with the source as a whole (missing file, no header, id column not in the header,
 *   duplicate column names) throw a `SourceError`.
 * - Duplicate ids are **not** detected here: that needs memory proportional to the number of
 *   profiles, so the engine does it through the state store.
 * - Values do not share memory with the chunk they were read in, so keeping a few profiles does not
 *   keep whole chunks alive.
 * - Stopping early (`break`) closes the file. An aborted `signal` ends the iteration with an error.
 */
export const readSource = (
  source: FileSourceConfig,
  options: ReadSourceOptions = {},
): AsyncIterable<SourceItem[]> =>
  source.type === 'csv' ? readCsv(source, options) : readJsonl(source, options);

/**
 * The columns a source has, when it declares them: a CSV file's header names; `undefined` for
 * JSONL, where every line may have different properties. Throws a `SourceError` like `readSource`.
 */
export const sourceColumns = async (
  source: FileSourceConfig,
  options: ReadSourceOptions = {},
): Promise<readonly string[] | undefined> =>
  source.type === 'csv' ? readCsvHeader(source, options) : undefined;
