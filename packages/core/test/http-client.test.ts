import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthError, PermanentError, RateLimitedError, TransientError } from '../src/errors.ts';
import { createHttpClient, resolveUrl } from '../src/http/http-client.ts';
import type { HttpClientOptions } from '../src/http/types.ts';
import { createMemoryLogger } from '../src/logger.ts';
import { virtualClock } from './http-virtual-clock.ts';

const BASE = 'https://api.vendor.test';

/** A client with fast, virtual waits; every test can see its log lines and its waits. */
const setup = (overrides: Partial<HttpClientOptions> = {}) => {
  const logger = createMemoryLogger();
  const time = virtualClock();
  const http = createHttpClient({
    destination: 'test',
    baseUrl: BASE,
    logger,
    clock: time.clock,
    baseBackoffMs: 1,
    maxBackoffMs: 10,
    ...overrides,
  });
  return { http, logger, ...time };
};

/** What a thrown promise threw, for assertions on several fields at once. */
const failure = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`threw a non-Error: ${String(error)}`);
  }
  throw new Error('expected the request to fail');
};

const connectionReset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

const realSleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => {
  nock.disableNetConnect();
});

afterEach(() => {
  nock.cleanAll();
});

afterAll(() => {
  nock.enableNetConnect();
});

describe('createHttpClient: requests and responses', () => {
  it('sends JSON and parses a JSON response', async () => {
    const scope = nock(BASE)
      .put('/v3/marketing/contacts', { contacts: [{ email: 'a@example.com' }] })
      .matchHeader('content-type', /application\/json/)
      .matchHeader('accept', 'application/json')
      .reply(202, { job_id: 'j1' });
    const { http } = setup();
    const response = await http.request<{ job_id: string }>({
      method: 'PUT',
      url: '/v3/marketing/contacts',
      json: { contacts: [{ email: 'a@example.com' }] },
    });
    expect(response.status).toBe(202);
    expect(response.data).toEqual({ job_id: 'j1' });
    scope.done();
  });

  it('returns undefined for an empty JSON body', async () => {
    nock(BASE).delete('/things/1').reply(204);
    const { http } = setup();
    const response = await http.request({ method: 'DELETE', url: '/things/1' });
    expect(response).toMatchObject({ status: 204, data: undefined });
  });

  it('reads text and streams', async () => {
    nock(BASE).get('/errors.csv').reply(200, 'a,b\n1,2\n').get('/big.csv').reply(200, 'x,y\n');
    const { http } = setup();
    const text = await http.request<string>({ method: 'GET', url: '/errors.csv', responseType: 'text' });
    expect(text.data).toBe('a,b\n1,2\n');
    const stream = await http.request<ReadableStream<Uint8Array>>({
      method: 'GET',
      url: '/big.csv',
      responseType: 'stream',
    });
    expect(stream.data).toBeInstanceOf(ReadableStream);
    expect(await new Response(stream.data).text()).toBe('x,y\n');
  });

  it('throws PermanentError naming the operation for invalid JSON', async () => {
    nock(BASE).get('/jobs/1').reply(200, '<html>oops</html>');
    const { http } = setup();
    const error = await failure(
      http.request({ method: 'GET', url: '/jobs/1', operation: 'check import status' }),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toBe(
      '[ferry] [test] check import status (GET /jobs/1) returned invalid JSON (HTTP 200 OK): <html>oops</html>',
    );
  });

  it('merges query parameters into the URL, skipping undefined ones', async () => {
    const scope = nock(BASE)
      .get('/api/bulk/2.0/syncs/5/rejects')
      .query({ offset: '0', limit: '1000', dry: 'false' })
      .reply(200, { items: [] });
    const { http } = setup();
    const api = http.with({ baseUrl: `${BASE}/api/bulk/2.0/` });
    await api.request({
      method: 'GET',
      url: '/syncs/5/rejects?offset=0',
      query: { limit: 1000, dry: false, cursor: undefined },
    });
    scope.done();
  });

  it('returns an accepted error status instead of throwing', async () => {
    nock(BASE)
      .get('/syncs/9')
      .reply(404, { failures: [{ code: 'not found' }] });
    const { http } = setup();
    const response = await http.request({ method: 'GET', url: '/syncs/9', accept: [404] });
    expect(response).toMatchObject({ status: 404, data: { failures: [{ code: 'not found' }] } });
  });

  it('merges headers of .with() layers case-insensitively, the request winning', async () => {
    const scope = nock(BASE)
      .get('/me')
      .matchHeader('authorization', 'Bearer second')
      .matchHeader('x-one', '1')
      .matchHeader('x-two', 'request')
      .reply(200, {});
    const { http } = setup({ headers: { 'X-One': '1', Authorization: 'Bearer first' } });
    const client = http.with({ headers: { authorization: 'Bearer second', 'x-two': '2' } });
    await client.request({ method: 'GET', url: '/me', headers: { 'X-Two': 'request' } });
    scope.done();
  });

  it('refuses a relative URL without a base URL', async () => {
    const http = createHttpClient({ destination: 'test' });
    await expect(http.request({ method: 'GET', url: '/x' })).rejects.toThrow(
      '[ferry] [test] GET /x: a relative URL needs the client to have a baseUrl',
    );
  });
});

describe('resolveUrl', () => {
  it.each([
    ['https://x.test/api/bulk/2.0', '/contacts/imports', 'https://x.test/api/bulk/2.0/contacts/imports'],
    ['https://x.test/api/bulk/2.0/', 'contacts/imports', 'https://x.test/api/bulk/2.0/contacts/imports'],
    ['https://x.test/api/bulk/2.0/', '/contacts/imports', 'https://x.test/api/bulk/2.0/contacts/imports'],
    ['https://x.test', '/v3/marketing/contacts', 'https://x.test/v3/marketing/contacts'],
    ['https://x.test/api', '', 'https://x.test/api'],
    ['https://x.test/api?x=1', '/a?y=2', 'https://x.test/api/a?x=1&y=2'],
    ['https://x.test/api', 'https://other.test/z?q=1', 'https://other.test/z?q=1'],
  ])('%s + %s', (base, url, expected) => {
    expect(resolveUrl(base, url).href).toBe(expected);
  });

  it('appends query values as strings', () => {
    expect(resolveUrl('https://x.test', '/a', { n: 1, b: true, s: 'a b', u: undefined }).href).toBe(
      'https://x.test/a?n=1&b=true&s=a+b',
    );
  });

  it('extends a base path through .with() with a relative base', async () => {
    const scope = nock(BASE).get('/api/bulk/2.0/contacts/fields').reply(200, { items: [] });
    const { http } = setup();
    await http.with({ baseUrl: '/api/bulk/2.0' }).request({ method: 'GET', url: '/contacts/fields' });
    scope.done();
  });
});

describe('createHttpClient: retries', () => {
  it('retries a 503 and returns the success', async () => {
    const scope = nock(BASE).get('/jobs/1').reply(503).get('/jobs/1').reply(200, { status: 'completed' });
    const { http, logger, sleeps } = setup();
    const response = await http.request({ method: 'GET', url: '/jobs/1' });
    expect(response.data).toEqual({ status: 'completed' });
    expect(sleeps).toHaveLength(1);
    const warnings = logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(
      /^\[test\] GET \/jobs\/1: HTTP 503 Service Unavailable; retrying in \d+ ms$/,
    );
    scope.done();
  });

  it('throws TransientError with the attempts once a 503 outlasts the budget', async () => {
    const scope = nock(BASE).put('/v3/marketing/contacts').times(3).reply(503, 'upstream overloaded');
    const { http, sleeps } = setup({ retries: 2 });
    const error = await failure(http.request({ method: 'PUT', url: '/v3/marketing/contacts', json: {} }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toBe(
      '[ferry] [test] PUT /v3/marketing/contacts failed: HTTP 503 Service Unavailable after 3 attempts: upstream overloaded',
    );
    expect(error).toMatchObject({ code: 'http_503', status: 503, kind: 'transient' });
    expect(sleeps).toHaveLength(2);
    scope.done();
  });

  it('uses Retry-After on a 503 when it is given', async () => {
    nock(BASE).get('/x').reply(503, '', { 'Retry-After': '3' }).get('/x').reply(200, {});
    const { http, sleeps } = setup();
    await http.request({ method: 'GET', url: '/x' });
    expect(sleeps).toEqual([3000]);
  });

  it('retries a reset connection', async () => {
    nock(BASE).get('/x').replyWithError(connectionReset()).get('/x').reply(200, { ok: true });
    const { http, logger } = setup();
    const response = await http.request({ method: 'GET', url: '/x' });
    expect(response.data).toEqual({ ok: true });
    expect(logger.lines.some((line) => line.level === 'warn' && line.message.includes('ECONNRESET'))).toBe(
      true,
    );
  });

  it('throws TransientError(network) when the connection keeps failing', async () => {
    nock(BASE).get('/x').times(2).replyWithError(connectionReset());
    const { http } = setup({ retries: 1 });
    const error = await failure(http.request({ method: 'GET', url: '/x' }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'network' });
    expect(error.message).toBe(
      '[ferry] [test] GET /x failed: network error (ECONNRESET: socket hang up) after 2 attempts',
    );
  });

  it('times out an attempt, retries it, then throws TransientError(timeout)', async () => {
    // An async reply rather than nock's .delay(): with fetch, a delayed reply that arrives after
    // the abort trips an assertion inside undici (an uncaught exception in the test run).
    let calls = 0;
    nock(BASE)
      .get('/slow')
      .times(2)
      .reply(async () => {
        calls += 1;
        await realSleep(300);
        return [200, {}];
      });
    const { http } = setup({ retries: 1, timeoutMs: 20 });
    const error = await failure(http.request({ method: 'GET', url: '/slow' }));
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'timeout' });
    expect(error.message).toBe(
      '[ferry] [test] GET /slow failed: timed out (20 ms per attempt) after 2 attempts',
    );
    expect(calls).toBe(2);
  });

  it('does not retry when retry is false', async () => {
    nock(BASE).post('/imports').reply(503);
    const { http } = setup();
    const error = await failure(http.request({ method: 'POST', url: '/imports', body: 'x', retry: false }));
    expect(error.message).toContain('after 1 attempt');
  });

  it('calls a streamed body factory again for the retry, sending the full body each time', async () => {
    const received: string[] = [];
    nock(BASE)
      .post('/api/bulk/2.0/imports/7/data')
      .times(2)
      .reply(async (request: Request) => {
        received.push(await request.text());
        return received.length === 1 ? [503] : [204];
      });
    const { http } = setup();
    let made = 0;
    const encoder = new TextEncoder();
    await http.request({
      method: 'POST',
      url: '/api/bulk/2.0/imports/7/data',
      headers: { 'content-type': 'text/csv' },
      body: () => {
        made += 1;
        return new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode('email,name\n'));
            controller.enqueue(encoder.encode('a@example.com,Ann\n'));
            controller.close();
          },
        });
      },
    });
    expect(made).toBe(2);
    expect(received).toEqual(['email,name\na@example.com,Ann\n', 'email,name\na@example.com,Ann\n']);
  });

  it('accepts an async iterable from a body factory', async () => {
    const received: string[] = [];
    nock(BASE)
      .post('/upload')
      .reply(async (request: Request) => {
        received.push(await request.text());
        return [200, {}];
      });
    const { http } = setup();
    async function* rows() {
      yield new TextEncoder().encode('a\n');
      yield new TextEncoder().encode('b\n');
    }
    await http.request({ method: 'POST', url: '/upload', body: () => rows() });
    expect(received).toEqual(['a\nb\n']);
  });

  it('does not retry when the body factory itself throws', async () => {
    const { http } = setup();
    const bug = new Error('encoder bug');
    await expect(
      http.request({
        method: 'POST',
        url: '/upload',
        body: () => {
          throw bug;
        },
      }),
    ).rejects.toBe(bug);
  });
});

