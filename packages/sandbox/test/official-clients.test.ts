import { request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import sendgridClient from '@sendgrid/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASIC, type EloquaHarness, FIELDS, startEloqua } from './eloqua-support.ts';
import { API_KEY, type Harness, startSendgrid } from './sendgrid-support.ts';

/**
 * The emulators driven by the vendors' own clients, so that what works against SendGrid works
 * here. `@sendgrid/client` sends `Content-Type: application/json` on every call, a DELETE without a
 * body included (its docs' example for deleting contacts does exactly that), and SendGrid accepts
 * it. No Eloqua client on npm makes DELETE calls (the `eloqua` package only exports), so the Eloqua
 * emulator gets the same request shape from node:http.
 */

const LIST = '3f9c1a52-7c1e-4d5e-9a0b-1c2d3e4f5a6b';

describe('SendGrid, through @sendgrid/client', () => {
  let sandbox: Harness;
  // The package's default client, as its README uses it.
  const client = sendgridClient;
  beforeAll(async () => {
    sandbox = await startSendgrid({
      customFields: [{ name: 'notes', field_type: 'Text' }],
      lists: [{ id: LIST, name: 'Newsletter' }],
    });
    client.setApiKey(API_KEY);
    // After setApiKey, which sets the region's host.
    client.setDefaultRequest('baseUrl', sandbox.url);
  });
  afterAll(() => sandbox.close());

  const upsertTwo = async (): Promise<string[]> => {
    const [upserted] = await client.request({
      method: 'PUT',
      url: '/v3/marketing/contacts',
      body: {
        list_ids: [LIST],
        contacts: [{ email: 'ann@example.com' }, { email: 'bob@example.com' }],
      },
    });
    expect(upserted.statusCode).toBe(202);
    const [found] = await client.request({
      method: 'POST',
      url: '/v3/marketing/contacts/search/emails',
      body: { emails: ['ann@example.com', 'bob@example.com'] },
    });
    const result = (found.body as { result: Record<string, { contact: { id: string } }> }).result;
    return Object.values(result).map((entry) => entry.contact.id);
  };

  it('sends Content-Type: application/json with a body-less DELETE', () => {
    const built = client.createRequest({ method: 'DELETE', url: '/v3/marketing/contacts' });
    expect(built.headers).toMatchObject({ 'Content-Type': 'application/json' });
    expect((built as { data?: unknown }).data).toBeUndefined();
  });

  it('deletes contacts by id, and all contacts', async () => {
    const ids = await upsertTwo();
    const [byIds] = await client.request({
      method: 'DELETE',
      url: '/v3/marketing/contacts',
      qs: { ids: ids[0] },
    });
    expect(byIds.statusCode).toBe(202);
    expect(byIds.body).toMatchObject({ job_id: expect.any(String) });
    const [all] = await client.request({
      method: 'DELETE',
      url: '/v3/marketing/contacts',
      qs: { delete_all_contacts: 'true' },
    });
    expect(all.statusCode).toBe(202);
    const [count] = await client.request({ method: 'GET', url: '/v3/marketing/contacts/count' });
    expect(count.body).toMatchObject({ contact_count: 0 });
  });

  it('removes list members and deletes a list', async () => {
    const ids = await upsertTwo();
    const [removed] = await client.request({
      method: 'DELETE',
      url: `/v3/marketing/lists/${LIST}/contacts`,
      qs: { contact_ids: ids.join(',') },
    });
    expect(removed.statusCode).toBe(202);
    const [created] = await client.request({
      method: 'POST',
      url: '/v3/marketing/lists',
      body: { name: 'Short-lived' },
    });
    const listId = (created.body as { id: string }).id;
    const [deleted] = await client.request({ method: 'DELETE', url: `/v3/marketing/lists/${listId}` });
    expect([200, 204]).toContain(deleted.statusCode);
  });

  it('exports contacts as the docs show it: POST exports → id, GET status until ready → urls (gzip)', async () => {
    await upsertTwo();
    const [created] = await client.request({
      method: 'POST',
      url: '/v3/marketing/contacts/exports',
      body: { list_ids: [LIST], file_type: 'json' },
    });
    expect(created.statusCode).toBe(202);
    const id = (created.body as { id: string }).id;
    let status: { status: string; urls?: string[] } = { status: 'pending' };
    while (status.status === 'pending') {
      const [checked] = await client.request({ method: 'GET', url: `/v3/marketing/contacts/exports/${id}` });
      expect(checked.statusCode).toBe(200);
      status = checked.body as typeof status;
    }
    expect(status.status).toBe('ready');
    const file = await fetch(status.urls?.[0] ?? '');
    const text = gunzipSync(Buffer.from(await file.arrayBuffer())).toString('utf8');
    const emails = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => (JSON.parse(line) as { email: string }).email)
      .sort();
    expect(emails).toEqual(['ann@example.com', 'bob@example.com']);
  });

  it('deletes a custom field definition', async () => {
    const [created] = await client.request({
      method: 'POST',
      url: '/v3/marketing/field_definitions',
      body: { name: 'short_lived', field_type: 'Text' },
    });
    expect(created.statusCode).toBe(200);
    const [deleted] = await client.request({
      method: 'DELETE',
      url: `/v3/marketing/field_definitions/${(created.body as { id: string }).id}`,
    });
    expect(deleted.statusCode).toBe(204);
  });

  it('still refuses a PUT whose JSON body is empty', async () => {
    const reply = await sandbox.call('PUT', '/v3/marketing/contacts', {
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(reply.status).toBe(400);
  });
});

/** A request as @sendgrid/client makes it: Content-Type set, no body, Content-Length 0. */
const bodyless = (
  url: string,
  method: string,
  authorization: string,
): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method,
        headers: { 'content-type': 'application/json', 'content-length': '0', authorization },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end();
  });

describe('Eloqua, a body-less DELETE with Content-Type: application/json', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  afterAll(() => eloqua.close());

  it('clears staged data and deletes the definition', async () => {
    const created = await eloqua.api('POST', '/contacts/imports', {
      json: { name: 'bodyless delete', fields: { email: FIELDS.email }, identifierFieldName: 'email' },
    });
    expect(created.status, created.text).toBe(201);
    const base = `${eloqua.url}/api/bulk/2.0${created.body.uri}`;
    const cleared = await bodyless(`${base}/data`, 'DELETE', BASIC);
    expect(cleared, cleared.text).toMatchObject({ status: 204 });
    const deleted = await bodyless(base, 'DELETE', BASIC);
    expect(deleted, deleted.text).toMatchObject({ status: 204 });
    expect((await eloqua.api('GET', created.body.uri)).status).toBe(404);
  });

  it('still refuses a POST whose JSON body is empty', async () => {
    const reply = await bodyless(`${eloqua.url}/api/bulk/2.0/contacts/imports`, 'POST', BASIC);
    expect(reply).toMatchObject({ status: 400, text: 'There was a parsing error.' });
  });
});
