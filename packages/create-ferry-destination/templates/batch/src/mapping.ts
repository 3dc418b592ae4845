import type { FieldValue, JobMember, ProfileBatch, ProfileChange, ProfileOutcome, RejectedOutcome } from '@ferry/core';
import type { WireRecord, WireValue } from './types.ts';

/**
 * From ProfileChange to the vendor's batch records, and sizing. The body is
 * `{"records":[r1,r2,...]}`: `measure` is a record's encoded bytes plus one for its comma, and the
 * envelope (minus the one comma the last record does not have) is the job's overhead, so the
 * runner's packing equals the body's exact size.
 */

/** The vendor's longest text value, in characters (Unicode code points). */
export const MAX_FIELD_LENGTH = 255;

/** `{"records":[` + `]}` = 14 bytes, less the comma the last record does not need. */
export const ENVELOPE_BYTES = 13;

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

/** Encoded size in bytes (UTF-8: é is 2 bytes, 😀 is 4), plus the separating comma. */
export const measureChange = (change: ProfileChange): number =>
  Buffer.byteLength(JSON.stringify(toWireRecord(change)), 'utf8') + 1;

export const encodeBody = (records: readonly WireRecord[]): string => JSON.stringify({ records });

const codePoints = (text: string): number => [...text].length;

const reject = (change: ProfileChange, code: string, message: string, field?: string): RejectedOutcome => ({
  profileId: change.profileId,
  status: 'rejected',
  code,
  message,
  ...(field === undefined ? {} : { field }),
});

/** What can be known before sending; e-mail syntax is left to the vendor (it answers per record). */
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

/** The records to send, who they are (by index), and the profiles rejected before sending. */
export const encodeBatch = async (
  batch: ProfileBatch,
): Promise<{ readonly records: WireRecord[]; readonly members: JobMember[]; readonly rejected: ProfileOutcome[] }> => {
  const records: WireRecord[] = [];
  const members: JobMember[] = [];
  const rejected: ProfileOutcome[] = [];
  for await (const change of batch) {
    const problem = validateChange(change);
    if (problem !== undefined) {
      rejected.push(problem);
      continue;
    }
    records.push(toWireRecord(change));
    members.push({ profileId: change.profileId, identity: change.identity });
  }
  return { records, members, rejected };
};