describe('createHttpClient: 429 and rate-limit headers', () => {
  it('waits Retry-After seconds, then succeeds', async () => {
    const scope = nock(BASE)
      .get('/x')
      .reply(429, { errors: [{ message: 'too many requests' }] }, { 'Retry-After': '2' })
      .get('/x')
      .reply(200, { ok: true });
    const { http, sleeps, logger } = setup();
    const response = await http.request({ method: 'GET', url: '/x' });
    expect(response.data).toEqual({ ok: true });
    expect(sleeps).toEqual([2000]);
    expect(logger.lines.filter((line) => line.level === 'warn').map((line) => line.message)).toEqual([
      '[test] GET /x: HTTP 429 Too Many Requests; waiting 2000 ms',
    ]);
    scope.done();
  });

  it('waits until a Retry-After HTTP-date', async () => {
    const time = virtualClock();
    const at = new Date(time.start + 5000).toUTCString();
    nock(BASE).get('/x').reply(429, '', { 'Retry-After': at }).get('/x').reply(200, {});
    const http = createHttpClient({ destination: 'test', baseUrl: BASE, clock: time.clock });
    await http.request({ method: 'GET', url: '/x' });
    expect(time.sleeps).toEqual([5000]);
  });

  it('waits until X-RateLimit-Reset (epoch seconds) when there is no Retry-After', async () => {
    const time = virtualClock();
    nock(BASE)
      .get('/x')
      .reply(429, '', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(time.start / 1000 + 4) })
      .get('/x')
      .reply(200, {});
    const http = createHttpClient({ destination: 'test', baseUrl: BASE, clock: time.clock });
    await http.request({ method: 'GET', url: '/x' });
    expect(time.sleeps).toEqual([4000]);
  });

  it('throws RateLimitedError with retryAfterMs once the 429 budget is spent', async () => {
    const scope = nock(BASE).get('/x').times(3).reply(429, 'slow down', { 'Retry-After': '1' });
    const { http, sleeps } = setup({ rateLimitRetries: 2, retries: 0 });
    const error = await failure(http.request({ method: 'GET', url: '/x' }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 1000, status: 429, code: 'http_429', kind: 'rate_limited' });
    expect(error.message).toBe(
      '[ferry] [test] GET /x failed: HTTP 429 Too Many Requests (still rate limited after 3 attempts): slow down',
    );
    // 429 waits are not taken from the 5xx budget (retries: 0 here).
    expect(sleeps).toEqual([1000, 1000]);
    scope.done();
  });

  it('throws RateLimitedError at once when the wait is longer than maxRetryAfterMs, and holds later requests', async () => {
    const scope = nock(BASE).get('/x').reply(429, '', { 'Retry-After': '3600' });
    const { http, sleeps } = setup({ maxRetryAfterMs: 60_000 });
    const error = await failure(http.request({ method: 'GET', url: '/x' }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({ retryAfterMs: 3_600_000 });
    expect(error.message).toContain('the vendor asks to wait 3600000 ms');
    expect(sleeps).toEqual([]);
    scope.done();
    // The vendor said the whole destination must wait: the next request is not even sent.
    const next = await failure(http.request({ method: 'GET', url: '/y' }));
    expect(next).toBeInstanceOf(RateLimitedError);
    expect((next as RateLimitedError).retryAfterMs).toBe(3_600_000);
  });

  it('backs off on a 429 without any hint', async () => {
    nock(BASE).get('/x').reply(429).get('/x').reply(200, {});
    const { http, sleeps } = setup({ baseBackoffMs: 100, maxBackoffMs: 100 });
    await http.request({ method: 'GET', url: '/x' });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThan(100);
  });

  it('holds further requests when a response says the window is used up', async () => {
    const time = virtualClock();
    nock(BASE)
      .get('/a')
      .reply(200, {}, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(time.start / 1000 + 3) })
      .get('/b')
      .reply(200, {});
    const http = createHttpClient({ destination: 'test', baseUrl: BASE, clock: time.clock });
    await http.request({ method: 'GET', url: '/a' });
    expect(time.sleeps).toEqual([]);
    await http.with({ headers: { 'x-derived': '1' } }).request({ method: 'GET', url: '/b' });
    expect(time.sleeps).toEqual([3000]);
    expect(time.elapsed()).toBe(3000);
  });
});

