/**
 * The fake vendor: an in-process contact store with an asynchronous import API.
 *
 * This is the one place with module-level state, on purpose: it stands for the remote service, which
 * outlives any destination instance. Namespaces keep tests (and separate "accounts") apart; every
 * destination instance configured with the same namespace talks to the same vendor, the way two
 * processes talk to one SaaS account. The destination code (index.ts, operations/, mapping.ts) keeps
 * nothing between calls — only this file does, standing in for the vendor's database.
 *
 * Imports progress by the clock: an import is `processing` until its ready time, and the vendor
 * applies it the first time anyone looks at the namespace after that. Reading a status therefore never
 * changes what the status says, which is what keeps `checkStatus` idempotent.
 */
import type {
  ImportSettings,
  VendorImport,
  VendorReject,
  VendorRequest,
  VendorResponse,
  WireRecord,
  WireValue,
} from './types.ts';

/** The vendor's own hard limits, whatever a destination declares. */
export const VENDOR_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const VENDOR_MAX_RECORDS = 100_000;

/** A contact as the vendor holds it. */
export interface MemoryContact {
  readonly email: string;
  readonly fields: Readonly<Record<string, WireValue>>;
  readonly lists: readonly string[];
}

interface StoredImport {
  readonly id: string;
  /** 1-based order of creation in the namespace; fault thresholds compare against it. */
  readonly seq: number;
  readonly createdAt: number;
  readonly readyAt: number;
  readonly total: number;
  /** Bytes of the body as received; kept after the body is dropped, for tests of job sizing. */
  readonly bytes: number;
  readonly settings: ImportSettings;
  /** The NDJSON body until the import is applied, then dropped (a vendor does not keep uploads forever). */
  body: string | undefined;
  state: 'processing' | 'complete' | 'failed';
  rejects: VendorReject[];
  /** Set at creation when a fault says this import will fail as a whole. */
  readonly failure?: { readonly code: string; readonly message: string; readonly retryable: boolean };
  /** Status reads so far; only the failStatusChecks fault looks at it. */
  statusReads: number;
}

/** Faults injected at runtime by tests: each count is consumed by the next matching events. */
interface PendingFaults {
  failStatusChecks: number;
  rateLimitStatusChecks: number;
  rateLimitCalls: number;
  failJobs: number;
  failJobsPermanently: number;
  /** Lower-cased e-mails answered with a transient per-record error the next time they are processed. */
  readonly defer: Set<string>;
}

interface Namespace {
  /** Keyed by lower-cased e-mail: the vendor matches contacts case-insensitively. */
  readonly contacts: Map<string, MemoryContact>;
  readonly imports: Map<string, StoredImport>;
  /** When set, only this API key is accepted; otherwise any non-empty key is. */
  apiKey: string | undefined;
  calls: number;
  importsCreated: number;
  readonly pending: PendingFaults;
}

/*
 * On globalThis under a registered symbol rather than in a module variable: the vendor outlives the
 * plugin's modules, the way a SaaS account outlives a restarted process. A test that loads the
 * plugin again from a fresh module graph (the conformance kit's restart case) still finds its data.
 */
const VENDOR_KEY = Symbol.for('ferry.plugin-memory.vendor');
const vendorGlobal = globalThis as { [VENDOR_KEY]?: Map<string, Namespace> };
vendorGlobal[VENDOR_KEY] ??= new Map<string, Namespace>();
const namespaces: Map<string, Namespace> = vendorGlobal[VENDOR_KEY];

const namespaceOf = (name: string): Namespace => {
  let ns = namespaces.get(name);
  if (ns === undefined) {
    ns = {
      contacts: new Map(),
      imports: new Map(),
      apiKey: undefined,
      calls: 0,
      importsCreated: 0,
      pending: {
        failStatusChecks: 0,
        rateLimitStatusChecks: 0,
        rateLimitCalls: 0,
        failJobs: 0,
        failJobsPermanently: 0,
        defer: new Set(),
      },
    };
    namespaces.set(name, ns);
  }
  return ns;
};

