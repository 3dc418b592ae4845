import { describe, expect, it } from 'vitest';
import { startSandbox } from '../src/index.ts';
import { expectMatchesSpec, startSendgrid } from './sendgrid-support.ts';

const TOO_MANY = { errors: [{ field: null, message: 'too many requests' }] };

describe('rate limits', () => {
  it('sends X-RateLimit-* on every v3 response and a real 429 once the budget is spent', async () => {
    const sg = await startSendgrid({
      rateLimit: {
        limit: 3,
        windowSeconds: 60,
        perEndpoint: { 'sendgrid.lists': { limit: 1, windowSeconds: 1 } },
      },
    });
    try {
      const seen: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const reply = await sg.call('GET', '/v3/marketing/field_definitions');
        expect(reply.status).toBe(200);
        expect(reply.headers.get('x-ratelimit-limit')).toBe('3');
        seen.push(reply.headers.get('x-ratelimit-remaining') ?? '');
        const reset = Number(reply.headers.get('x-ratelimit-reset'));
        // Unix epoch seconds of the window's end [S4].
        expect(reset).toBeGreaterThan(Date.now() / 1000 + 55);
        expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60);
      }
      expect(seen).toEqual(['2', '1', '0']);
      const limited = await sg.call('GET', '/v3/marketing/field_definitions');
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual(TOO_MANY);
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      // SendGrid documents X-RateLimit-* only: no Retry-After unless asked for (below).
      expect(limited.headers.get('retry-after')).toBeNull();
      expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 + 55);

      // Budgets are per endpoint: another endpoint still has its own.
      const upsert = await sg.call('PUT', '/v3/marketing/contacts', {
        body: { contacts: [{ email: 'a@example.com' }] },
      });
      expect(upsert.status).toBe(202);
      expect(upsert.headers.get('x-ratelimit-remaining')).toBe('2');
      // Error responses carry the headers too.
      const bad = await sg.call('PUT', '/v3/marketing/contacts', { body: {} });
      expect(bad.status).toBe(400);
      expect(bad.headers.get('x-ratelimit-remaining')).toBe('1');

      // A 1-per-second endpoint refills after its window.
      expect((await sg.call('GET', '/v3/marketing/lists')).status).toBe(200);
      const lists = await sg.call('GET', '/v3/marketing/lists');
      expect(lists.status).toBe(429);
      expect(lists.headers.get('retry-after')).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1050));
      expect((await sg.call('GET', '/v3/marketing/lists')).status).toBe(200);

      // The S3-style upload and the sandbox's own routes are outside the API's budget.
      const count = await sg.call('GET', '/__sandbox/contacts/count');
      expect(count.headers.get('x-ratelimit-limit')).toBeNull();
    } finally {
      await sg.close();
    }
  });

  it('sends Retry-After on 429s only when asked to (retryAfterHeader), as SendGrid documents none', async () => {
    const sg = await startSendgrid({
      retryAfterHeader: true,
      rateLimit: { limit: 1, windowSeconds: 60 },
      faults: [{ endpoint: 'sendgrid.upsert', kind: 'rate_limit', count: 1, retryAfterSeconds: 7 }],
    });
    try {
      expect((await sg.call('GET', '/v3/marketing/lists')).status).toBe(200);
      const limited = await sg.call('GET', '/v3/marketing/lists');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(55);
      const faulted = await sg.call('PUT', '/v3/marketing/contacts', {
        body: { contacts: [{ email: 'a@example.com' }] },
      });
      expect(faulted.status).toBe(429);
      expect(faulted.headers.get('retry-after')).toBe('7');
    } finally {
      await sg.close();
    }
  });

  it('can be switched off', async () => {
    const sg = await startSendgrid({ rateLimit: false });
    try {
      const reply = await sg.call('GET', '/v3/marketing/lists');
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-ratelimit-limit')).toBeNull();
    } finally {
      await sg.close();
    }
  });
});