describe('createHttpClient: typed errors', () => {
  it('throws AuthError for 401 and 403', async () => {
    nock(BASE)
      .get('/me')
      .reply(401, { errors: [{ message: 'authorization required' }] });
    nock(BASE).get('/lists').reply(403, 'access forbidden');
    const { http } = setup();
    const unauthorized = await failure(http.request({ method: 'GET', url: '/me' }));
    expect(unauthorized).toBeInstanceOf(AuthError);
    expect(unauthorized).toMatchObject({ status: 401, code: 'http_401' });
    expect(unauthorized.message).toBe(
      '[ferry] [test] GET /me failed: HTTP 401 Unauthorized: {"errors":[{"message":"authorization required"}]}',
    );
    const forbidden = await failure(http.request({ method: 'GET', url: '/lists' }));
    expect(forbidden).toBeInstanceOf(AuthError);
    expect(forbidden).toMatchObject({ status: 403 });
  });

  it('throws PermanentError with the vendor message for other 4xx, and does not retry', async () => {
    const scope = nock(BASE)
      .post('/imports')
      .reply(400, { failures: [{ field: 'email', constraint: 'Must be a valid email address' }] });
    const { http } = setup();
    const error = await failure(
      http.request({ method: 'POST', url: '/imports', json: {}, operation: 'create import definition' }),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400, code: 'http_400' });
    expect(error.message).toBe(
      '[ferry] [test] create import definition (POST /imports) failed: HTTP 400 Bad Request: ' +
        '{"failures":[{"field":"email","constraint":"Must be a valid email address"}]}',
    );
    scope.done();
  });

  it('truncates a long error body to a short snippet', async () => {
    nock(BASE)
      .post('/imports')
      .reply(413, `<html>${'x'.repeat(100_000)}</html>`);
    const { http } = setup();
    const error = await failure(http.request({ method: 'POST', url: '/imports', body: 'x' }));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message.length).toBeLessThan(650);
    expect(error.message).toMatch(/HTTP 413 Payload Too Large: <html>x+…$/);
  });
});

