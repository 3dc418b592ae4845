import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csv, type EloquaHarness, FIELDS, startEloqua } from './eloqua-support.ts';

const LIMIT = 32_000_000;

describe('eloqua data uploads', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  beforeEach(async () => {
    await eloqua.call('POST', '/__sandbox/reset');
  });
  afterAll(() => eloqua.close());

  const staged = async () => (await eloqua.call('GET', '/__sandbox/definitions')).body.definitions[0];
  const contact = async (email: string) =>
    (await eloqua.call('GET', `/__sandbox/contacts?email=${encodeURIComponent(email)}`)).body;

  it('stages CSV and JSON uploads (204) and syncs them all', async () => {
    const definition = await eloqua.define();
    const first = await eloqua.upload(
      definition.uri,
      csv(['C_EmailAddress', 'C_FirstName', 'C_LastName'], [['ann@example.com', 'Ann', 'Lee']]),
    );
    expect(first.status).toBe(204);
    expect(first.text).toBe('');
    const second = await eloqua.upload(definition.uri, [
      { C_EmailAddress: 'bob@example.com', C_FirstName: 'Bob' },
    ]);
    expect(second.status).toBe(204);
    expect(await staged()).toMatchObject({ stagedUploads: 2, stagedRecords: 2 });
    const sync = await eloqua.sync(definition.uri);
    expect(await staged()).toMatchObject({ stagedUploads: 0, stagedRecords: 0 });
    expect((await eloqua.settle(sync.uri)).status).toBe('success');
    expect((await contact('ann@example.com')).fields).toMatchObject({
      C_FirstName: 'Ann',
      C_LastName: 'Lee',
    });
    expect((await contact('bob@example.com')).fields.C_FirstName).toBe('Bob');
  });

  it('parses CSV quoting, CRLF/LF, a BOM, blank lines and UTF-8 text', async () => {
    const definition = await eloqua.define({
      fields: { Email: FIELDS.email, First: FIELDS.first, Title: FIELDS.title },
      identifierFieldName: 'Email',
    });
    const body =
      '\uFEFFEmail,First,Title\r\n' +
      'q1@example.com,"Doe, ""JJ""","multi\r\nline"\n' +
      '\r\n' +
      'q2@example.com,Zoë 🚀 Łukasz,plain\n' +
      'q3@example.com,,\n';
    expect((await eloqua.upload(definition.uri, body)).status).toBe(204);
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('success');
    expect((await contact('q1@example.com')).fields).toMatchObject({
      C_FirstName: 'Doe, "JJ"',
      C_Title: 'multi\r\nline',
    });
    expect((await contact('q2@example.com')).fields.C_FirstName).toBe('Zoë 🚀 Łukasz');
    expect((await contact('q3@example.com')).fields.C_FirstName).toBeUndefined();
  });

  it('reads a JSON upload as it streams: strings, numbers, booleans, null, absent keys', async () => {
    await eloqua.call('POST', '/__sandbox/contacts', {
      json: [{ C_EmailAddress: 'j@example.com', C_FirstName: 'Keep', C_LastName: 'Clear', C_Title: 'Old' }],
    });
    const definition = await eloqua.define({
      fields: {
        C_EmailAddress: FIELDS.email,
        C_FirstName: FIELDS.first,
        C_LastName: FIELDS.last,
        C_Title: FIELDS.title,
        Employees: FIELDS.employees,
      },
    });
    const rows = [
      { C_EmailAddress: 'j@example.com', C_LastName: null, C_Title: 'Ne\u001fw', Employees: 250 },
    ];
    expect((await eloqua.upload(definition.uri, rows)).status).toBe(204);
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('success');
    const { fields } = await contact('j@example.com');
    // Absent key: untouched; null: cleared (updateRule always); control characters: spaces.
    expect(fields).toMatchObject({ C_FirstName: 'Keep', C_Title: 'Ne w', C_Number_of_Employees1: '250' });
    expect(fields.C_LastName).toBeUndefined();
  });

  it('answers unparseable bodies with 400 "There was a parsing error."', async () => {
    const definition = await eloqua.define();
    const bad: [string, string][] = [
      ['application/json', '[{"C_EmailAddress":"a@example.com"},]'],
      ['application/json', '{"C_EmailAddress":"a@example.com"}'],
      ['application/json', '[{"C_EmailAddress":"a@example.com"'],
      ['application/json', '[{"C_EmailAddress":}]'],
      ['application/json', ''],
      ['text/csv', 'C_EmailAddress\r\n"unterminated\r\n'],
      ['text/csv', ''],
      ['text/plain', 'C_EmailAddress\r\na@example.com\r\n'],
    ];
    for (const [type, body] of bad) {
      const reply = await eloqua.api('POST', `${definition.uri}/data`, {
        raw: body,
        headers: { 'content-type': type },
      });
      expect(reply.status, `${type} ${body}`).toBe(400);
      expect(reply.text).toBe('There was a parsing error.');
    }
    const untyped = await eloqua.api('POST', `${definition.uri}/data`, { raw: Buffer.from('x') });
    expect(untyped.status).toBe(400);
    expect((await staged()).stagedUploads).toBe(0);
  });

  it('answers uploads to unknown definitions with 404', async () => {
    expect(
      (await eloqua.upload('/contacts/imports/77', csv(['C_EmailAddress'], [['a@example.com']]))).status,
    ).toBe(404);
    expect((await eloqua.api('DELETE', '/contacts/imports/77/data')).status).toBe(404);
  });

  /** A CSV body of exactly `bytes` bytes: large-text notes, so few rows. */
  const csvOfSize = (bytes: number): Buffer => {
    const header = 'C_EmailAddress,C_Notes1\r\n';
    const rows: string[] = [header];
    let size = header.length;
    for (let i = 0; size < bytes; i += 1) {
      const prefix = `big${i}@example.com,`;
      const room = bytes - size - prefix.length - 2;
      const note = 'n'.repeat(Math.max(0, Math.min(30_000, room > 30_050 ? 30_000 : room)));
      rows.push(`${prefix}${note}\r\n`);
      size += prefix.length + note.length + 2;
    }
    const buffer = Buffer.from(rows.join(''));
    expect(buffer.length).toBe(bytes);
    return buffer;
  };

  it('accepts an upload of exactly 32,000,000 bytes and answers one byte more with 404', async () => {
    const definition = await eloqua.define({
      fields: { C_EmailAddress: FIELDS.email, C_Notes1: '{{Contact.Field(C_Notes1)}}' },
    });
    const headers = { 'content-type': 'text/csv' };
    const under = await eloqua.api('POST', `${definition.uri}/data`, { raw: csvOfSize(LIMIT), headers });
    expect(under.status).toBe(204);
    const rows = (await staged()).stagedRecords;
    expect(rows).toBeGreaterThan(1000);
    const over = await eloqua.api('POST', `${definition.uri}/data`, { raw: csvOfSize(LIMIT + 1), headers });
    expect(over.status).toBe(404);
    expect(over.text).toBe('The requested resource was not found.');
    expect(await staged()).toMatchObject({ stagedUploads: 1, stagedRecords: rows });
    // The same limit holds for JSON bodies, counted while streaming (no Content-Length needed).
    const json = Buffer.from(`[${'{"C_EmailAddress":"x@example.com"},'.repeat(LIMIT / 32)}{}]`);
    expect(json.length).toBeGreaterThan(LIMIT);
    const overJson = await eloqua.api('POST', `${definition.uri}/data`, {
      raw: json,
      headers: { 'content-type': 'application/json' },
    });
    expect(overJson.status).toBe(404);
    expect((await eloqua.api('DELETE', `${definition.uri}/data`)).status).toBe(204);
    expect((await staged()).stagedUploads).toBe(0);
  });

  it('accepts 500 uploads per sync and rejects the 501st with a failures body', async () => {
    const definition = await eloqua.define();
    for (let batch = 0; batch < 10; batch += 1) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          eloqua.upload(definition.uri, csv(['C_EmailAddress'], [[`u${batch * 50 + i}@example.com`]])),
        ),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(50).fill(204));
    }
    const over = await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['u500@example.com']]));
    expect(over.status).toBe(400);
    expect(over.body).toEqual({
      failures: [
        { field: 'data', value: '501 uploads', constraint: 'Must not exceed 500 uploads (files) per sync.' },
      ],
    });
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('success');
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(500);
    // The sync took the staged uploads: the count starts again.
    expect(
      (await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['u500@example.com']]))).status,
    ).toBe(204);
  });

  it('starts a sync per upload when isSyncTriggeredOnImport (201 with the sync)', async () => {
    const definition = await eloqua.define({ isSyncTriggeredOnImport: true });
    const reply = await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['auto@example.com']]));
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      syncedInstanceUri: definition.uri,
      status: 'pending',
      createdAt: expect.any(String),
      createdBy: 'sandbox.user',
      uri: '/syncs/1',
    });
    expect((await eloqua.settle(reply.body.uri)).status).toBe('success');
    const next = await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['auto2@example.com']]));
    expect(next.body.uri).toBe('/syncs/2');
    expect((await eloqua.settle(next.body.uri)).status).toBe('success');
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(2);
  });

  it('clears staged data with DELETE .../data (204)', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['gone@example.com']]));
    const cleared = await eloqua.api('DELETE', `${definition.uri}/data`);
    expect(cleared.status).toBe(204);
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('error');
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
  });
});
