import { afterAll, describe, expect, it } from 'vitest';
import { type FakeBulkVendor, startFakeBulkVendor } from '../src/testing/fake-vendor.ts';

// The fake vendor is what scaffolded plugins test against; these pin the behaviour they rely on.
// Long enough that the first status read still sees the import pending on a loaded machine.
const vendor: FakeBulkVendor = await startFakeBulkVendor({ processingMs: 600 });
afterAll(() => vendor.close());

const call = async (
  account: string,
  method: string,
  path: string,
  body?: string,
  type = 'application/x-ndjson',
): Promise<{ status: number; json: Record<string, unknown> }> => {
  const response = await fetch(`${vendor.url}/v1/${account}/${path}`, {
    method,
    headers: {
      authorization: 'Bearer fake-key-0001',
      ...(body === undefined ? {} : { 'content-type': type }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
};

const settle = async (account: string, id: string): Promise<Record<string, unknown>> => {
  for (;;) {
    const { json } = await call(account, 'GET', `imports/${id}`);
    if (json.state !== 'pending') return json;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('fake bulk vendor', () => {
  it('imports NDJSON asynchronously, typed, with per-record rejects at completion', async () => {
    const body = [
      {
        email: 'ada@example.com',
        fields: { firstName: 'Ada', score: 42, vip: true, signedUpAt: '2024-02-29T12:00:00Z' },
      },
      { email: 'not-an-email', fields: { firstName: 'X' } },
      { email: 'bob@example.com', fields: { score: '42' } },
    ]
      .map((record) => JSON.stringify(record))
      .join('\n');
    const created = await call('a1', 'POST', 'imports', body);
    expect(created.status).toBe(202);
    const id = String(created.json.id);
    expect((await call('a1', 'GET', `imports/${id}`)).json.state).toBe('pending');
    const done = await settle('a1', id);
    expect(done).toMatchObject({ state: 'completed', total: 3 });
    expect(done.rejects).toEqual([
      { row: 1, code: 'INVALID_EMAIL', message: 'invalid e-mail address: not-an-email', field: 'email' },
      { row: 2, code: 'INVALID_VALUE', message: 'score: expected a number, got "42"', field: 'score' },
    ]);
    expect(vendor.contacts('a1', ['ADA@example.com', 'bob@example.com'])).toEqual({
      'ADA@example.com': {
        fields: {
          email: 'ada@example.com',
          firstName: 'Ada',
          score: 42,
          vip: true,
          signedUpAt: '2024-02-29T12:00:00.000Z',
        },
        lists: [],
      },
      'bob@example.com': undefined,
    });
    expect(vendor.jobBytes('a1', { v: 1, importId: id })).toBe(Buffer.byteLength(body));
  });

  it('types CSV cells by field, and an empty cell clears the field', async () => {
    const first = await call(
      'a2',
      'POST',
      'imports',
      'email,firstName,score,vip\r\nzoe@example.com,Zoë,3,false\r\n',
      'text/csv',
    );
    await settle('a2', String(first.json.id));
    const second = await call(
      'a2',
      'POST',
      'imports',
      'email,firstName,score\r\nzoe@example.com,,0\r\n',
      'text/csv',
    );
    await settle('a2', String(second.json.id));
    expect(vendor.contacts('a2', ['zoe@example.com'])['zoe@example.com']?.fields).toEqual({
      email: 'zoe@example.com',
      score: 0,
      vip: false,
    });
  });

  it('answers faults on demand: 429 and 503 on status reads, failed jobs, deferred records, revoked keys', async () => {
    const created = await call(
      'a3',
      'POST',
      'imports',
      JSON.stringify({ email: 'c@example.com', fields: {} }),
    );
    const id = String(created.json.id);
    vendor.rateLimitNextStatusChecks('a3', 1);
    vendor.failNextStatusChecks('a3', 1);
    expect((await call('a3', 'GET', `imports/${id}`)).status).toBe(429);
    expect((await call('a3', 'GET', `imports/${id}`)).status).toBe(503);
    expect((await settle('a3', id)).state).toBe('completed');

    vendor.failNextJob('a3', { retryable: false });
    const failed = await call(
      'a3',
      'POST',
      'imports',
      JSON.stringify({ email: 'd@example.com', fields: {} }),
    );
    expect(await settle('a3', String(failed.json.id))).toMatchObject({
      state: 'failed',
      error: { retryable: false },
    });

    vendor.deferProfiles('a3', ['e@example.com']);
    const batch = await call(
      'a3',
      'POST',
      'contacts/batch',
      JSON.stringify({ records: [{ email: 'e@example.com', fields: {} }] }),
      'application/json',
    );
    expect(batch.json.results).toEqual([
      expect.objectContaining({ index: 0, status: 'retry', code: 'RECORD_LOCKED', retryAfterMs: 50 }),
    ]);

    vendor.forgetJob('a3', { importId: id });
    expect((await call('a3', 'GET', `imports/${id}`)).status).toBe(404);
    const calls = vendor.calls('a3');
    vendor.revokeKey('a3');
    const refused = await call('a3', 'GET', 'me');
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.json)).not.toContain('fake-key-0001');
    expect(vendor.calls('a3')).toBe(calls + 1);
  });
});
