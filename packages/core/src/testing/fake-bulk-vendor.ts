import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  codePoints,
  coerce,
  EMAIL,
  FAKE_VENDOR_FIELDS,
  FAKE_VENDOR_LISTS,
  type FakeContact,
  type FakeRecord,
  type FakeReject,
  type FakeValue,
  HttpProblem,
  parseCsv,
  parseNdjson,
} from './fake-vendor-records.ts';

export {
  FAKE_VENDOR_FIELDS,
  FAKE_VENDOR_LISTS,
  type FakeContact,
  type FakeFieldType,
  type FakeReject,
  type FakeValue,
} from './fake-vendor-records.ts';

/*
 * A small loopback fake of an asynchronous bulk vendor, for plugin authors' tests (the scaffolded
 * plugins run the conformance suite against it) and for trying a plugin end to end before the real
 * vendor's sandbox is at hand. Real HTTP on 127.0.0.1, no dependencies, one server for many
 * isolated accounts (the path's first segment), three API shapes:
 *
 *   POST   /v1/:account/imports        NDJSON (application/x-ndjson) or CSV (text/csv) body → 202 { id }
 *   GET    /v1/:account/imports/:id    { id, state: pending|completed|failed, total, processed, rejects, error }
 *   DELETE /v1/:account/imports/:id    204 (staged data dropped; contacts stay)
 *   POST   /v1/:account/contacts/batch { records: [...] } → 200 { batchId, results: [...] }, applied at once
 *   GET    /v1/:account/batches/:id    { id, state: completed, total }
 *   GET    /v1/:account/me             { account }        GET /v1/:account/fields, /v1/:account/lists
 *
 * Auth is `Authorization: Bearer <key>` (any key of 8+ characters, unless the account's key was
 * revoked). Imports complete `processingMs` after submission, applied in order the first time anyone
 * looks after that, so reading a status never changes it. Records are validated against a typed
 * field catalogue (text, number, boolean, date), so a plugin that sends `"42"` for a number or the
 * text `"null"` for a cleared field is caught; e-mail syntax and value length are checked at
 * completion (partial rejects). Faults are injected per account and consumed by the next events.
 */

interface FakeJob {
  readonly id: string;
  readonly kind: 'import' | 'batch';
  readonly createdAt: number;
  readonly readyAt: number;
  readonly bytes: number;
  readonly total: number;
  records: FakeRecord[] | undefined;
  /** Rows that could not be parsed at all; rejected at completion. */
  readonly unreadable: readonly FakeReject[];
  state: 'pending' | 'completed' | 'failed';
  rejects: FakeReject[];
  readonly failure?: { readonly code: string; readonly message: string; readonly retryable: boolean };
}

interface Account {
  readonly contacts: Map<string, FakeContact>;
  readonly jobs: Map<string, FakeJob>;
  revoked: boolean;
  calls: number;
  readonly faults: {
    rateLimits: number;
    statusErrors: number;
    statusRateLimits: number;
    failJobs: { readonly retryable: boolean }[];
    readonly defer: Set<string>;
  };
}

export interface FakeBulkVendorOptions {
  /** How long an import takes. Default 40 ms. */
  readonly processingMs?: number;
  /** Longest text value, in characters (code points). Default 255. */
  readonly maxFieldLength?: number;
  /** Port on 127.0.0.1; default: any free one. */
  readonly port?: number;
}

export interface FakeBulkVendor {
  /** `http://127.0.0.1:<port>`: plugins append `/v1/<account>/...`. */
  readonly url: string;
  /** What the account holds for each identity (e-mail, case-insensitive); `undefined` = not held. */
  readonly contacts: (
    account: string,
    identities: readonly string[],
  ) => Record<string, { fields: Record<string, FakeValue>; lists: string[] } | undefined>;
  /** Bytes of the body the vendor received for the job whose id appears in `handle` (or is `handle`). */
  readonly jobBytes: (account: string, handle: unknown) => number | undefined;
  /** Requests the account received so far, refused ones included. */
  readonly calls: (account: string) => number;
  /** The next `count` requests of the account answer 429 (Retry-After: 0). */
  readonly rateLimitNext: (account: string, count: number) => void;
  /** The next `count` status reads (GET imports/:id, batches/:id) answer 503. */
  readonly failNextStatusChecks: (account: string, count: number) => void;
  /** The next `count` status reads answer 429. */
  readonly rateLimitNextStatusChecks: (account: string, count: number) => void;
  /** The next job created fails as a whole, retryably or for good. */
  readonly failNextJob: (account: string, failure: { readonly retryable: boolean }) => void;
  /** The next time these identities are processed, they get a transient per-record reject. */
  readonly deferProfiles: (account: string, identities: readonly string[]) => void;
  /** Forgets the job whose id appears in `handle`, as after a purge (status reads answer 404). */
  readonly forgetJob: (account: string, handle: unknown) => void;
  /** Refuses the account's API key from now on (401). */
  readonly revokeKey: (account: string) => void;
  /** Forgets everything about the account. */
  readonly reset: (account: string) => void;
  readonly close: () => Promise<void>;
}

