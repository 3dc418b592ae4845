import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  expectMatchesSpec,
  type Harness,
  parseCsv,
  sleep,
  startSendgrid,
} from './sendgrid-support.ts';

const LIST_ID = 'ca7a3796-e8a8-4029-9ccb-df8937940562';
let sg: Harness;

beforeAll(async () => {
  sg = await startSendgrid({
    customFields: [
      { id: 'e1_T', name: 'tier', field_type: 'Text' },
      { id: 'w2', name: 'dob', field_type: 'Date' },
      { id: 'w33', name: 'num_orders', field_type: 'Number' },
    ],
    lists: [{ id: LIST_ID, name: 'newsletter' }],
  });
});
afterAll(() => sg.close());

const errorsFile = async (status: { body: { results: { errors_url?: string } } }): Promise<string[][]> => {
  const url = status.body.results.errors_url;
  expect(url).toBeDefined();
  const file = await sg.call('GET', url as string, { auth: false });
  expect(file.status).toBe(200);
  expect(file.headers.get('content-type')).toBe('text/csv; charset=utf-8');
  return parseCsv(file.text);
};

describe('auth', () => {
  it('401s without a key, with a wrong key and with a non-Bearer scheme, in the ErrorResponse shape', async () => {
    const missing = await sg.call('GET', '/v3/marketing/field_definitions', { auth: false });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ errors: [{ field: null, message: 'authorization required' }] });
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 401, missing.body);
    expect(missing.headers.get('x-ratelimit-limit')).not.toBeNull();

    const wrong = await sg.call('PUT', '/v3/marketing/contacts', {
      auth: false,
      headers: { authorization: 'Bearer SG.wrong' },
      body: { contacts: [{ email: 'a@example.com' }] },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors[0].message).toBe(
      'The provided authorization grant is invalid, expired, or revoked',
    );

    const basic = await sg.call('GET', '/v3/marketing/lists', {
      auth: false,
      headers: { authorization: 'Basic abc' },
    });
    expect(basic.status).toBe(401);
    const unknownPath = await sg.call('GET', '/v3/marketing/nothing', { auth: false });
    expect(unknownPath.status).toBe(401);
  });
});