describe('fault injection', () => {
  it('rate_limit: 429 with the documented body and X-RateLimit-* (no Retry-After)', async () => {
    const sg = await startSendgrid({
      faults: [{ endpoint: 'sendgrid.upsert', kind: 'rate_limit', count: 1, retryAfterSeconds: 7 }],
    });
    try {
      const body = { contacts: [{ email: 'a@example.com' }] };
      const limited = await sg.call('PUT', '/v3/marketing/contacts', { body });
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual(TOO_MANY);
      expect(limited.headers.get('retry-after')).toBeNull();
      expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('x-ratelimit-limit')).toBe('1000');
      const reset = Number(limited.headers.get('x-ratelimit-reset'));
      expect(Math.abs(reset - (Date.now() / 1000 + 7))).toBeLessThan(2);
      // count: 1 → the retry goes through, and nothing was applied by the faulted call.
      const retried = await sg.call('PUT', '/v3/marketing/contacts', { body });
      expect(retried.status).toBe(202);
      const stats = await sg.call('GET', '/__sandbox/stats');
      expect(stats.body.faultsFired).toEqual({ 'sendgrid.upsert rate_limit': 1 });
      const log = await sg.call('GET', '/__sandbox/requests');
      expect(
        log.body.requests.map((r: { status: number; fault?: string }) => [r.status, r.fault ?? null]),
      ).toEqual([
        [429, 'rate_limit'],
        [202, null],
      ]);
    } finally {
      await sg.close();
    }
  });

  it('server_error and unavailable: 500/503 in the MarketingContacts500 shape', async () => {
    const sg = await startSendgrid({
      faults: [
        { endpoint: 'sendgrid.lists', kind: 'server_error' },
        { endpoint: 'sendgrid.searchEmails', kind: 'unavailable' },
        { endpoint: 'sendgrid.delete', kind: 'unavailable' },
      ],
    });
    try {
      const lists = await sg.call('GET', '/v3/marketing/lists');
      expect(lists.status).toBe(500);
      expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 500, lists.body);
      expect(lists.headers.get('x-ratelimit-limit')).not.toBeNull();
      const search = await sg.call('POST', '/v3/marketing/contacts/search/emails', {
        body: { emails: ['a@example.com'] },
      });
      expect(search.status).toBe(503);
      expect(search.body).toEqual({ errors: [{ message: 'service unavailable' }] });
      expect((await sg.call('DELETE', '/v3/marketing/contacts?ids=x')).status).toBe(503);
    } finally {
      await sg.close();
    }
  });

  it('reset: the connection drops before any response byte', async () => {
    const sg = await startSendgrid({
      faults: [{ endpoint: 'sendgrid.importCreate', kind: 'reset', count: 1 }],
    });
    try {
      const body = { file_type: 'csv', field_mappings: ['_rf2_T'] };
      await expect(sg.call('PUT', '/v3/marketing/contacts/imports', { body })).rejects.toThrow();
      expect((await sg.call('PUT', '/v3/marketing/contacts/imports', { body })).status).toBe(200);
      // Logged with status 0 and counted in the stats, though no response was ever sent.
      const { requests } = (await sg.call('GET', '/__sandbox/requests')).body;
      expect(requests).toEqual([
        expect.objectContaining({ endpoint: 'sendgrid.importCreate', status: 0, fault: 'reset' }),
        expect.objectContaining({ endpoint: 'sendgrid.importCreate', status: 200 }),
      ]);
      expect(requests[1].fault).toBeUndefined();
      const stats = (await sg.call('GET', '/__sandbox/stats')).body;
      expect(stats).toMatchObject({ requests: { 'sendgrid.importCreate': 2 }, total: 2 });
    } finally {
      await sg.close();
    }
  });

  it('slow: the response is held for delayMs', async () => {
    const sg = await startSendgrid({
      faults: [{ endpoint: 'sendgrid.fieldDefinitions', kind: 'slow', delayMs: 300 }],
    });
    try {
      const started = performance.now();
      const reply = await sg.call('GET', '/v3/marketing/field_definitions');
      expect(reply.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await sg.close();
    }
  });

  it('S3 routes fail like S3: 503 SlowDown, 500 InternalError, in XML', async () => {
    const sg = await startSendgrid({
      faults: [
        { endpoint: 'sendgrid.upload', kind: 'rate_limit', count: 1 },
        { endpoint: 'sendgrid.errorsFile', kind: 'server_error', count: 1 },
      ],
    });
    try {
      const created = await sg.call('PUT', '/v3/marketing/contacts/imports', {
        body: { file_type: 'csv', field_mappings: ['_rf2_T'] },
      });
      const headers = { 'x-amz-server-side-encryption': 'aws:kms' };
      const csv = 'email\nok@example.com\nbad\n';
      const throttled = await fetch(created.body.upload_uri, { method: 'PUT', headers, body: csv });
      expect(throttled.status).toBe(503);
      expect(await throttled.text()).toContain('<Code>SlowDown</Code>');
      expect((await fetch(created.body.upload_uri, { method: 'PUT', headers, body: csv })).status).toBe(200);
      const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
      const url = status.body.results.errors_url;
      const broken = await fetch(url);
      expect(broken.status).toBe(500);
      expect(await broken.text()).toContain('<Code>InternalError</Code>');
      expect(await (await fetch(url)).text()).toBe('email,error\nbad,invalid email\n');
    } finally {
      await sg.close();
    }
  });

  it('vanish: the job is forgotten for good, and a pending job is never applied', async () => {
    const sg = await startSendgrid({
      startDelayMs: 200,
      faults: [{ endpoint: 'sendgrid.importStatus', kind: 'vanish', count: 1 }],
    });
    try {
      const accepted = await sg.call('PUT', '/v3/marketing/contacts', {
        body: { contacts: [{ email: 'lost@example.com' }] },
      });
      const path = `/v3/marketing/contacts/imports/${accepted.body.job_id}`;
      const first = await sg.call('GET', path);
      expect(first.status).toBe(404);
      expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 404, first.body);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await sg.call('GET', path)).status).toBe(404);
      expect((await sg.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
      const log = await sg.call('GET', '/__sandbox/requests');
      expect(log.body.requests.filter((r: { fault?: string }) => r.fault === 'vanish')).toHaveLength(1);
      // The rule is spent: a new job is reported normally.
      const next = await sg.call('PUT', '/v3/marketing/contacts', {
        body: { contacts: [{ email: 'kept@example.com' }] },
      });
      expect((await sg.call('GET', `/v3/marketing/contacts/imports/${next.body.job_id}`)).body.status).toBe(
        'pending',
      );
    } finally {
      await sg.close();
    }
  });

  it('takes rules at runtime through PUT /__sandbox/faults, including `*` for every route', async () => {
    const sg = await startSendgrid();
    try {
      const set = await sg.call('PUT', '/__sandbox/faults', {
        body: { faults: [{ endpoint: 'sendgrid.*', kind: 'unavailable', count: 2 }] },
      });
      expect(set.status).toBe(200);
      expect((await sg.call('GET', '/v3/marketing/lists')).status).toBe(503);
      expect((await sg.call('GET', '/v3/marketing/field_definitions')).status).toBe(503);
      expect((await sg.call('GET', '/v3/marketing/lists')).status).toBe(200);
      // Inspection routes are never faulted.
      await sg.call('PUT', '/__sandbox/faults', {
        body: { faults: [{ endpoint: '*', kind: 'server_error' }] },
      });
      expect((await sg.call('GET', '/__sandbox/contacts')).status).toBe(200);
    } finally {
      await sg.close();
    }
  });
});