const readBody = async (request: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

export const startFakeBulkVendor = async (options: FakeBulkVendorOptions = {}): Promise<FakeBulkVendor> => {
  const processingMs = options.processingMs ?? 40;
  const maxFieldLength = options.maxFieldLength ?? 255;
  const accounts = new Map<string, Account>();
  let sequence = 0;

  const accountOf = (name: string): Account => {
    let account = accounts.get(name);
    if (account === undefined) {
      account = {
        contacts: new Map(),
        jobs: new Map(),
        revoked: false,
        calls: 0,
        faults: { rateLimits: 0, statusErrors: 0, statusRateLimits: 0, failJobs: [], defer: new Set() },
      };
      accounts.set(name, account);
    }
    return account;
  };

  const validate = (
    account: Account,
    record: FakeRecord,
  ): Omit<FakeReject, 'row'> | { fields: Record<string, FakeValue | null> } => {
    if (!EMAIL.test(record.email))
      return { code: 'INVALID_EMAIL', message: `invalid e-mail address: ${record.email}`, field: 'email' };
    if (account.faults.defer.delete(record.email.toLowerCase())) {
      return {
        code: 'RECORD_LOCKED',
        message: 'the contact is being merged; send it again later',
        transient: true,
        retryAfterMs: 50,
      };
    }
    const fields: Record<string, FakeValue | null> = {};
    if (record.op === 'delete') return { fields };
    for (const [name, raw] of Object.entries(record.fields)) {
      const type = FAKE_VENDOR_FIELDS[name];
      if (type === undefined)
        return { code: 'UNKNOWN_FIELD', message: `no field named ${name}`, field: name };
      const coerced = coerce(type, raw);
      if ('problem' in coerced)
        return { code: 'INVALID_VALUE', message: `${name}: ${coerced.problem}`, field: name };
      if (typeof coerced.value === 'string' && codePoints(coerced.value) > maxFieldLength) {
        return {
          code: 'VALUE_TOO_LONG',
          message: `${name} is longer than ${maxFieldLength} characters`,
          field: name,
        };
      }
      fields[name] = coerced.value;
    }
    for (const id of [...(record.lists?.add ?? []), ...(record.lists?.remove ?? [])]) {
      if (!(FAKE_VENDOR_LISTS as readonly string[]).includes(id))
        return { code: 'UNKNOWN_LIST', message: `no list ${id}` };
    }
    return { fields };
  };

  const apply = (account: Account, record: FakeRecord, fields: Record<string, FakeValue | null>): void => {
    const key = record.email.toLowerCase();
    if (record.op === 'delete') {
      account.contacts.delete(key);
      return;
    }
    const existing = account.contacts.get(key);
    const merged: Record<string, FakeValue> = { ...existing?.fields };
    for (const [name, value] of Object.entries(fields)) {
      if (value === null) delete merged[name];
      else merged[name] = value;
    }
    merged.email = record.email;
    const lists = new Set(existing?.lists);
    for (const id of record.lists?.add ?? []) lists.add(id);
    for (const id of record.lists?.remove ?? []) lists.delete(id);
    account.contacts.set(key, { email: record.email, fields: merged, lists: [...lists].sort() });
  };

  const processJob = (account: Account, job: FakeJob): void => {
    if (job.failure !== undefined) {
      job.state = 'failed';
      job.records = undefined;
      return;
    }
    const rejects: FakeReject[] = [...job.unreadable];
    (job.records ?? []).forEach((record, row) => {
      if (job.unreadable.some((reject) => reject.row === row)) return;
      const result = validate(account, record);
      if ('fields' in result) apply(account, record, result.fields);
      else rejects.push({ row, ...result });
    });
    job.rejects = rejects.sort((a, b) => a.row - b.row);
    job.state = 'completed';
    job.records = undefined;
  };

  /** The vendor's background worker: applies every import whose time has come, in creation order. */
  const advance = (account: Account): void => {
    const now = Date.now();
    for (const job of account.jobs.values())
      if (job.state === 'pending' && job.readyAt <= now) processJob(account, job);
  };

  const createJob = (
    account: Account,
    kind: FakeJob['kind'],
    bytes: number,
    parsed: (FakeRecord | undefined)[],
  ): FakeJob => {
    sequence += 1;
    const id = `${kind === 'import' ? 'imp' : 'bat'}_${sequence}_${Math.random().toString(36).slice(2, 8)}`;
    const unreadable: FakeReject[] = [];
    const records = parsed.map((record, row) => {
      if (record !== undefined) return record;
      unreadable.push({ row, code: 'UNREADABLE', message: 'the record could not be parsed' });
      return { op: 'upsert' as const, email: '', fields: {} };
    });
    const failure = account.faults.failJobs.shift();
    const now = Date.now();
    const job: FakeJob = {
      id,
      kind,
      createdAt: now,
      readyAt: kind === 'batch' ? now : now + processingMs,
      bytes,
      total: records.length,
      records,
      unreadable,
      state: 'pending',
      rejects: [],
      ...(failure === undefined
        ? {}
        : {
            failure: {
              code: 'IMPORT_FAILED',
              message: failure.retryable
                ? 'the import worker crashed; try again'
                : 'the import was refused: account suspended',
              retryable: failure.retryable,
            },
          }),
    };
    account.jobs.set(id, job);
    return job;
  };

  const describe = (job: FakeJob): Record<string, unknown> => {
    if (job.state === 'pending') {
      const processed = Math.min(
        job.total,
        Math.floor((job.total * (Date.now() - job.createdAt)) / Math.max(1, processingMs)),
      );
      return {
        id: job.id,
        state: 'pending',
        total: job.total,
        processed,
        etaMs: Math.max(0, job.readyAt - Date.now()),
      };
    }
    if (job.state === 'failed') return { id: job.id, state: 'failed', total: job.total, error: job.failure };
    return { id: job.id, state: 'completed', total: job.total, processed: job.total, rejects: job.rejects };
  };

  const route = async (
    request: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; json?: unknown }> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const [version, accountName, resource, id, ...rest] = url.pathname.split('/').filter(Boolean);
    if (version !== 'v1' || accountName === undefined || rest.length > 0)
      throw new HttpProblem(404, 'no such route');
    const account = accountOf(accountName);
    account.calls += 1;
    advance(account);
    if (account.faults.rateLimits > 0) {
      account.faults.rateLimits -= 1;
      throw new HttpProblem(429, 'rate limit exceeded', { 'retry-after': '0' });
    }
    const auth = request.headers.authorization ?? '';
    const key = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    // Like real vendors, never echo the key that was refused.
    if (key.length < 8 || account.revoked) throw new HttpProblem(401, 'invalid API key');
    const method = request.method ?? 'GET';
    const isStatusRead =
      method === 'GET' && (resource === 'imports' || resource === 'batches') && id !== undefined;
    if (isStatusRead && account.faults.statusRateLimits > 0) {
      account.faults.statusRateLimits -= 1;
      throw new HttpProblem(429, 'rate limit exceeded', { 'retry-after': '0' });
    }
    if (isStatusRead && account.faults.statusErrors > 0) {
      account.faults.statusErrors -= 1;
      throw new HttpProblem(503, 'service temporarily unavailable');
    }

    if (method === 'GET' && resource === 'me' && id === undefined)
      return { status: 200, json: { account: accountName } };
    if (method === 'GET' && resource === 'fields' && id === undefined)
      return {
        status: 200,
        json: { fields: Object.entries(FAKE_VENDOR_FIELDS).map(([name, type]) => ({ name, type })) },
      };
    if (method === 'GET' && resource === 'lists' && id === undefined)
      return { status: 200, json: { lists: FAKE_VENDOR_LISTS.map((listId) => ({ id: listId })) } };

    if (resource === 'imports' && id === undefined && method === 'POST') {
      const type = String(request.headers['content-type'] ?? '');
      const text = body.toString('utf8');
      const parsed = type.startsWith('text/csv')
        ? await parseCsv(text)
        : type.startsWith('application/x-ndjson')
          ? parseNdjson(text)
          : undefined;
      if (parsed === undefined) throw new HttpProblem(415, 'send application/x-ndjson or text/csv');
      if (parsed.records.length === 0) throw new HttpProblem(400, 'empty import');
      const job = createJob(account, 'import', body.length, parsed.records);
      return { status: 202, json: { id: job.id } };
    }
    if (resource === 'contacts' && id === 'batch' && method === 'POST') {
      let records: unknown;
      try {
        records = (JSON.parse(body.toString('utf8')) as { records?: unknown }).records;
      } catch {
        throw new HttpProblem(400, 'the body is not JSON');
      }
      if (!Array.isArray(records) || records.length === 0)
        throw new HttpProblem(400, 'records must be a non-empty array');
      const parsed = records.map((record) => parseNdjson(JSON.stringify(record)).records[0]);
      const job = createJob(account, 'batch', body.length, parsed);
      processJob(account, job);
      if (job.state === 'failed')
        throw new HttpProblem(job.failure?.retryable ? 503 : 422, job.failure?.message ?? 'failed');
      const results = parsed.map((_, index) => {
        const reject = job.rejects.find((r) => r.row === index);
        if (reject === undefined) return { index, status: 'ok' };
        return {
          index,
          status: reject.transient ? 'retry' : 'rejected',
          code: reject.code,
          message: reject.message,
          ...(reject.field ? { field: reject.field } : {}),
          ...(reject.retryAfterMs ? { retryAfterMs: reject.retryAfterMs } : {}),
        };
      });
      return { status: 200, json: { batchId: job.id, results } };
    }
    if ((resource === 'imports' || resource === 'batches') && id !== undefined) {
      const job = account.jobs.get(id);
      if (job === undefined || (resource === 'imports') !== (job.kind === 'import'))
        throw new HttpProblem(404, `no ${resource.slice(0, -1)} ${id}`);
      if (method === 'GET') return { status: 200, json: describe(job) };
      if (method === 'DELETE') {
        account.jobs.delete(id);
        return { status: 204 };
      }
    }
    throw new HttpProblem(404, 'no such route');
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    void (async () => {
      try {
        const body = await readBody(request);
        const { status, json } = await route(request, body);
        response.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
        response.end(json === undefined ? undefined : JSON.stringify(json));
      } catch (error) {
        const problem = error instanceof HttpProblem ? error : new HttpProblem(500, String(error));
        response.writeHead(problem.status, { 'content-type': 'application/json', ...problem.headers });
        response.end(JSON.stringify({ error: problem.message }));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const jobOf = (account: string, handle: unknown): FakeJob | undefined => {
    const jobs = accountOf(account).jobs;
    const ids =
      typeof handle === 'string'
        ? [handle]
        : (JSON.stringify(handle ?? null)
            .match(/"[^"]+"/g)
            ?.map((s) => s.slice(1, -1)) ?? []);
    for (const id of ids) {
      const job = jobs.get(id);
      if (job !== undefined) return job;
    }
    return undefined;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    contacts: (account, identities) => {
      const held = accountOf(account);
      advance(held);
      return Object.fromEntries(
        identities.map((identity) => {
          const contact = held.contacts.get(identity.toLowerCase());
          return [
            identity,
            contact === undefined ? undefined : { fields: { ...contact.fields }, lists: [...contact.lists] },
          ];
        }),
      );
    },
    jobBytes: (account, handle) => jobOf(account, handle)?.bytes,
    calls: (account) => accountOf(account).calls,
    rateLimitNext: (account, count) => {
      accountOf(account).faults.rateLimits += count;
    },
    failNextStatusChecks: (account, count) => {
      accountOf(account).faults.statusErrors += count;
    },
    rateLimitNextStatusChecks: (account, count) => {
      accountOf(account).faults.statusRateLimits += count;
    },
    failNextJob: (account, failure) => {
      accountOf(account).faults.failJobs.push(failure);
    },
    deferProfiles: (account, identities) => {
      for (const identity of identities) accountOf(account).faults.defer.add(identity.toLowerCase());
    },
    forgetJob: (account, handle) => {
      const job = jobOf(account, handle);
      if (job !== undefined) accountOf(account).jobs.delete(job.id);
    },
    revokeKey: (account) => {
      accountOf(account).revoked = true;
    },
    reset: (account) => {
      accounts.delete(account);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
};
