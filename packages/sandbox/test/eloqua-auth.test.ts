import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASIC,
  basic,
  type EloquaHarness,
  PASSWORD,
  SITE,
  startEloqua,
  TOKEN,
  USER,
} from './eloqua-support.ts';

describe('eloqua auth and /id', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  afterAll(() => eloqua.close());

  it('answers GET /id with Basic Site\\User:Password, pointing urls at itself', async () => {
    const reply = await eloqua.call('GET', '/id');
    expect(reply.status).toBe(200);
    expect(reply.body.site).toEqual({ id: 42, name: SITE });
    expect(reply.body.user.username).toBe(USER);
    expect(reply.body.urls.base).toBe(eloqua.url);
    expect(reply.body.urls.apis.rest.bulk).toBe(`${eloqua.url}/API/Bulk/{version}/`);
    expect(reply.body.urls.apis.rest.standard).toBe(`${eloqua.url}/API/REST/{version}/`);
  });

  it('derives urls.base from the Host header the client used', async () => {
    // fetch will not let a caller set Host, so this one goes through node:http.
    const body = await new Promise<string>((resolve, reject) => {
      const request = get(
        `${eloqua.url}/id`,
        { headers: { host: 'localhost:1234', authorization: BASIC } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            text += chunk;
          });
          response.on('end', () => resolve(text));
        },
      );
      request.on('error', reject);
    });
    expect(JSON.parse(body).urls.base).toBe('http://localhost:1234');
  });

  it('accepts site and user names in any case, but not a wrong-case password', async () => {
    expect(
      (await eloqua.call('GET', '/id', { auth: basic(`${SITE.toUpperCase()}\\${USER.toUpperCase()}`) })).body
        .site,
    ).toBeDefined();
    const wrong = await eloqua.call('GET', '/id', { auth: basic(undefined, PASSWORD.toUpperCase()) });
    expect(wrong.body).toBe('Not authenticated.');
  });

  it('accepts the configured Bearer token on /id and the Bulk API', async () => {
    const auth = `Bearer ${TOKEN}`;
    expect((await eloqua.call('GET', '/id', { auth })).status).toBe(200);
    expect((await eloqua.api('GET', '/contacts/fields?limit=1', { auth })).status).toBe(200);
  });

  it('answers bad credentials on /id with 200 "Not authenticated." by default', async () => {
    for (const auth of [
      false,
      basic('OtherSite\\sandbox.user'),
      basic(USER),
      'Bearer nope',
      'Digest x',
    ] as const) {
      const reply = await eloqua.call('GET', '/id', { auth });
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('"Not authenticated."');
      expect(reply.body).toBe('Not authenticated.');
    }
  });

  it('requires credentials on every Bulk route (401)', async () => {
    const routes: [string, string][] = [
      ['GET', '/contacts/fields'],
      ['GET', '/contacts/fields/100001'],
      ['GET', '/contacts/imports'],
      ['POST', '/contacts/imports'],
      ['GET', '/contacts/imports/1'],
      ['PUT', '/contacts/imports/1'],
      ['DELETE', '/contacts/imports/1'],
      ['POST', '/contacts/imports/1/data'],
      ['DELETE', '/contacts/imports/1/data'],
      ['GET', '/syncs'],
      ['POST', '/syncs'],
      ['GET', '/syncs/1'],
      ['GET', '/syncs/1/rejects'],
      ['GET', '/syncs/1/logs'],
    ];
    for (const [method, path] of routes) {
      for (const auth of [false, basic(undefined, 'wrong'), 'Bearer wrong'] as const) {
        const reply = await eloqua.api(method, path, { auth, ...(method === 'POST' ? { json: {} } : {}) });
        expect(reply.status, `${method} ${path}`).toBe(401);
        expect(reply.text).toBe('Unauthorized');
      }
    }
  });

  it('serves the Bulk API under /API/Bulk/2.0 too (the casing of urls.apis.rest.bulk)', async () => {
    const reply = await eloqua.call('GET', '/API/Bulk/2.0/contacts/fields?limit=1');
    expect(reply.status).toBe(200);
    expect(reply.body.items).toHaveLength(1);
  });

  it('issues OAuth tokens (password and refresh grants) that work as Bearer tokens', async () => {
    const client = basic('sandbox-client', 'sandbox-client-secret');
    const form = new URLSearchParams({
      grant_type: 'password',
      username: `${SITE}\\${USER}`,
      password: PASSWORD,
    });
    const token = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: client,
      raw: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(token.status).toBe(200);
    expect(token.body).toMatchObject({ token_type: 'bearer', expires_in: 28800 });
    expect((await eloqua.call('GET', '/id', { auth: `Bearer ${token.body.access_token}` })).status).toBe(200);

    const refreshed = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: client,
      json: { grant_type: 'refresh_token', refresh_token: token.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(token.body.access_token);
    // A refresh token works once.
    const again = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: client,
      json: { grant_type: 'refresh_token', refresh_token: token.body.refresh_token },
    });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_grant' });

    const badUser = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: client,
      json: { grant_type: 'password', username: `${SITE}\\${USER}`, password: 'nope' },
    });
    expect(badUser.body).toEqual({ error: 'invalid_grant' });
    const badClient = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: BASIC,
      json: { grant_type: 'password' },
    });
    expect(badClient.status).toBe(401);
    expect(badClient.body).toEqual({ error: 'invalid_client' });
  });

  it('forgets issued tokens on reset', async () => {
    const token = await eloqua.call('POST', '/auth/oauth2/token', {
      auth: basic('sandbox-client', 'sandbox-client-secret'),
      json: { grant_type: 'password', username: `${SITE}\\${USER}`, password: PASSWORD },
    });
    const auth = `Bearer ${token.body.access_token}`;
    expect((await eloqua.api('GET', '/syncs', { auth })).status).toBe(200);
    await eloqua.call('POST', '/__sandbox/reset');
    expect((await eloqua.api('GET', '/syncs', { auth })).status).toBe(401);
    expect((await eloqua.api('GET', '/syncs', { auth: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('eloqua auth options', () => {
  it('answers /id with 401 when idAuthFailure is "unauthorized", and uses configured credentials', async () => {
    const eloqua = await startEloqua({
      idAuthFailure: 'unauthorized',
      siteName: 'Acme',
      username: 'jane',
      password: 's3cret',
      accessToken: 'tok',
    });
    try {
      expect((await eloqua.call('GET', '/id')).status).toBe(401);
      const ok = await eloqua.call('GET', '/id', { auth: basic('Acme\\jane', 's3cret') });
      expect(ok.body.site.name).toBe('Acme');
      expect((await eloqua.api('GET', '/syncs', { auth: 'Bearer tok' })).status).toBe(200);
      expect((await eloqua.api('GET', '/syncs', { auth: `Bearer ${TOKEN}` })).status).toBe(401);
    } finally {
      await eloqua.close();
    }
  });
});
