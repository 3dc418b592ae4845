import { AuthError, TransientError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authorizationHeader, bulkBaseUrl } from '../src/auth.ts';
import { bulkClient, sendBulk } from '../src/client.ts';
import {
  BASIC_AUTH,
  BASIC_HEADER,
  BULK,
  BULK_PATH,
  context,
  fixture,
  LOGIN,
  mockId,
  POD,
} from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const failure = async (promise: Promise<unknown>): Promise<Error> =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );

describe('Authorization header', () => {
  it("is Basic base64(Site\\User:Password), as in Oracle's example", () => {
    expect(authorizationHeader(BASIC_AUTH)).toBe(BASIC_HEADER);
  });

  it('is Bearer <token> for OAuth', () => {
    expect(authorizationHeader({ type: 'bearer', token: 'abc123token' })).toBe('Bearer abc123token');
  });
});

describe('base URL discovery (GET /id)', () => {
  it('reads urls.base, adds /api/bulk/2.0, and asks once per destination instance', async () => {
    const scope = mockId();
    const ctx = context();
    expect(await bulkBaseUrl(ctx)).toBe(BULK);
    expect(await bulkBaseUrl(ctx)).toBe(BULK);
    scope.done();
    // Another instance (another options object) asks again.
    const again = mockId();
    expect(await bulkBaseUrl(context())).toBe(BULK);
    again.done();
  });

  it('sends the bearer token to /id too', async () => {
    const scope = nock(LOGIN)
      .get('/id')
      .matchHeader('authorization', 'Bearer tok-1234567890')
      .reply(200, fixture('id/ok.json'));
    expect(await bulkBaseUrl(context({ auth: { type: 'bearer', token: 'tok-1234567890' } }))).toBe(BULK);
    scope.done();
  });

  it('turns the 200 "Not authenticated." answer into an AuthError without the password', async () => {
    nock(LOGIN)
      .get('/id')
      .reply(200, JSON.stringify(fixture('id/not-authenticated.json')), {
        'content-type': 'application/json',
      });
    const error = await failure(bulkBaseUrl(context()));
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toBe(
      '[ferry] [eloqua] Eloqua refused the credentials (GET /id answered "Not authenticated.")',
    );
    expect(error.message).not.toContain('password123');
  });

  it('turns a 401 from /id into an AuthError', async () => {
    nock(LOGIN).get('/id').reply(401, 'Unauthorized');
    const error = await failure(bulkBaseUrl(context()));
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain('discover base URL (GET /id) failed: HTTP 401');
  });

  it('treats an answer without urls.base as refused credentials', async () => {
    nock(LOGIN)
      .get('/id')
      .reply(200, { site: { id: 1 } });
    expect(await failure(bulkBaseUrl(context()))).toBeInstanceOf(AuthError);
  });

  it('does not cache a failed discovery', async () => {
    nock(LOGIN).get('/id').times(3).reply(503).get('/id').reply(200, fixture('id/ok.json'));
    const ctx = context();
    expect(await failure(bulkBaseUrl(ctx))).toBeInstanceOf(TransientError);
    expect(await bulkBaseUrl(ctx)).toBe(BULK);
  });

  it('forgets the base URL after a 401 from the pod, so the next call asks /id again', async () => {
    mockId();
    const ctx = context();
    const bulk = bulkClient(ctx, await bulkBaseUrl(ctx));
    nock(POD).get(`${BULK_PATH}/contacts/fields`).reply(401, 'Unauthorized');
    const error = await failure(
      sendBulk(ctx, bulk, { method: 'GET', url: '/contacts/fields', operation: 'list' }),
    );
    expect(error).toBeInstanceOf(AuthError);
    const again = mockId();
    await bulkBaseUrl(ctx);
    again.done();
  });
});