const consume = (pending: PendingFaults, key: Exclude<keyof PendingFaults, 'defer'>): boolean => {
  if (pending[key] <= 0) return false;
  pending[key] -= 1;
  return true;
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const codePoints = (text: string): number => {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
};

/** Per-record checks the vendor runs while processing; they become rejects at completion. */
const validate = (
  ns: Namespace,
  record: WireRecord,
  settings: ImportSettings,
): Omit<VendorReject, 'row'> | undefined => {
  if (settings.validateEmails && !EMAIL.test(record.email)) {
    return { code: 'MEM-EMAIL', message: `invalid e-mail address: ${record.email}`, field: 'email' };
  }
  if (ns.pending.defer.delete(record.email.toLowerCase())) {
    return {
      code: 'MEM-LOCKED',
      message: 'the contact is being merged; try again',
      transient: true,
      retryAfterMs: 50,
    };
  }
  if (record.op === 'upsert') {
    for (const [field, value] of Object.entries(record.fields)) {
      if (typeof value === 'string' && codePoints(value) > settings.maxFieldLength) {
        return {
          code: 'MEM-LENGTH',
          message: `value longer than ${settings.maxFieldLength} characters`,
          field,
        };
      }
    }
  }
  return undefined;
};

const applyRecord = (ns: Namespace, record: WireRecord): void => {
  const key = record.email.toLowerCase();
  if (record.op === 'delete') {
    ns.contacts.delete(key);
    return;
  }
  const existing = ns.contacts.get(key);
  const fields: Record<string, WireValue> = { ...existing?.fields };
  for (const [field, value] of Object.entries(record.fields)) {
    // null clears a field, as the contract says; it is never stored as a value.
    if (value === null) delete fields[field];
    else fields[field] = value;
  }
  const lists = new Set(existing?.lists);
  for (const id of record.lists?.add ?? []) lists.add(id);
  for (const id of record.lists?.remove ?? []) lists.delete(id);
  ns.contacts.set(key, { email: record.email, fields, lists: [...lists].sort() });
};

/** Applies every import whose time has come, in creation order. The vendor's "background worker". */
const advance = (ns: Namespace, now: number): void => {
  for (const job of ns.imports.values()) {
    if (job.state !== 'processing' || job.readyAt > now) continue;
    if (job.failure !== undefined) {
      job.state = 'failed';
      job.body = undefined;
      continue;
    }
    const lines = (job.body ?? '').split('\n').filter((line) => line.length > 0);
    lines.forEach((line, row) => {
      const record = JSON.parse(line) as WireRecord;
      const problem = validate(ns, record, job.settings);
      if (problem === undefined) applyRecord(ns, record);
      else job.rejects.push({ row, ...problem });
    });
    job.state = 'complete';
    job.body = undefined;
  }
};

/**
 * The preamble of every call, in the order a real API gateway applies it: rate limit, then auth.
 * Returns the namespace, or the error response to send.
 */
const enter = (request: VendorRequest): Namespace | VendorResponse<never> => {
  const ns = namespaceOf(request.namespace);
  ns.calls += 1;
  advance(ns, Date.now());
  if (ns.calls <= request.faults.rateLimitCalls || consume(ns.pending, 'rateLimitCalls')) {
    return {
      ok: false,
      status: 429,
      error: 'rate limit exceeded',
      retryAfterMs: request.faults.retryAfterMs,
    };
  }
  if (request.apiKey.length === 0 || (ns.apiKey !== undefined && request.apiKey !== ns.apiKey)) {
    // Like real vendors, never echo the key that was refused.
    return { ok: false, status: 401, error: 'invalid API key' };
  }
  return ns;
};

const isResponse = (value: Namespace | VendorResponse<never>): value is VendorResponse<never> =>
  'ok' in value;

const describeImport = (job: StoredImport, now: number): VendorImport => {
  if (job.state === 'complete')
    return { id: job.id, state: 'complete', total: job.total, rejects: [...job.rejects] };
  if (job.state === 'failed') {
    const error = job.failure ?? { code: 'MEM-FAILED', message: 'import failed', retryable: true };
    return { id: job.id, state: 'failed', total: job.total, error: { ...error } };
  }
  const duration = Math.max(1, job.readyAt - job.createdAt);
  const processed = Math.min(job.total, Math.floor((job.total * (now - job.createdAt)) / duration));
  return {
    id: job.id,
    state: 'processing',
    total: job.total,
    processed,
    etaMs: Math.max(0, job.readyAt - now),
  };
};

/** `GET /me`: who the key belongs to. */
export const vendorWhoAmI = (request: VendorRequest): VendorResponse<{ namespace: string }> => {
  const ns = enter(request);
  if (isResponse(ns)) return ns;
  return { ok: true, status: 200, body: { namespace: request.namespace } };
};

/** `POST /imports`: accepts an NDJSON body and answers at once with the import's id. */
export const vendorCreateImport = (
  request: VendorRequest,
  input: { readonly body: string; readonly settings: ImportSettings },
): VendorResponse<{ id: string }> => {
  const ns = enter(request);
  if (isResponse(ns)) return ns;
  if (Buffer.byteLength(input.body, 'utf8') > VENDOR_MAX_BODY_BYTES) {
    return { ok: false, status: 413, error: `body larger than ${VENDOR_MAX_BODY_BYTES} bytes` };
  }
  const lines = input.body.split('\n').filter((line) => line.length > 0);
  if (lines.length === 0) return { ok: false, status: 400, error: 'empty import' };
  if (lines.length > VENDOR_MAX_RECORDS) {
    return { ok: false, status: 413, error: `more than ${VENDOR_MAX_RECORDS} records` };
  }
  for (const [row, line] of lines.entries()) {
    try {
      const record = JSON.parse(line) as Partial<WireRecord>;
      if (typeof record.email !== 'string' || (record.op !== 'upsert' && record.op !== 'delete'))
        throw new Error();
    } catch {
      // A malformed body is the client's bug: the whole request is refused, as a real API would.
      return { ok: false, status: 400, error: `line ${row + 1} is not a valid record` };
    }
  }
  ns.importsCreated += 1;
  const seq = ns.importsCreated;
  const id = `imp_${seq}_${Math.random().toString(36).slice(2, 10)}`;
  if (seq <= request.faults.forgetJobs) return { ok: true, status: 202, body: { id } };
  const now = Date.now();
  const fails = seq <= request.faults.failJobs || consume(ns.pending, 'failJobs');
  const refused = !fails && consume(ns.pending, 'failJobsPermanently');
  ns.imports.set(id, {
    id,
    seq,
    createdAt: now,
    readyAt: now + input.settings.perJobMs + input.settings.perRecordMs * lines.length,
    total: lines.length,
    bytes: Buffer.byteLength(input.body, 'utf8'),
    settings: input.settings,
    body: input.body,
    state: 'processing',
    rejects: [],
    ...(fails
      ? {
          failure: {
            code: 'MEM-UNAVAILABLE',
            message: 'the import worker crashed; try again',
            retryable: true,
          },
        }
      : refused
        ? {
            failure: {
              code: 'MEM-REFUSED',
              message: 'the import was refused: account suspended',
              retryable: false,
            },
          }
        : {}),
    statusReads: 0,
  });
  return { ok: true, status: 202, body: { id } };
};

/** `GET /imports/:id`. Reading never changes the import (only the injected 503s are counted). */
export const vendorGetImport = (request: VendorRequest, id: string): VendorResponse<VendorImport> => {
  const ns = enter(request);
  if (isResponse(ns)) return ns;
  const job = ns.imports.get(id);
  if (job !== undefined) job.statusReads += 1;
  if (consume(ns.pending, 'rateLimitStatusChecks')) {
    return {
      ok: false,
      status: 429,
      error: 'rate limit exceeded',
      retryAfterMs: request.faults.retryAfterMs,
    };
  }
  if (
    (job !== undefined && job.statusReads <= request.faults.failStatusChecks) ||
    consume(ns.pending, 'failStatusChecks')
  ) {
    return { ok: false, status: 503, error: 'service temporarily unavailable' };
  }
  if (job === undefined) return { ok: false, status: 404, error: `no import ${id}` };
  return { ok: true, status: 200, body: describeImport(job, Date.now()) };
};

/** `DELETE /imports/:id`: drops the import's staged body and results; contacts stay. */
export const vendorDeleteImport = (request: VendorRequest, id: string): VendorResponse<undefined> => {
  const ns = enter(request);
  if (isResponse(ns)) return ns;
  if (!ns.imports.delete(id)) return { ok: false, status: 404, error: `no import ${id}` };
  return { ok: true, status: 204, body: undefined };
};

// --- Inspection and control, for tests and demos (the sandbox's admin endpoints, in-process) ---

/** A snapshot of one import, for tests. */
export interface MemoryImportSnapshot {
  readonly id: string;
  readonly state: 'processing' | 'complete' | 'failed';
  readonly total: number;
  readonly rejects: readonly VendorReject[];
}

/** A copy of everything the vendor holds in `namespace`, after processing whatever is due. */
export interface MemoryStoreSnapshot {
  readonly contacts: readonly MemoryContact[];
  readonly imports: readonly MemoryImportSnapshot[];
  /** Calls received, including refused ones. */
  readonly calls: number;
}

export const readMemoryStore = (namespace: string): MemoryStoreSnapshot => {
  const ns = namespaceOf(namespace);
  advance(ns, Date.now());
  return structuredClone({
    contacts: [...ns.contacts.values()],
    imports: [...ns.imports.values()].map(({ id, state, total, rejects }) => ({ id, state, total, rejects })),
    calls: ns.calls,
  });
};

/**
 * The contacts held for `identities` (e-mails, matched case-insensitively), keyed by the identity as
 * given; `undefined` when not held. Shaped for the conformance harness's `read`.
 */
export const readMemoryProfiles = (
  namespace: string,
  identities: readonly string[],
): Record<string, { fields: Record<string, WireValue>; lists: string[] } | undefined> => {
  const ns = namespaceOf(namespace);
  advance(ns, Date.now());
  const held: Record<string, { fields: Record<string, WireValue>; lists: string[] } | undefined> = {};
  for (const identity of identities) {
    const contact = ns.contacts.get(identity.toLowerCase());
    held[identity] =
      contact === undefined ? undefined : { fields: { ...contact.fields }, lists: [...contact.lists] };
  }
  return held;
};

/**
 * Forgets `namespace` (or every namespace) — contacts, imports, counters, faults. With `apiKey`, the
 * fresh namespace accepts only that key, so tests can exercise auth failures.
 */
export const resetMemoryStore = (namespace?: string, init: { readonly apiKey?: string } = {}): void => {
  if (namespace === undefined) {
    namespaces.clear();
    return;
  }
  namespaces.delete(namespace);
  if (init.apiKey !== undefined) namespaceOf(namespace).apiKey = init.apiKey;
};

/** Makes the vendor misbehave for its next events in `namespace`; counts add up. */
export const injectMemoryFaults = (
  namespace: string,
  faults: {
    readonly failStatusChecks?: number;
    /** The next N status reads answer 429. */
    readonly rateLimitStatusChecks?: number;
    readonly rateLimitCalls?: number;
    /** The next N imports fail as a whole, retryably. */
    readonly failJobs?: number;
    /** The next N imports fail as a whole, for good. */
    readonly failJobsPermanently?: number;
    /** These e-mails get a transient per-record error the next time they are processed. */
    readonly deferEmails?: readonly string[];
  },
): void => {
  const { pending } = namespaceOf(namespace);
  pending.failStatusChecks += faults.failStatusChecks ?? 0;
  pending.rateLimitStatusChecks += faults.rateLimitStatusChecks ?? 0;
  pending.rateLimitCalls += faults.rateLimitCalls ?? 0;
  pending.failJobs += faults.failJobs ?? 0;
  pending.failJobsPermanently += faults.failJobsPermanently ?? 0;
  for (const email of faults.deferEmails ?? []) pending.defer.add(email.toLowerCase());
};

/** From now on the namespace accepts no API key the plugin has (401), as after a key was revoked. */
export const revokeMemoryKeys = (namespace: string): void => {
  namespaceOf(namespace).apiKey = `revoked-${Math.random().toString(36).slice(2)}`;
};

/** Bytes of the body the vendor received for import `id`, or `undefined` when it does not know it. */
export const memoryImportBytes = (namespace: string, id: string): number | undefined =>
  namespaceOf(namespace).imports.get(id)?.bytes;

/** Makes the vendor lose an import, as after a purge: reading it answers 404 from now on. */
export const forgetMemoryImport = (namespace: string, id: string): void => {
  namespaceOf(namespace).imports.delete(id);
};