describe('createHttpClient: redaction', () => {
  const SECRET = 'SG.k3y/with+chars=&more';
  const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.tok3n.signature';
  const BASIC = Buffer.from(`company\\user:${SECRET}`).toString('base64');

  /** Every shape in which one of the credentials could have leaked. */
  const leaks = (text: string): string[] =>
    [
      SECRET,
      encodeURIComponent(SECRET),
      new URLSearchParams({ k: SECRET }).toString().slice(2),
      TOKEN,
      BASIC,
      Buffer.from(SECRET).toString('base64'),
    ].filter((form) => text.includes(form));

  const everything = (error: Error, logger: ReturnType<typeof createMemoryLogger>) =>
    [
      error.message,
      ...logger.lines.map((line) => `${line.message} ${JSON.stringify(line.fields ?? {})}`),
    ].join('\n');

  it('keeps a secret in the URL path and query out of errors and logs', async () => {
    nock(BASE)
      .get(`/keys/${encodeURIComponent(SECRET)}/check`)
      .query({ api_key: SECRET })
      .times(2)
      .reply(500, 'nope');
    const { http, logger } = setup({ secrets: [SECRET], retries: 1 });
    const error = await failure(
      http.request({
        method: 'GET',
        url: `/keys/${encodeURIComponent(SECRET)}/check`,
        query: { api_key: SECRET },
      }),
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error.message).toContain('GET /keys/[redacted]/check failed');
    expect(logger.lines.some((line) => line.message.includes('api_key=[redacted]'))).toBe(true);
    expect(leaks(everything(error, logger))).toEqual([]);
  });

  it('keeps secrets that a vendor echoes in its body out of errors', async () => {
    nock(BASE)
      .post('/login')
      .reply(400, {
        message: `bad credentials ${SECRET}`,
        received: { authorization: `Basic ${BASIC}`, raw: `Bearer ${TOKEN}` },
        again: BASIC,
      });
    const { http, logger } = setup({ secrets: [SECRET] });
    const error = await failure(
      http.request({
        method: 'POST',
        url: '/login',
        json: {},
        headers: { Authorization: `Bearer ${TOKEN}` },
      }),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toContain('bad credentials [redacted]');
    expect(leaks(everything(error, logger))).toEqual([]);
  });

  it('redacts Authorization header values of .with() clients even when they are not listed as secrets', async () => {
    nock(BASE)
      .get('/me')
      .reply(401, () => `invalid token ${TOKEN}; you sent Authorization: Bearer ${TOKEN}`);
    nock(BASE).get('/you').reply(403, `you sent ${BASIC} (${SECRET})`);
    const { http, logger } = setup();
    const bearer = http.with({ headers: { Authorization: `Bearer ${TOKEN}` } });
    const basic = http.with({ headers: { Authorization: `Basic ${BASIC}` } });
    const first = await failure(bearer.request({ method: 'GET', url: '/me' }));
    const second = await failure(basic.request({ method: 'GET', url: '/you' }));
    expect(first.message).toBe(
      '[ferry] [test] GET /me failed: HTTP 401 Unauthorized: invalid token [redacted]; you sent Authorization: [redacted]',
    );
    expect(leaks(everything(first, logger))).toEqual([]);
    expect(leaks(everything(second, logger))).toEqual([]);
  });

  it('keeps secrets out of network error messages', async () => {
    nock(BASE)
      .get('/x')
      .replyWithError(Object.assign(new Error(`connect failed for ${SECRET}`), { code: 'ECONNREFUSED' }));
    const { http, logger } = setup({ secrets: [SECRET], retries: 0 });
    const error = await failure(http.request({ method: 'GET', url: '/x' }));
    expect(error.message).toBe(
      '[ferry] [test] GET /x failed: network error (ECONNREFUSED: connect failed for [redacted]) after 1 attempt',
    );
    expect(leaks(everything(error, logger))).toEqual([]);
  });

  it('logs each attempt at debug with method, redacted URL, status, time and attempt', async () => {
    nock(BASE).get('/x').query(true).reply(502).get('/x').query(true).reply(200, {});
    const { http, logger } = setup({ secrets: [SECRET] });
    await http.request({ method: 'GET', url: '/x', query: { key: SECRET } });
    const debug = logger.lines.filter((line) => line.level === 'debug');
    expect(debug).toHaveLength(2);
    expect(debug[0]?.fields).toMatchObject({
      destination: 'test',
      method: 'GET',
      url: `${BASE}/x?key=[redacted]`,
      status: 502,
      attempt: 1,
    });
    expect(debug[1]?.fields).toMatchObject({ status: 200, attempt: 2 });
    expect(typeof debug[1]?.fields?.ms).toBe('number');
  });
});

describe('createHttpClient: limits', () => {
  it('spreads 10 requests at requestsPerSecond 5 over 1.8 s', async () => {
    nock(BASE).get('/x').times(10).reply(200, {});
    const { http, elapsed, sleeps } = setup({ requestsPerSecond: 5 });
    await Promise.all(Array.from({ length: 10 }, () => http.request({ method: 'GET', url: '/x' })));
    expect(elapsed()).toBe(1800);
    expect(sleeps).toHaveLength(9);
  });

  it('shares the limiter with clients derived through .with()', async () => {
    nock(BASE).get('/x').times(4).reply(200, {});
    const { http, elapsed } = setup({ requestsPerSecond: 10 });
    const other = http.with({ headers: { authorization: 'Bearer x' } });
    await Promise.all([
      http.request({ method: 'GET', url: '/x' }),
      other.request({ method: 'GET', url: '/x' }),
      http.request({ method: 'GET', url: '/x' }),
      other.request({ method: 'GET', url: '/x' }),
    ]);
    expect(elapsed()).toBe(300);
  });

  it('keeps to the rate in real time too', async () => {
    nock(BASE).get('/x').times(5).reply(200, {});
    const http = createHttpClient({ destination: 'test', baseUrl: BASE, requestsPerSecond: 50 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 5 }, () => http.request({ method: 'GET', url: '/x' })));
    // 4 gaps of 20 ms; only a lower bound, loosely, so a slow machine cannot fail it.
    expect(performance.now() - started).toBeGreaterThanOrEqual(60);
  });

  it('never has more than maxConcurrent requests in flight', async () => {
    let inFlight = 0;
    let most = 0;
    nock(BASE)
      .get('/x')
      .times(8)
      .reply(async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await realSleep(5);
        inFlight -= 1;
        return [200, {}];
      });
    const { http } = setup({ maxConcurrent: 3 });
    await Promise.all(Array.from({ length: 8 }, () => http.request({ method: 'GET', url: '/x' })));
    expect(most).toBe(3);
  });
});

