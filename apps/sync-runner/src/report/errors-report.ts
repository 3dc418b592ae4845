import { type CsvRow, writeCsv } from '@ferry/core';
import type { BadRow, ProfileIssue } from '../store/state-store.ts';
import { formatTable } from './table.ts';

/*
 * `ferry errors`: per-profile problems (rejected, waiting for a retry) and the bad rows of a run.
 * The CSV is meant to be opened in a spreadsheet, and cells hold text from vendors and from the
 * source file, so it is written with core's formula protection (`=cmd|...` becomes text).
 */

export const ERRORS_CSV_HEADERS = [
  'kind',
  'destination',
  'profile_id',
  'identity',
  'row',
  'code',
  'field',
  'message',
  'attempts',
  'updated_at',
] as const;

export type ErrorEntry =
  | { readonly kind: 'profile'; readonly issue: ProfileIssue }
  | { readonly kind: 'bad_row'; readonly runId: string; readonly badRow: BadRow };

const toCsvRow = (entry: ErrorEntry): CsvRow => {
  if (entry.kind === 'bad_row') {
    const { badRow } = entry;
    return {
      kind: 'bad_row',
      profile_id: badRow.profileId,
      row: String(badRow.row),
      code: 'bad_row',
      message: badRow.reason,
    };
  }
  const { issue } = entry;
  return {
    kind: issue.status,
    destination: issue.destination,
    profile_id: issue.profileId,
    identity: issue.identity,
    code: issue.code,
    field: issue.field,
    message: issue.message,
    attempts: String(issue.attempts),
    updated_at: new Date(issue.updatedAt).toISOString(),
  };
};

/** Streams the entries as CSV (UTF-8 with a byte order mark, so Excel reads it as UTF-8). */
export async function* errorsCsv(
  entries: AsyncIterable<ErrorEntry>,
): AsyncGenerator<Buffer, void, undefined> {
  async function* rows(): AsyncGenerator<CsvRow> {
    for await (const entry of entries) yield toCsvRow(entry);
  }
  yield* writeCsv(rows(), { headers: ERRORS_CSV_HEADERS, formulaProtection: true, bom: true });
}

export const formatProfileIssues = (issues: readonly ProfileIssue[]): string =>
  formatTable(
    [
      { header: 'destination', value: (i: ProfileIssue) => i.destination },
      { header: 'profile', value: (i: ProfileIssue) => i.profileId, maxWidth: 40 },
      { header: 'identity', value: (i: ProfileIssue) => i.identity, maxWidth: 40 },
      { header: 'status', value: (i: ProfileIssue) => i.status },
      { header: 'code', value: (i: ProfileIssue) => i.code, maxWidth: 24 },
      { header: 'field', value: (i: ProfileIssue) => i.field, maxWidth: 24 },
      { header: 'message', value: (i: ProfileIssue) => i.message, maxWidth: 90 },
    ],
    issues,
  );

export const formatBadRows = (rows: readonly BadRow[]): string =>
  formatTable(
    [
      { header: 'row', value: (r: BadRow) => r.row },
      { header: 'profile', value: (r: BadRow) => r.profileId, maxWidth: 40 },
      { header: 'reason', value: (r: BadRow) => r.reason, maxWidth: 110 },
    ],
    rows,
  );
