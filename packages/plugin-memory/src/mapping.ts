import type { FieldValue, ProfileBatch, ProfileChange, RejectedOutcome } from '@ferry/core';
import type { MemoryOptions } from './options.ts';
import type { WireRecord, WireValue } from './types.ts';

/**
 * From ProfileChange to the vendor's wire format, and back-of-the-envelope sizing.
 *
 * The import body is NDJSON: one JSON record per line. `measure` is the byte length of that line, so
 * the runner's packing (jobOverheadBytes 0 + Σ measure) equals the body's exact size — the runner can
 * fill a job to `maxBytesPerJob` and the body never exceeds it.
 */

const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value);

/** The record for a change, without validation: what `measure` sizes and the vendor receives. */
export const toWireRecord = (change: ProfileChange): WireRecord => {
  if (change.kind === 'delete') return { op: 'delete', email: change.identity };
  const fields: Record<string, WireValue> = {};
  for (const [name, value] of Object.entries(change.fields)) fields[name] = toWireValue(value);
  return {
    op: 'upsert',
    email: change.identity,
    fields,
    ...(change.lists === undefined ? {} : { lists: { add: change.lists.add, remove: change.lists.remove } }),
  };
};

/** One line of the import body, newline included. */
export const encodeLine = (record: WireRecord): string => `${JSON.stringify(record)}\n`;

/** Encoded size in bytes of one change as it will be sent: the runner packs with it. */
export const measureChange = (change: ProfileChange): number =>
  Buffer.byteLength(encodeLine(toWireRecord(change)), 'utf8');

const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

const reject = (change: ProfileChange, code: string, message: string, field?: string): RejectedOutcome => ({
  profileId: change.profileId,
  status: 'rejected',
  code,
  message,
  ...(field === undefined ? {} : { field }),
});

/**
 * Checks what the plugin can know before uploading, so those profiles are rejected at submission and
 * never cost a job: a missing identity, values the vendor cannot store, values over the length limit.
 * E-mail syntax is left to the vendor on purpose — it is what produces rejections at completion,
 * which every plugin must handle, and this reference plugin demonstrates both stages.
 */
export const validateChange = (
  change: ProfileChange,
  options: MemoryOptions,
): RejectedOutcome | undefined => {
  if (change.identity.trim().length === 0)
    return reject(change, 'missing_identity', 'the profile has no e-mail');
  if (change.kind === 'delete') return undefined;
  for (const [field, value] of Object.entries(change.fields)) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return reject(change, 'invalid_value', `${field} is not a finite number`, field);
    }
    if (value instanceof Date && Number.isNaN(value.getTime())) {
      return reject(change, 'invalid_value', `${field} is an invalid date`, field);
    }
    if (typeof value === 'string' && codePoints(value) > options.validation.maxFieldLength) {
      return reject(
        change,
        'oversized',
        `${field} is ${codePoints(value)} characters long; the limit is ${options.validation.maxFieldLength}`,
        field,
      );
    }
  }
  return undefined;
};

/**
 * Splits a batch into the NDJSON body to upload and the profiles rejected at submission. The body's
 * line order is the members' order: the vendor's row numbers index `members` in checkStatus. One
 * pass with `for await`: the batch is streamed (`ProfileBatch`), and only encoded lines are kept.
 */
export const encodeBatch = async (
  batch: ProfileBatch,
  options: MemoryOptions,
): Promise<{ readonly body: string; readonly records: number; readonly rejected: RejectedOutcome[] }> => {
  const lines: string[] = [];
  const rejected: RejectedOutcome[] = [];
  for await (const change of batch) {
    const problem = validateChange(change, options);
    if (problem === undefined) lines.push(encodeLine(toWireRecord(change)));
    else rejected.push(problem);
  }
  return { body: lines.join(''), records: lines.length, rejected };
};
