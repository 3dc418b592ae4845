import { parseCsv as readCsv } from '../csv.ts';

/*
 * The fake bulk vendor's data model: its typed field catalogue, how it reads upload bodies (NDJSON,
 * CSV, batch JSON) into records, and how it types a value for a field — where it catches a plugin
 * that sends "42" for a number or the text "null" for a cleared field.
 */

export type FakeFieldType = 'text' | 'number' | 'boolean' | 'date';

/** The fields every account has; `email` is the identity. */
export const FAKE_VENDOR_FIELDS: Readonly<Record<string, FakeFieldType>> = {
  email: 'text',
  firstName: 'text',
  lastName: 'text',
  city: 'text',
  notes: 'text',
  score: 'number',
  vip: 'boolean',
  signedUpAt: 'date',
};

/** Lists every account has. */
export const FAKE_VENDOR_LISTS = ['newsletter', 'customers'] as const;

export type FakeValue = string | number | boolean;

export interface FakeContact {
  readonly email: string;
  readonly fields: Readonly<Record<string, FakeValue>>;
  readonly lists: readonly string[];
}

export interface FakeReject {
  /** 0-based record index in the upload (CSV: data rows, header excluded). */
  readonly row: number;
  readonly code: string;
  readonly message: string;
  readonly field?: string;
  /** Sending the record again later may work. */
  readonly transient?: boolean;
  readonly retryAfterMs?: number;
}

export interface FakeRecord {
  readonly op: 'upsert' | 'delete';
  readonly email: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly lists?: { readonly add: readonly string[]; readonly remove: readonly string[] };
}

export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

export class HttpProblem extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

export const parseNdjson = (text: string): { records: (FakeRecord | undefined)[] } => ({
  records: text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        const value = JSON.parse(line) as Partial<FakeRecord>;
        return typeof value.email === 'string'
          ? {
              op: value.op ?? 'upsert',
              email: value.email,
              fields: value.fields ?? {},
              ...(value.lists ? { lists: value.lists } : {}),
            }
          : undefined;
      } catch {
        return undefined;
      }
    }),
});

/** CSV imports: a header row naming fields (one of them `email`), an empty cell clears the field. */
export const parseCsv = async (text: string): Promise<{ records: (FakeRecord | undefined)[] }> => {
  const records: (FakeRecord | undefined)[] = [];
  try {
    for await (const item of readCsv(text)) {
      if (item.kind === 'invalid') {
        records.push(undefined);
        continue;
      }
      if (!('email' in item.record)) throw new HttpProblem(400, 'CSV header must name an email column');
      const fields: Record<string, unknown> = {};
      for (const [name, cell] of Object.entries(item.record))
        fields[name] = cell === '' ? null : { csv: cell };
      records.push({ op: 'upsert', email: item.record.email ?? '', fields });
    }
  } catch (error) {
    if (error instanceof HttpProblem) throw error;
    throw new HttpProblem(400, `unreadable CSV: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { records };
};

/** A value as the catalogue types it; a problem message when it does not fit. */
export const coerce = (
  type: FakeFieldType,
  raw: unknown,
): { value: FakeValue | null } | { problem: string } => {
  if (raw === null) return { value: null };
  const csv =
    typeof raw === 'object' && raw !== null && 'csv' in raw
      ? String((raw as { csv: unknown }).csv)
      : undefined;
  switch (type) {
    case 'text':
      if (csv !== undefined) return { value: csv };
      return typeof raw === 'string' ? { value: raw } : { problem: `expected text, got ${typeof raw}` };
    case 'number': {
      if (csv !== undefined)
        return Number.isFinite(Number(csv))
          ? { value: Number(csv) }
          : { problem: `"${csv}" is not a number` };
      return typeof raw === 'number' && Number.isFinite(raw)
        ? { value: raw }
        : { problem: `expected a number, got ${JSON.stringify(raw)}` };
    }
    case 'boolean':
      if (csv !== undefined)
        return csv === 'true' || csv === 'false'
          ? { value: csv === 'true' }
          : { problem: `"${csv}" is not true or false` };
      return typeof raw === 'boolean'
        ? { value: raw }
        : { problem: `expected a boolean, got ${JSON.stringify(raw)}` };
    case 'date': {
      const text = csv ?? raw;
      if (typeof text !== 'string' || !ISO_DATE.test(text) || Number.isNaN(Date.parse(text)))
        return { problem: `expected an ISO 8601 date, got ${JSON.stringify(text)}` };
      return { value: new Date(text).toISOString() };
    }
  }
};