describe('createHttpClient: abort', () => {
  it('rejects at once with the abort reason, without retrying', async () => {
    let calls = 0;
    nock(BASE)
      .get('/slow')
      .times(2)
      .reply(async () => {
        calls += 1;
        await realSleep(300);
        return [200, {}];
      });
    const controller = new AbortController();
    const { http } = setup({ signal: controller.signal });
    const reason = new Error('sync cancelled');
    const pending = http.request({ method: 'GET', url: '/slow' });
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('honours a per-request signal', async () => {
    nock(BASE)
      .get('/slow')
      .reply(async () => {
        await realSleep(300);
        return [200, {}];
      });
    const { http } = setup();
    const controller = new AbortController();
    const pending = http.request({ method: 'GET', url: '/slow', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await failure(pending);
    expect(error.name).toBe('AbortError');
  });

  it('stops during a backoff wait', async () => {
    nock(BASE).get('/x').reply(503);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const http = createHttpClient({
      destination: 'test',
      baseUrl: BASE,
      signal: controller.signal,
      // The backoff wait aborts the caller, then waits for the abort.
      clock: {
        now: () => Date.now(),
        sleep: (_ms, signal) =>
          new Promise((_resolve, reject) => {
            signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
            controller.abort(reason);
          }),
      },
    });
    await expect(http.request({ method: 'GET', url: '/x' })).rejects.toBe(reason);
  });

  it('does not send anything when already aborted', async () => {
    const scope = nock(BASE).get('/x').reply(200, {});
    const reason = new Error('already');
    const { http } = setup({ signal: AbortSignal.abort(reason) });
    await expect(http.request({ method: 'GET', url: '/x' })).rejects.toBe(reason);
    expect(scope.isDone()).toBe(false);
  });
});
