import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectMatchesSpec, type Harness, parseCsv, sleep, startSendgrid } from './sendgrid-support.ts';

/*
 * Contact exports against the emulator over HTTP: 202 + id, pending → ready with `urls` and
 * `expires_at`, gzip'd JSON (NDJSON as the real files are) and CSV files, list exports, files split
 * by row count, expiry (403 like an expired presigned S3 URL), and the request validation.
 */

const PATH = '/v3/marketing/contacts/exports';

const download = async (url: string): Promise<{ status: number; text: string; type: string | null }> => {
  const response = await fetch(url);
  const bytes = Buffer.from(await response.arrayBuffer());
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    text: response.status === 200 ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8'),
  };
};

describe('sendgrid contact exports', () => {
  let sendgrid: Harness;
  let listId = '';
  beforeAll(async () => {
    sendgrid = await startSendgrid({
      startDelayMs: 150,
      recordsPerSecond: 100_000,
      customFields: [{ name: 'plan', field_type: 'Text' }],
      exportMaxRowsPerFile: 4,
    });
    const fields = (await sendgrid.call('GET', '/v3/marketing/field_definitions')).body;
    const plan = fields.custom_fields.find((f: { name: string }) => f.name === 'plan').id;
    listId = (await sendgrid.call('POST', '/v3/marketing/lists', { body: { name: 'vip' } })).body.id;
    const contacts = Array.from({ length: 10 }, (_, i) => ({
      email: `c${i}@example.com`,
      first_name: `C${i}`,
      ...(i % 2 === 0 ? { custom_fields: { [plan]: 'gold' } } : {}),
    }));
    expect((await upsert({ contacts })).body.status).toBe('completed');
    const vip = await upsert({
      list_ids: [listId],
      contacts: [{ email: 'c1@example.com' }, { email: 'c2@example.com' }],
    });
    expect(vip.body.status).toBe('completed');
  });
  afterAll(() => sendgrid.close());

  /** A JSON upsert, waited for (the harness's `upsert` assumes zero delay). */
  const upsert = async (body: unknown) => {
    const accepted = await sendgrid.call('PUT', '/v3/marketing/contacts', { body });
    expect(accepted.status, accepted.text).toBe(202);
    for (;;) {
      const job = await sendgrid.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      if (job.body.status !== 'pending') return job;
      await sleep(20);
    }
  };

  const settle = async (id: string) => {
    for (;;) {
      const reply = await sendgrid.call('GET', `${PATH}/${id}`);
      expect(reply.status).toBe(200);
      expectMatchesSpec('contacts', `${PATH}/{id}`, 'get', 200, reply.body);
      if (reply.body.status !== 'pending') return reply.body;
      await sleep(25);
    }
  };

  it("exports every contact as gzip'd NDJSON files: pending, then ready with urls, contact_count and expires_at", async () => {
    const created = await sendgrid.call('POST', PATH, { body: { file_type: 'json' } });
    expect(created.status).toBe(202);
    expectMatchesSpec('contacts', PATH, 'post', 202, created.body);
    const pending = (await sendgrid.call('GET', `${PATH}/${created.body.id}`)).body;
    expect(pending).toMatchObject({ status: 'pending' });
    expect(pending.urls).toBeUndefined();
    const ready = await settle(created.body.id);
    expect(ready).toMatchObject({ status: 'ready', contact_count: 10, export_type: 'contacts_export' });
    // 72 hours by default.
    expect(Date.parse(ready.expires_at) - Date.parse(ready.completed_at)).toBe(72 * 3_600_000);
    expect(ready.urls).toHaveLength(3); // 4 + 4 + 2 rows
    const lines: Record<string, unknown>[] = [];
    for (const url of ready.urls as string[]) {
      const file = await download(url);
      expect(file.status).toBe(200);
      expect(file.type).toBe('application/gzip');
      for (const line of file.text.split('\n').filter((l) => l !== '')) lines.push(JSON.parse(line));
    }
    expect(lines).toHaveLength(10);
    expect(lines[0]).toEqual({
      contact_id: expect.any(String),
      created_at: expect.stringMatching(/Z$/),
      custom_fields: { plan: 'gold' },
      email: 'c0@example.com',
      first_name: 'C0',
      updated_at: expect.stringMatching(/Z$/),
    });
    // Keys sorted, empty fields left out (as sendgrid-csharp#1024 shows a real file).
    expect(Object.keys(lines[1] ?? {})).toEqual([
      'contact_id',
      'created_at',
      'custom_fields',
      'email',
      'first_name',
      'list_ids',
      'updated_at',
    ]);
    const listed = (await sendgrid.call('GET', PATH)).body;
    expectMatchesSpec('contacts', PATH, 'get', 200, listed);
    expect(listed.result.map((r: { id: string }) => r.id)).toContain(created.body.id);
  });

  it('exports a list as CSV with a header row, and the files expire', async () => {
    const created = await sendgrid.call('POST', PATH, { body: { list_ids: [listId], file_type: 'csv' } });
    const ready = await settle(created.body.id);
    expect(ready).toMatchObject({ contact_count: 2, export_type: 'list_export' });
    const file = await download(ready.urls[0]);
    const rows = parseCsv(file.text);
    expect(rows[0]?.slice(0, 3)).toEqual(['EMAIL', 'FIRST_NAME', 'LAST_NAME']);
    expect(rows[0]?.slice(-4)).toEqual(['CONTACT_ID', 'CREATED_AT', 'UPDATED_AT', 'plan']);
    expect(rows.slice(1).map((row) => [row[0], row.at(-1)])).toEqual([
      ['c1@example.com', ''],
      ['c2@example.com', 'gold'],
    ]);
    expect((await sendgrid.call('POST', `/__sandbox/exports/${created.body.id}/expire`)).status).toBe(204);
    const expired = await download(ready.urls[0]);
    expect(expired.status).toBe(403);
    expect(expired.text).toContain('<Code>AccessDenied</Code>');
  });

  it('validates the request and needs the API key', async () => {
    for (const body of [
      { file_type: 'xml' },
      { list_ids: ['00000000-0000-0000-0000-000000000000'] },
      { max_file_size: 0 },
      { segment_ids: ['s'] },
    ]) {
      const reply = await sendgrid.call('POST', PATH, { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expectMatchesSpec('contacts', PATH, 'post', 400, reply.body);
    }
    expect((await sendgrid.call('POST', PATH, { body: {}, auth: false })).status).toBe(401);
    const missing = await sendgrid.call('GET', `${PATH}/no-such-export`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${sendgrid.url}/__files/exports/nope/0.json.gz`)).status).toBe(404);
  });
});