describe('PUT /v3/marketing/contacts', () => {
  it('accepts the vendor example, answers 202 {job_id}, and applies it when the job completes', async () => {
    const accepted = await sg.call('PUT', '/v3/marketing/contacts', {
      body: {
        list_ids: [LIST_ID],
        contacts: [
          {
            email: 'Ann@Example.com',
            first_name: 'Ann',
            last_name: 'Lee',
            custom_fields: { e1_T: 'gold', w2: '2024-01-31', w33: '42' },
          },
          { external_id: 'crm-4711', email: 'bob@example.com' },
        ],
      },
    });
    expect(accepted.status).toBe(202);
    expect(Object.keys(accepted.body)).toEqual(['job_id']);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 202, accepted.body);

    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
    expect(status.status).toBe(200);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 200, status.body);
    expect(status.body).toMatchObject({
      id: accepted.body.job_id,
      status: 'completed',
      job_type: 'upsert',
      results: { requested_count: 2, created_count: 2, updated_count: 0, deleted_count: 0, errored_count: 0 },
    });
    // Same keys as vendor-apis.md's B.2.2 example, minus errors_url (no errors).
    expect(Object.keys(status.body).sort()).toEqual([
      'finished_at',
      'id',
      'job_type',
      'results',
      'started_at',
      'status',
    ]);
    expect(status.body.started_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(status.body.results.errors_url).toBeUndefined();

    const ann = await sg.call('GET', '/__sandbox/contacts?email=ann@example.com');
    expect(ann.body.contacts[0]).toMatchObject({
      email: 'ann@example.com',
      first_name: 'Ann',
      last_name: 'Lee',
      list_ids: [LIST_ID],
      custom_fields: { tier: 'gold', dob: '2024-01-31T00:00:00Z', num_orders: 42 },
    });
    const bob = await sg.call('GET', '/__sandbox/contacts?email=BOB@example.com');
    expect(bob.body.contacts[0]).toMatchObject({ external_id: 'crm-4711', first_name: '' });
  });

  it('updates in place: upper-case e-mail hits the lower-case contact, omitted fields stay', async () => {
    await sg.upsert({ contacts: [{ email: 'carol@example.com', first_name: 'Carol', city: 'Oslo' }] });
    const status = await sg.upsert({ contacts: [{ email: 'CAROL@EXAMPLE.COM', last_name: 'King' }] });
    expect(status.body.results).toMatchObject({ created_count: 0, updated_count: 1 });
    const carol = await sg.call('GET', '/__sandbox/contacts?email=carol@example.com');
    expect(carol.body.contacts[0]).toMatchObject({ first_name: 'Carol', last_name: 'King', city: 'Oslo' });
  });

  it('requires all existing identifiers to update a contact, and creates contacts keyed by any identifier', async () => {
    const created = await sg.upsert({
      contacts: [
        { email: 'dora@example.com', external_id: 'x-1' },
        { anonymous_id: 'anon-1', first_name: 'Anon' },
        { phone_number_id: '+14155550123' },
      ],
    });
    expect(created.body.results.created_count).toBe(3);
    const partial = await sg.upsert({ contacts: [{ email: 'dora@example.com', first_name: 'Dora' }] });
    expect(partial.body.status).toBe('failed');
    const rows = await errorsFile(partial);
    expect(rows[1]?.[rows[0]?.indexOf('error') ?? -1]).toContain('all of its existing identifiers');
    const full = await sg.upsert({
      contacts: [{ email: 'dora@example.com', external_id: 'x-1', first_name: 'Dora' }],
    });
    expect(full.body.status).toBe('completed');
  });

  it('takes 30,000 contacts and refuses 30,001 with 400', async () => {
    const contacts = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `bulk${i}@example.com` }));
    const ok = await sg.upsert({ contacts: contacts(30_000) });
    expect(ok.body.results).toMatchObject({
      requested_count: 30_000,
      created_count: 30_000,
      errored_count: 0,
    });
    const over = await sg.call('PUT', '/v3/marketing/contacts', { body: { contacts: contacts(30_001) } });
    expect(over.status).toBe(400);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 400, over.body);
    expect(over.body.errors[0]).toMatchObject({ field: 'contacts' });
    expect(over.body.errors[0].message).toContain('30000');
  });

  it('takes a body of exactly 6 MB (6,000,000 bytes, as SendGrid writes it) and refuses one byte more with 413', async () => {
    const limit = 6_000_000;
    const contacts = Array.from({ length: 20_000 }, (_, i) => ({
      email: `six${i}@example.com`,
      city: 'c'.repeat(60),
    }));
    const json = JSON.stringify({ contacts });
    expect(json.length).toBeLessThan(limit);
    // JSON allows trailing whitespace, which sizes the body to the byte.
    const atLimit = json + ' '.repeat(limit - json.length);
    const ok = await sg.call('PUT', '/v3/marketing/contacts', {
      raw: atLimit,
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(202);
    const over = await sg.call('PUT', '/v3/marketing/contacts', {
      raw: `${atLimit} `,
      headers: { 'content-type': 'application/json' },
    });
    expect(over.status).toBe(413);
    expect(over.body.errors[0].message).toContain(String(limit));
  });

  it.each([
    ['with Content-Length', true],
    ['chunked', false],
  ])(
    'reads an oversized body to its end before answering 413 (%s), so the client sees the status',
    async (_name, sized) => {
      // Answering before the body is read makes the client's write fail (EPIPE, a reset): a
      // transient network error it would retry, instead of the 413.
      const url = new URL('/v3/marketing/contacts', sg.url);
      // Well past the socket buffers (a few MB), so the client is still writing when the answer comes.
      const size = 32 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const outcomes: string[] = [];
      for (let attempt = 0; attempt < 4; attempt += 1) {
        outcomes.push(
          await new Promise<string>((resolve) => {
            const request = httpRequest(
              url,
              {
                method: 'PUT',
                headers: {
                  authorization: `Bearer ${API_KEY}`,
                  'content-type': 'application/json',
                  ...(sized ? { 'content-length': String(size) } : {}),
                },
              },
              (response) => {
                response.resume();
                response.on('end', () => resolve(`HTTP ${response.statusCode}`));
                response.on('error', (error) => resolve(`response ${(error as NodeJS.ErrnoException).code}`));
              },
            );
            request.on('error', (error) => resolve(`request ${(error as NodeJS.ErrnoException).code}`));
            // In chunks, with back-pressure, as a client streaming a large body does.
            let sent = 0;
            const pump = (): void => {
              while (sent < size) {
                sent += chunk.length;
                if (!request.write(chunk)) {
                  request.once('drain', pump);
                  return;
                }
              }
              request.end();
            };
            pump();
          }),
        );
      }
      expect(outcomes).toEqual(Array.from({ length: 4 }, () => 'HTTP 413'));
    },
  );

  it('rejects values past the spec max lengths per contact (errors file), accepting exactly the max', async () => {
    const limits: Record<string, number> = {
      first_name: 50,
      last_name: 50,
      address_line_1: 100,
      address_line_2: 100,
      city: 60,
      state_province_region: 50,
      country: 50,
      external_id: 254,
      anonymous_id: 254,
    };
    const contacts: Record<string, unknown>[] = [];
    for (const [field, max] of Object.entries(limits)) {
      contacts.push({ email: `max-${field}@example.com`, [field]: 'm'.repeat(max) });
      contacts.push({ email: `over-${field}@example.com`, [field]: 'o'.repeat(max + 1) });
    }
    // Lengths count characters: 50 emoji are 100 UTF-16 units but within first_name's 50.
    contacts.push({ email: 'emoji@example.com', first_name: '😀'.repeat(50) });
    const local = 'l'.repeat(64);
    const email254 = `${local}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`;
    expect(email254.length).toBe(254);
    contacts.push({ email: email254 });
    contacts.push({ email: `${local}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(58)}.com` });
    contacts.push({
      email: 'alts@example.com',
      alternate_emails: ['a1@x.io', 'a2@x.io', 'a3@x.io', 'a4@x.io', 'a5@x.io'],
    });
    contacts.push({
      email: 'alts6@example.com',
      alternate_emails: ['a1@y.io', 'a2@y.io', 'a3@y.io', 'a4@y.io', 'a5@y.io', 'a6@y.io'],
    });

    const status = await sg.upsert({ contacts });
    const overCount = Object.keys(limits).length + 2;
    expect(status.body).toMatchObject({ status: 'errored' });
    expect(status.body.results).toMatchObject({
      requested_count: contacts.length,
      created_count: contacts.length - overCount,
      errored_count: overCount,
    });
    const rows = await errorsFile(status);
    expect(rows[0]).toEqual(['email', 'external_id', 'anonymous_id', 'error']);
    const byEmail = new Map(rows.slice(1).map((row) => [row[0], row[3]]));
    for (const [field, max] of Object.entries(limits)) {
      expect(byEmail.get(`over-${field}@example.com`)).toBe(
        `${field} exceeds the maximum length of ${max} characters`,
      );
      expect(byEmail.has(`max-${field}@example.com`)).toBe(false);
    }
    expect(byEmail.get('alts6@example.com')).toBe('alternate_emails may hold at most 5 addresses');
    expect([...byEmail.values()].filter((message) => message?.startsWith('email exceeds'))).toHaveLength(1);
    const emoji = await sg.call('GET', '/__sandbox/contacts?email=emoji@example.com');
    expect(emoji.body.contacts[0].first_name).toBe('😀'.repeat(50));
  });

  it('checks e-mail syntax per contact, keeping good neighbours', async () => {
    const bad = [
      'plain',
      '@example.com',
      'a@',
      'a@b',
      'a b@example.com',
      'a..b@example.com',
      '.a@example.com',
      'a@-x.com',
      'a@x..com',
      'a@@x.com',
    ];
    const good = ['jürgen@bücher.de', "o'neil+tag@example.co.uk", 'x@xn--bcher-kva.de', 'UPPER@EXAMPLE.ORG'];
    const status = await sg.upsert({ contacts: [...bad, ...good].map((email) => ({ email })) });
    expect(status.body.results).toMatchObject({ created_count: good.length, errored_count: bad.length });
    const rows = await errorsFile(status);
    expect(rows.slice(1).map((row) => row[0])).toEqual(bad);
    expect(rows.slice(1).every((row) => row[1] === 'invalid email')).toBe(true);
    const unicode = await sg.call(
      'GET',
      `/__sandbox/contacts?email=${encodeURIComponent('jürgen@bücher.de')}`,
    );
    expect(unicode.body.total).toBe(1);
  });

  it('needs an identifier, string fields and valid custom field values per contact', async () => {
    const status = await sg.upsert({
      contacts: [
        { first_name: 'Nobody' },
        { email: 'types@example.com', first_name: 42 },
        { email: 'num@example.com', custom_fields: { w33: 'many' } },
        { email: 'date@example.com', custom_fields: { w2: '2024-02-31' } },
        { email: 'phone@example.com', phone_number_id: '555-1234' },
        { email: 'fine@example.com', custom_fields: { w33: 7.5, w2: '01/31/2024', e1_T: 12 } },
      ],
    });
    expect(status.body.status).toBe('errored');
    const rows = await errorsFile(status);
    expect(rows[0]).toEqual(['email', 'phone_number_id', 'error']);
    expect(rows.slice(1).map((row) => row[2])).toEqual([
      'contact must have at least one of email, phone_number_id, external_id, anonymous_id',
      'first_name must be a string',
      'custom field num_orders (w33) must be a number',
      'custom field dob (w2) must be a date (YYYY-MM-DD, MM/DD/YYYY or ISO 8601)',
      'invalid phone_number_id (expected an E.164 phone number such as +14155550123)',
    ]);
    const fine = await sg.call('GET', '/__sandbox/contacts?email=fine@example.com');
    expect(fine.body.contacts[0].custom_fields).toEqual({
      num_orders: 7.5,
      dob: '2024-01-31T00:00:00Z',
      tier: '12',
    });
  });

  it('fails the whole request for unknown custom field ids, custom_fields arrays, bad and unknown lists', async () => {
    const names = await sg.call('PUT', '/v3/marketing/contacts', {
      body: {
        contacts: [{ email: 'a@example.com', custom_fields: { partner: 'x', w33: 1, emailVerified: true } }],
      },
    });
    expect(names.status).toBe(400);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 400, names.body);
    // The text clients have seen from the vendor (vendor-apis.md B.2.1, S9).
    expect(names.body.errors[0].message).toBe('invalid custom field ids supplied - partner,emailVerified');

    const array = await sg.call('PUT', '/v3/marketing/contacts', {
      body: { contacts: [{ email: 'a@example.com', custom_fields: [{ w33: 1 }] }] },
    });
    expect(array.status).toBe(400);
    expect(array.body).toEqual({ errors: [{ field: '', message: 'invalid input' }] });

    const malformed = await sg.call('PUT', '/v3/marketing/contacts', {
      body: { list_ids: ['not-a-uuid'], contacts: [{ email: 'a@example.com' }] },
    });
    expect(malformed.status).toBe(400);
    const missing = await sg.call('PUT', '/v3/marketing/contacts', {
      body: { list_ids: ['00000000-0000-4000-8000-000000000000'], contacts: [{ email: 'a@example.com' }] },
    });
    expect(missing.status).toBe(404);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 404, missing.body);

    for (const body of [{}, { contacts: [] }, { contacts: 'x' }, { contacts: ['x'] }, []]) {
      const bad = await sg.call('PUT', '/v3/marketing/contacts', { body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 400, bad.body);
    }
    const notJson = await sg.call('PUT', '/v3/marketing/contacts', {
      raw: '{"contacts": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'put', 400, notJson.body);
  });

  it('marks a job failed when every contact is rejected', async () => {
    const status = await sg.upsert({ contacts: [{ email: 'nope' }, { email: 'also-nope' }] });
    expect(status.body).toMatchObject({ status: 'failed', results: { errored_count: 2, created_count: 0 } });
  });
});

describe('POST /v3/marketing/contacts/search/emails', () => {
  it('returns found contacts and per-address errors in the spec shape', async () => {
    await sg.upsert({
      list_ids: [LIST_ID],
      contacts: [
        {
          email: 'jane_doe@example.com',
          first_name: 'Jane',
          last_name: 'Doe',
          alternate_emails: ['janedoe@example1.com'],
        },
      ],
    });
    const found = await sg.call('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: ['Jane_Doe@example.com', 'janedoe@example1.com', 'joann_doe@example.com', ''] },
    });
    expect(found.status).toBe(200);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/search/emails', 'post', 200, found.body);
    expect(Object.keys(found.body.result)).toEqual([
      'jane_doe@example.com',
      'janedoe@example1.com',
      'joann_doe@example.com',
    ]);
    expect(found.body.result['joann_doe@example.com']).toEqual({ error: 'contact not found' });
    const jane = found.body.result['jane_doe@example.com'].contact;
    expect(found.body.result['janedoe@example1.com'].contact.id).toBe(jane.id);
    // Every key of the vendor's example contact is present (vendor-apis.md B.2.6).
    const exampleKeys = [
      'id',
      'email',
      'alternate_emails',
      'first_name',
      'last_name',
      'address_line_1',
      'address_line_2',
      'city',
      'state_province_region',
      'postal_code',
      'country',
      'phone_number',
      'whatsapp',
      'line',
      'facebook',
      'unique_name',
      'list_ids',
      'segment_ids',
      'custom_fields',
      'created_at',
      'updated_at',
      '_metadata',
    ];
    expect(Object.keys(jane).sort()).toEqual([...exampleKeys].sort());
    expect(jane).toMatchObject({
      email: 'jane_doe@example.com',
      alternate_emails: ['janedoe@example1.com'],
      first_name: 'Jane',
      address_line_1: '',
      list_ids: [LIST_ID],
      segment_ids: [],
      custom_fields: {},
    });
    expect(jane._metadata.self).toBe(`${sg.url}/v3/marketing/contacts/${jane.id}`);
  });

  it('404s when nothing matches and 400s on invalid input', async () => {
    const none = await sg.call('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: ['ghost@example.com'] },
    });
    expect(none.status).toBe(404);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/search/emails', 'post', 404, none.body);
    const tooMany = Array.from({ length: 101 }, (_, i) => `p${i}@example.com`);
    for (const body of [
      { emails: tooMany },
      { emails: ['not-an-email'] },
      { emails: [`${'a'.repeat(90)}@example.com`] },
      {},
    ]) {
      const bad = await sg.call('POST', '/v3/marketing/contacts/search/emails', { body });
      expect(bad.status).toBe(400);
      expectMatchesSpec('contacts', '/v3/marketing/contacts/search/emails', 'post', 400, bad.body);
    }
    const hundred = await sg.call('POST', '/v3/marketing/contacts/search/emails', {
      body: { emails: [...tooMany.slice(0, 99), 'jane_doe@example.com'] },
    });
    expect(hundred.status).toBe(200);
  });
});

