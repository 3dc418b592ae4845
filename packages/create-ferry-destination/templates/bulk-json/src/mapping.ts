import type { FieldValue, ProfileBatch, ProfileChange, ProfileOutcome, RejectedOutcome } from '@ferry/core';
import type { WireRecord, WireValue } from './types.ts';

/**
 * From ProfileChange to the vendor's NDJSON records, and sizing. `measure` is the byte length of the
 * encoded line (UTF-8, newline included), so the runner's packing equals the body's exact size.
 */

/** The vendor's longest text value, in characters (Unicode code points). */
export const MAX_FIELD_LENGTH = 255;

const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value);

export const toWireRecord = (change: ProfileChange): WireRecord => {
  if (change.kind === 'delete') return { op: 'delete', email: change.identity };
  const fields: Record<string, WireValue> = {};
  for (const [name, value] of Object.entries(change.fields)) fields[name] = toWireValue(value);
  return {
    op: 'upsert',
    email: change.identity,
    fields,
    ...(change.lists === undefined ? {} : { lists: { add: [...change.lists.add], remove: [...change.lists.remove] } }),
  };
};

export const encodeLine = (record: WireRecord): string => `${JSON.stringify(record)}\n`;

/** Encoded size in bytes (not string length: é is 2 bytes, 😀 is 4). */
export const measureChange = (change: ProfileChange): number =>
  Buffer.byteLength(encodeLine(toWireRecord(change)), 'utf8');

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
  if (change.identity.trim().length === 0) return reject(change, 'missing_identity', 'the profile has no e-mail');
  if (change.kind === 'delete') return undefined;
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
 * The NDJSON body and the profiles rejected at submission, in one pass over the (streamed) batch.
 * Line order is members order: the vendor's row numbers index `members` in checkStatus.
 */
export const encodeBatch = async (
  batch: ProfileBatch,
): Promise<{ readonly body: string; readonly records: number; readonly rejected: ProfileOutcome[] }> => {
  const lines: string[] = [];
  const rejected: ProfileOutcome[] = [];
  for await (const change of batch) {
    const problem = validateChange(change);
    if (problem === undefined) lines.push(encodeLine(toWireRecord(change)));
    else rejected.push(problem);
  }
  return { body: lines.join(''), records: lines.length, rejected };
};