describe('inspection and reset', () => {
  it('pages contacts, filters by e-mail and list, counts, lists jobs, and resets to the configured start', async () => {
    const LIST = '0f1e2d3c-4b5a-4697-8877-665544332211';
    const sg = await startSendgrid({
      lists: [{ id: LIST, name: 'seeded' }],
      customFields: [{ name: 'plan', field_type: 'Text' }],
    });
    try {
      await sg.upsert({ contacts: Array.from({ length: 25 }, (_, i) => ({ email: `p${i}@example.com` })) });
      await sg.upsert({
        list_ids: [LIST],
        contacts: [{ email: 'p3@example.com', alternate_emails: ['alt3@example.com'] }],
      });
      const page = await sg.call('GET', '/__sandbox/contacts?offset=10&limit=10');
      expect(page.body.total).toBe(25);
      expect(page.body.contacts.map((c: { email: string }) => c.email)).toEqual(
        Array.from({ length: 10 }, (_, i) => `p${i + 10}@example.com`),
      );
      const alt = await sg.call('GET', '/__sandbox/contacts?email=ALT3@example.com');
      expect(alt.body.contacts[0].email).toBe('p3@example.com');
      expect((await sg.call('GET', `/__sandbox/contacts?list_id=${LIST}`)).body.total).toBe(1);
      expect((await sg.call('GET', `/__sandbox/contacts/count?list_id=${LIST}`)).body.count).toBe(1);
      expect((await sg.call('GET', '/__sandbox/lists')).body.lists).toEqual([
        { id: LIST, name: 'seeded', contact_count: 1 },
      ]);
      expect((await sg.call('GET', '/__sandbox/jobs')).body.jobs).toHaveLength(2);

      await sg.call('POST', '/v3/marketing/lists', { body: { name: 'extra' } });
      await sg.call('POST', '/v3/marketing/field_definitions', {
        body: { name: 'extra', field_type: 'Text' },
      });
      const reset = await sg.call('POST', '/__sandbox/reset');
      expect(reset.body).toEqual({ ok: true });
      expect((await sg.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
      expect((await sg.call('GET', '/__sandbox/jobs')).body.jobs).toEqual([]);
      expect(
        (await sg.call('GET', '/v3/marketing/lists')).body.result.map((l: { id: string }) => l.id),
      ).toEqual([LIST]);
      expect((await sg.call('GET', '/v3/marketing/field_definitions')).body.custom_fields).toEqual([
        { id: 'e1_T', name: 'plan', field_type: 'Text' },
      ]);
      // Contact ids from before the reset no longer resolve.
      expect((await sg.call('GET', '/__sandbox/contacts?email=p3@example.com')).body.total).toBe(0);
    } finally {
      await sg.close();
    }
  });
});

describe('the schema check itself', () => {
  it('rejects bodies that do not match the spec', () => {
    expect(() =>
      expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 202, { job_id: 5 }),
    ).toThrow();
    expect(() =>
      expectMatchesSpec('custom_fields', '/v3/marketing/field_definitions', 'get', 200, {
        custom_fields: [],
      }),
    ).toThrow();
    expect(() =>
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}', 'get', 404, { errors: [] }),
    ).toThrow();
  });
});

describe('startSandbox', () => {
  it('runs the SendGrid emulator alone, zero-delay, with the default key', async () => {
    const sandbox = await startSandbox({ eloqua: false, zeroDelay: true });
    try {
      expect(sandbox.eloqua).toBeUndefined();
      const url = sandbox.sendgrid?.url ?? '';
      const response = await fetch(`${url}/v3/marketing/contacts`, {
        method: 'PUT',
        headers: { authorization: 'Bearer SG.sandbox', 'content-type': 'application/json' },
        body: JSON.stringify({ contacts: [{ email: 'one@example.com' }] }),
      });
      const { job_id: job } = (await response.json()) as { job_id: string };
      const status = await fetch(`${url}/v3/marketing/contacts/imports/${job}`, {
        headers: { authorization: 'Bearer SG.sandbox' },
      });
      expect(((await status.json()) as { status: string }).status).toBe('completed');
    } finally {
      await sandbox.close();
    }
  });
});
