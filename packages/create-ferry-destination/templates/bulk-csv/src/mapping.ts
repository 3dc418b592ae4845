import {
  encodeCsvRow,
  type FieldValue,
  PermanentError,
  type ProfileBatch,
  type ProfileChange,
  type ProfileOutcome,
  type RejectedOutcome,
  type UpsertChange,
} from '@ferry/core';

/**
 * From ProfileChange to the vendor's CSV rows, and sizing. A CSV import has one header row naming
 * the columns (`email` first, then every field the batch's profiles carry) and one row per profile.
 * An empty cell clears the field at the vendor: `null` is written as an empty cell, and so is the
 * empty string (CSV cannot tell them apart). Numbers, booleans and dates are written as text the
 * vendor parses by the field's type (dates in ISO 8601).
 */

/** The vendor's longest text value, in characters (Unicode code points). */
export const MAX_FIELD_LENGTH = 255;

/**
 * Bytes every job reserves for its header row (a header is ~100 bytes); the rest also absorbs the
 * empty cells of columns some profile of the batch does not carry, which `measure` cannot see.
 */
export const HEADER_BUDGET_BYTES = 1024;

const toCell = (value: FieldValue): string =>
  value === null ? '' : value instanceof Date ? value.toISOString() : String(value);

const ownColumns = (change: UpsertChange): string[] => Object.keys(change.fields).filter((name) => name !== 'email');

const rowOf = (change: UpsertChange, columns: readonly string[]): string =>
  encodeCsvRow([change.identity, ...columns.map((name) => toCell(change.fields[name] ?? null))]);

/** Encoded size in bytes of the profile's row (UTF-8: é is 2 bytes, 😀 is 4), line break included. */
export const measureChange = (change: ProfileChange): number =>
  change.kind === 'delete' ? 0 : Buffer.byteLength(rowOf(change, ownColumns(change)), 'utf8');

const codePoints = (text: string): number => [...text].length;

const reject = (change: ProfileChange, code: string, message: string, field?: string): RejectedOutcome => ({
  profileId: change.profileId,
  status: 'rejected',
  code,
  message,
  ...(field === undefined ? {} : { field }),
});

/** What can be known before uploading; e-mail syntax is left to the vendor (rejected at completion). */
export const validateChange = (change: ProfileChange): RejectedOutcome | undefined => {
  if (change.kind === 'delete') return reject(change, 'unsupported', 'CSV imports cannot delete contacts');
  if (change.identity.trim().length === 0) return reject(change, 'missing_identity', 'the profile has no e-mail');
  for (const [field, value] of Object.entries(change.fields)) {
    if (typeof value === 'number' && !Number.isFinite(value))
      return reject(change, 'invalid_value', `${field} is not a finite number`, field);
    if (value instanceof Date && Number.isNaN(value.getTime()))
      return reject(change, 'invalid_value', `${field} is an invalid date`, field);
    if (typeof value === 'string' && codePoints(value) > MAX_FIELD_LENGTH)
      return reject(change, 'oversized', `${field} is ${codePoints(value)} characters long; the limit is ${MAX_FIELD_LENGTH}`, field);
  }
  return undefined;
};

/**
 * The CSV body and the profiles rejected at submission. Two passes over the (streamed, re-readable)
 * batch: the first finds the columns, the second writes the rows. Row order is members order: the
 * vendor's row numbers index `members` in checkStatus.
 */
export const encodeBatch = async (
  destination: string,
  batch: ProfileBatch,
): Promise<{ readonly body: string; readonly records: number; readonly rejected: ProfileOutcome[] }> => {
  const columns = new Set<string>();
  const rejected: ProfileOutcome[] = [];
  for await (const change of batch) {
    const problem = validateChange(change);
    if (problem !== undefined) rejected.push(problem);
    else if (change.kind === 'upsert') for (const name of ownColumns(change)) columns.add(name);
  }
  const header = encodeCsvRow(['email', ...columns]);
  if (Buffer.byteLength(header, 'utf8') > HEADER_BUDGET_BYTES) {
    throw new PermanentError(destination, `the CSV header (${columns.size + 1} columns) exceeds ${HEADER_BUDGET_BYTES} bytes`);
  }
  const rejectedIds = new Set(rejected.map((outcome) => outcome.profileId));
  const rows: string[] = [];
  for await (const change of batch) {
    if (change.kind === 'upsert' && !rejectedIds.has(change.profileId)) rows.push(rowOf(change, [...columns]));
  }
  return { body: rows.length === 0 ? '' : header + rows.join(''), records: rows.length, rejected };
};