describe('DELETE /v3/marketing/contacts', () => {
  it('deletes by ids as an async job and keeps deleting idempotent', async () => {
    await sg.upsert({
      list_ids: [LIST_ID],
      contacts: [{ email: 'del1@example.com' }, { email: 'del2@example.com' }],
    });
    const one = await sg.call('GET', '/__sandbox/contacts?email=del1@example.com');
    const two = await sg.call('GET', '/__sandbox/contacts?email=del2@example.com');
    const ids = [one.body.contacts[0].id, two.body.contacts[0].id];
    const before = await sg.call('GET', '/__sandbox/contacts/count');
    const listBefore = await sg.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`);

    const accepted = await sg.call('DELETE', `/v3/marketing/contacts?ids=${ids.join(',')}`);
    expect(accepted.status).toBe(202);
    expectMatchesSpec('contacts', '/v3/marketing/contacts', 'delete', 202, accepted.body);
    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 200, status.body);
    expect(status.body).toMatchObject({
      status: 'completed',
      job_type: 'delete',
      results: { requested_count: 2, deleted_count: 2 },
    });
    const after = await sg.call('GET', '/__sandbox/contacts/count');
    expect(after.body.count).toBe(before.body.count - 2);
    const listAfter = await sg.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`);
    expect(listAfter.body.contact_count).toBe(listBefore.body.contact_count - 2);

    const again = await sg.call('DELETE', `/v3/marketing/contacts?ids=${ids.join(',')}`);
    const againStatus = await sg.call('GET', `/v3/marketing/contacts/imports/${again.body.job_id}`);
    expect(againStatus.body).toMatchObject({
      status: 'completed',
      results: { requested_count: 2, deleted_count: 0 },
    });
  });

  it('400s without ids or delete_all_contacts, or with both', async () => {
    for (const query of ['', '?ids=', '?delete_all_contacts=false', '?ids=a&delete_all_contacts=true']) {
      const bad = await sg.call('DELETE', `/v3/marketing/contacts${query}`);
      expect(bad.status, query).toBe(400);
      expectMatchesSpec('contacts', '/v3/marketing/contacts', 'delete', 400, bad.body);
    }
  });

  it('deletes everything with delete_all_contacts=true', async () => {
    const other = await startSendgrid();
    try {
      await other.upsert({ contacts: [{ email: 'a@example.com' }, { email: 'b@example.com' }] });
      const accepted = await other.call('DELETE', '/v3/marketing/contacts?delete_all_contacts=true');
      const status = await other.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      expect(status.body.results).toMatchObject({ requested_count: 2, deleted_count: 2 });
      const count = await other.call('GET', '/v3/marketing/contacts/count');
      expectMatchesSpec('contacts', '/v3/marketing/contacts/count', 'get', 200, count.body);
      expect(count.body.contact_count).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('field definitions', () => {
  it('lists reserved and custom fields like the spec example', async () => {
    const defs = await sg.call('GET', '/v3/marketing/field_definitions');
    expect(defs.status).toBe(200);
    expectMatchesSpec('custom_fields', '/v3/marketing/field_definitions', 'get', 200, defs.body);
    expect(defs.body.custom_fields).toEqual([
      { id: 'e1_T', name: 'tier', field_type: 'Text' },
      { id: 'w2', name: 'dob', field_type: 'Date' },
      { id: 'w33', name: 'num_orders', field_type: 'Number' },
    ]);
    // The spec's reserved list comes first, unchanged (vendor-apis.md B.2.5).
    expect(defs.body.reserved_fields.slice(0, 3)).toEqual([
      { id: '_rf0_T', name: 'first_name', field_type: 'Text' },
      { id: '_rf1_T', name: 'last_name', field_type: 'Text' },
      { id: '_rf2_T', name: 'email', field_type: 'Text' },
    ]);
    expect(defs.body.reserved_fields[23]).toEqual({
      id: '_rf23_T',
      name: 'contact_id',
      field_type: 'Text',
      read_only: true,
    });
    expect(defs.body._metadata.self).toBe(`${sg.url}/v3/marketing/field_definitions`);
  });

  it('creates, renames and deletes custom fields with the vendor name rules', async () => {
    const other = await startSendgrid();
    try {
      const made = await other.call('POST', '/v3/marketing/field_definitions', {
        body: { name: 'shoe_size', field_type: 'Number' },
      });
      expect(made.status).toBe(200);
      expectMatchesSpec('custom_fields', '/v3/marketing/field_definitions', 'post', 200, made.body);
      expect(made.body).toMatchObject({ id: 'e1_N', name: 'shoe_size', field_type: 'Number' });
      const upsert = await other.upsert({
        contacts: [{ email: 'feet@example.com', custom_fields: { e1_N: 44 } }],
      });
      expect(upsert.body.status).toBe('completed');

      for (const body of [
        { name: 'SHOE_SIZE', field_type: 'Text' },
        { name: 'first_name', field_type: 'Text' },
        { name: '9lives', field_type: 'Text' },
        { name: 'has space', field_type: 'Text' },
        { name: '', field_type: 'Text' },
        { name: 'ok_name', field_type: 'Boolean' },
      ]) {
        const bad = await other.call('POST', '/v3/marketing/field_definitions', { body });
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expectMatchesSpec('custom_fields', '/v3/marketing/field_definitions', 'post', 400, bad.body);
      }
      const renamed = await other.call('PATCH', '/v3/marketing/field_definitions/e1_N', {
        body: { name: 'shoe' },
      });
      expectMatchesSpec(
        'custom_fields',
        '/v3/marketing/field_definitions/{custom_field_id}',
        'patch',
        200,
        renamed.body,
      );
      const gone = await other.call('DELETE', '/v3/marketing/field_definitions/e1_N');
      expect(gone.status).toBe(204);
      const missing = await other.call('DELETE', '/v3/marketing/field_definitions/e1_N');
      expect(missing.status).toBe(404);
      expectMatchesSpec(
        'custom_fields',
        '/v3/marketing/field_definitions/{custom_field_id}',
        'delete',
        404,
        missing.body,
      );
    } finally {
      await other.close();
    }
  });
});

describe('lists', () => {
  it('creates, pages, reads and counts lists in the spec shapes', async () => {
    const other = await startSendgrid();
    try {
      const made = await other.call('POST', '/v3/marketing/lists', { body: { name: 'list-name' } });
      expect(made.status).toBe(201);
      expectMatchesSpec('lists', '/v3/marketing/lists', 'post', 201, made.body);
      expect(made.body).toMatchObject({ name: 'list-name', contact_count: 0 });
      expect(made.body._metadata.self).toBe(`${other.url}/v3/marketing/lists/${made.body.id}`);
      const second = await other.call('POST', '/v3/marketing/lists', { body: { name: 'second' } });
      const bad = await other.call('POST', '/v3/marketing/lists', { body: { name: 'x'.repeat(101) } });
      expect(bad.status).toBe(400);
      expectMatchesSpec('lists', '/v3/marketing/lists', 'post', 400, bad.body);

      const page1 = await other.call('GET', '/v3/marketing/lists?page_size=1');
      expectMatchesSpec('lists', '/v3/marketing/lists', 'get', 200, page1.body);
      expect(page1.body.result.map((list: { id: string }) => list.id)).toEqual([made.body.id]);
      const page2 = await other.call('GET', page1.body._metadata.next);
      expect(page2.body.result.map((list: { id: string }) => list.id)).toEqual([second.body.id]);
      expect(page2.body._metadata.next).toBeUndefined();
      expect((await other.call('GET', '/v3/marketing/lists?page_size=1001')).status).toBe(400);

      await other.upsert({
        list_ids: [made.body.id],
        contacts: [{ email: 'm1@example.com' }, { email: 'm2@example.com' }],
      });
      const one = await other.call('GET', `/v3/marketing/lists/${made.body.id}?contact_sample=true`);
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}', 'get', 200, one.body);
      expect(one.body).toMatchObject({ id: made.body.id, contact_count: 2 });
      expect(one.body.contact_sample.email).toBe('m2@example.com');
      const count = await other.call('GET', `/v3/marketing/lists/${made.body.id}/contacts/count`);
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}/contacts/count', 'get', 200, count.body);
      expect(count.body).toEqual({ contact_count: 2, billable_count: 2 });
      const inspect = await other.call('GET', `/__sandbox/contacts?list_id=${made.body.id}`);
      expect(inspect.body.contacts.map((c: { email: string }) => c.email)).toEqual([
        'm1@example.com',
        'm2@example.com',
      ]);

      const missing = await other.call('GET', '/v3/marketing/lists/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}', 'get', 404, missing.body);

      const removed = await other.call('DELETE', `/v3/marketing/lists/${second.body.id}`);
      expect(removed.status).toBe(204);
      const withContacts = await other.call(
        'DELETE',
        `/v3/marketing/lists/${made.body.id}?delete_contacts=true`,
      );
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}', 'delete', 200, withContacts.body);
      expect((await other.call('GET', '/v3/marketing/contacts/count')).body.contact_count).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('DELETE /v3/marketing/lists/{id}/contacts', () => {
  const OTHER_LIST = '5d4c3b2a-1908-4776-8655-443322110099';

  it('removes list membership as an async job, keeps the contacts and their other lists', async () => {
    const other = await startSendgrid({
      lists: [
        { id: LIST_ID, name: 'newsletter' },
        { id: OTHER_LIST, name: 'customers' },
      ],
    });
    try {
      await other.upsert({
        list_ids: [LIST_ID, OTHER_LIST],
        contacts: ['r1', 'r2', 'r3'].map((name) => ({ email: `${name}@example.com` })),
      });
      const idOf = async (email: string): Promise<string> =>
        (await other.call('GET', `/__sandbox/contacts?email=${email}`)).body.contacts[0].id;
      const [r1, r2] = [await idOf('r1@example.com'), await idOf('r2@example.com')];

      // Duplicates and blanks in contact_ids are harmless.
      const accepted = await other.call(
        'DELETE',
        `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${r1},${r2},,${r1}`,
      );
      expect(accepted.status, accepted.text).toBe(202);
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}/contacts', 'delete', 202, accepted.body);
      expect(Object.keys(accepted.body)).toEqual(['job_id']);

      const count = await other.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`);
      expect(count.body).toEqual({ contact_count: 1, billable_count: 1 });
      expect((await other.call('GET', '/v3/marketing/contacts/count')).body.contact_count).toBe(3);
      const r1View = (await other.call('GET', '/__sandbox/contacts?email=r1@example.com')).body.contacts[0];
      expect(r1View.list_ids).toEqual([OTHER_LIST]);
      const members = await other.call('GET', `/__sandbox/contacts?list_id=${LIST_ID}`);
      expect(members.body.contacts.map((c: { email: string }) => c.email)).toEqual(['r3@example.com']);

      const job = (await other.call('GET', '/__sandbox/jobs')).body.jobs.find(
        (item: { id: string }) => item.id === accepted.body.job_id,
      );
      expect(job).toMatchObject({
        kind: 'listRemove',
        list_id: LIST_ID,
        status: 'completed',
        results: { requested_count: 2, removed_count: 2 },
      });
      // SendGrid documents no status for these jobs: the contacts job endpoint does not know them.
      const status = await other.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      expect(status.status).toBe(404);

      // Removing again is accepted and removes nothing.
      const again = await other.call('DELETE', `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${r1}`);
      expect(again.status).toBe(202);
      const againJob = (await other.call('GET', '/__sandbox/jobs')).body.jobs.find(
        (item: { id: string }) => item.id === again.body.job_id,
      );
      expect(againJob.results).toEqual({ requested_count: 1, removed_count: 0 });
      expect((await other.call('GET', '/__sandbox/stats')).body.requests['sendgrid.listRemove']).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('400s without contact_ids (the spec Error object) and 404s an unknown list or contact id', async () => {
    await sg.upsert({ contacts: [{ email: 'keep@example.com' }] });
    const keep = (await sg.call('GET', '/__sandbox/contacts?email=keep@example.com')).body.contacts[0].id;
    for (const query of ['', '?contact_ids=', '?contact_ids=,']) {
      const bad = await sg.call('DELETE', `/v3/marketing/lists/${LIST_ID}/contacts${query}`);
      expect(bad.status, query).toBe(400);
      expectMatchesSpec('lists', '/v3/marketing/lists/{id}/contacts', 'delete', 400, bad.body);
      expect(bad.body).toMatchObject({ field: 'contact_ids' });
    }
    const noList = await sg.call(
      'DELETE',
      `/v3/marketing/lists/00000000-0000-4000-8000-000000000000/contacts?contact_ids=${keep}`,
    );
    expect(noList.status).toBe(404);
    expectMatchesSpec('lists', '/v3/marketing/lists/{id}/contacts', 'delete', 404, noList.body);
    expect(noList.body).toEqual({ errors: [{ field: 'id', message: 'list not found' }] });

    const gone = '00000000-0000-4000-8000-0000000000ff';
    const noContact = await sg.call(
      'DELETE',
      `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${keep},${gone}`,
    );
    expect(noContact.status).toBe(404);
    expectMatchesSpec('lists', '/v3/marketing/lists/{id}/contacts', 'delete', 404, noContact.body);
    expect(noContact.body.errors[0]).toEqual({
      field: 'contact_ids',
      message: `contact ids do not exist: ${gone}`,
    });
    const unauthorised = await sg.call(
      'DELETE',
      `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${keep}`,
      {
        auth: false,
      },
    );
    expect(unauthorised.status).toBe(401);
  });

  it('keeps the membership until the job ends, and skips contacts and lists deleted meanwhile', async () => {
    const slow = await startSendgrid({
      startDelayMs: 400,
      recordsPerSecond: Number.POSITIVE_INFINITY,
      lists: [
        { id: LIST_ID, name: 'newsletter' },
        { id: OTHER_LIST, name: 'customers' },
      ],
    });
    try {
      const accepted = await slow.call('PUT', '/v3/marketing/contacts', {
        body: {
          list_ids: [LIST_ID, OTHER_LIST],
          contacts: [{ email: 's1@example.com' }, { email: 's2@example.com' }],
        },
      });
      await sleep(600);
      const upserted = await slow.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      expect(upserted.body.status).toBe('completed');
      const ids = (await slow.call('GET', '/__sandbox/contacts')).body.contacts.map(
        (c: { id: string }) => c.id,
      );

      // A delete of s2 queued just before the removals ends before them; s2 still exists when
      // the removals are accepted.
      expect((await slow.call('DELETE', `/v3/marketing/contacts?ids=${ids[1]}`)).status).toBe(202);
      const removal = await slow.call(
        'DELETE',
        `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${ids.join(',')}`,
      );
      const otherRemoval = await slow.call(
        'DELETE',
        `/v3/marketing/lists/${OTHER_LIST}/contacts?contact_ids=${ids.join(',')}`,
      );
      expect([removal.status, otherRemoval.status]).toEqual([202, 202]);
      // OTHER_LIST is deleted while its removal job waits.
      expect((await slow.call('DELETE', `/v3/marketing/lists/${OTHER_LIST}`)).status).toBe(204);
      const pending = (await slow.call('GET', '/__sandbox/jobs')).body.jobs.find(
        (job: { id: string }) => job.id === removal.body.job_id,
      );
      expect(pending).toMatchObject({ status: 'pending' });
      expect(pending.results).toBeUndefined();
      expect(
        (await slow.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`)).body.contact_count,
      ).toBe(2);

      await sleep(600);
      expect(
        (await slow.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`)).body.contact_count,
      ).toBe(0);
      const jobs = (await slow.call('GET', '/__sandbox/jobs')).body.jobs;
      const byId = (id: string) => jobs.find((job: { id: string }) => job.id === id);
      expect(byId(removal.body.job_id)).toMatchObject({
        status: 'completed',
        results: { requested_count: 2, removed_count: 1 },
      });
      expect(byId(otherRemoval.body.job_id)).toMatchObject({
        status: 'completed',
        results: { requested_count: 2, removed_count: 0 },
      });
      const s1 = (await slow.call('GET', '/__sandbox/contacts?email=s1@example.com')).body.contacts[0];
      expect(s1.list_ids).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('answers injected faults on its own endpoint id, without removing anything', async () => {
    const faulty = await startSendgrid({
      lists: [{ id: LIST_ID, name: 'newsletter' }],
      faults: [{ endpoint: 'sendgrid.listRemove', kind: 'unavailable', count: 1 }],
    });
    try {
      await faulty.upsert({ list_ids: [LIST_ID], contacts: [{ email: 'f@example.com' }] });
      const id = (await faulty.call('GET', '/__sandbox/contacts?email=f@example.com')).body.contacts[0].id;
      const path = `/v3/marketing/lists/${LIST_ID}/contacts?contact_ids=${id}`;
      const failed = await faulty.call('DELETE', path);
      expect(failed.status).toBe(503);
      expect(
        (await faulty.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`)).body.contact_count,
      ).toBe(1);
      expect((await faulty.call('DELETE', path)).status).toBe(202);
      expect(
        (await faulty.call('GET', `/v3/marketing/lists/${LIST_ID}/contacts/count`)).body.contact_count,
      ).toBe(0);
      expect((await faulty.call('GET', '/__sandbox/stats')).body.faultsFired).toEqual({
        'sendgrid.listRemove unavailable': 1,
      });
    } finally {
      await faulty.close();
    }
  });
});
