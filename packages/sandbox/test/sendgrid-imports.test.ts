import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectMatchesSpec,
  type Harness,
  parseCsv,
  type Reply,
  sleep,
  startSendgrid,
} from './sendgrid-support.ts';

const LIST_ID = '199abb98-0af3-4a8d-b371-6811ff85d062';
const SSE = { 'x-amz-server-side-encryption': 'aws:kms' };
let sg: Harness;

beforeAll(async () => {
  sg = await startSendgrid({
    customFields: [{ id: 'w1', name: 'num_orders', field_type: 'Number' }],
    lists: [{ id: LIST_ID, name: 'imports' }],
  });
});
afterAll(() => sg.close());

const createImport = async (harness: Harness, body: Record<string, unknown>): Promise<Reply> => {
  const created = await harness.call('PUT', '/v3/marketing/contacts/imports', {
    body: { file_type: 'csv', ...body },
  });
  expect(created.status, created.text).toBe(200);
  return created;
};

const upload = (
  uri: string,
  body: NonNullable<RequestInit['body']>,
  headers: Record<string, string> = SSE,
): Promise<Response> =>
  fetch(uri, { method: 'PUT', headers, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) });

describe('CSV import', () => {
  it('creates an import with an upload URL on this server and S3-style upload headers', async () => {
    const created = await createImport(sg, {
      field_mappings: ['_rf2_T', null, '_rf0_T', 'w1'],
      list_ids: [LIST_ID],
    });
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports', 'put', 200, created.body);
    expect(Object.keys(created.body)).toEqual(['job_id', 'upload_uri', 'upload_headers']);
    expect(created.body.upload_uri.startsWith(`${sg.url}/`)).toBe(true);
    expect(created.body.upload_headers).toEqual([
      { header: 'x-amz-server-side-encryption', value: 'aws:kms' },
    ]);
    // Until the file arrives the job is pending, with no results yet.
    const pending = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(pending.body).toMatchObject({ status: 'pending', job_type: 'upsert' });
    expect(pending.body.results).toBeUndefined();
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 200, pending.body);
  });

  it('imports a plain CSV (quoted fields, unicode, skipped columns, lists) and reports rejects in the errors file', async () => {
    const created = await createImport(sg, {
      field_mappings: ['_rf2_T', null, '_rf0_T', 'w1', '_rf3_T'],
      list_ids: [LIST_ID],
    });
    const csv = [
      'email,ignored,first,orders,alts',
      'renee@example.com,x,"Renée, ""R""",3,"r1@example.com, r2@example.com"',
      'zoë@exämple.com,,Zoë 😀,,',
      '"bad, ""email""",,"Line one\nline two",x,',
      'ok@example.com,,,notanumber,',
      '',
      'short@example.com,only-two',
    ].join('\r\n');
    const response = await upload(created.body.upload_uri, csv);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);

    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 200, status.body);
    expect(status.body).toMatchObject({
      status: 'errored',
      job_type: 'upsert',
      results: { requested_count: 5, created_count: 2, updated_count: 0, errored_count: 3 },
    });
    const file = await sg.call('GET', status.body.results.errors_url, { auth: false });
    expect(file.status).toBe(200);
    expect(file.text).toBe(
      [
        'email,error',
        '"bad, ""email""",invalid email; custom field num_orders (w1) must be a number',
        'ok@example.com,custom field num_orders (w1) must be a number',
        'short@example.com,row has 2 columns; field_mappings has 5',
        '',
      ].join('\n'),
    );
    expect(parseCsv(file.text)[1]).toEqual([
      'bad, "email"',
      'invalid email; custom field num_orders (w1) must be a number',
    ]);

    const renee = await sg.call('GET', '/__sandbox/contacts?email=renee@example.com');
    expect(renee.body.contacts[0]).toMatchObject({
      first_name: 'Renée, "R"',
      alternate_emails: ['r1@example.com', 'r2@example.com'],
      custom_fields: { num_orders: 3 },
      list_ids: [LIST_ID],
    });
    const zoe = await sg.call('GET', `/__sandbox/contacts?email=${encodeURIComponent('zoë@exämple.com')}`);
    expect(zoe.body.contacts[0].first_name).toBe('Zoë 😀');
  });

  it('accepts gzip announced by Content-Encoding and gzip recognised by its magic bytes', async () => {
    const csv = 'email,first_name\ngz1@example.com,Gzip\ngz2@example.com,Ünïcödé\n';
    const announced = await createImport(sg, { field_mappings: ['_rf2_T', '_rf0_T'] });
    const a = await upload(announced.body.upload_uri, gzipSync(csv), { ...SSE, 'content-encoding': 'gzip' });
    expect(a.status).toBe(200);
    const sniffed = await createImport(sg, { field_mappings: ['_rf2_T', '_rf0_T'] });
    const b = await upload(sniffed.body.upload_uri, gzipSync(csv.replaceAll('gz', 'sn')));
    expect(b.status).toBe(200);
    for (const job of [announced.body.job_id, sniffed.body.job_id]) {
      const status = await sg.call('GET', `/v3/marketing/contacts/imports/${job}`);
      expect(status.body).toMatchObject({ status: 'completed', results: { created_count: 2 } });
    }
    const unicode = await sg.call('GET', '/__sandbox/contacts?email=sn2@example.com');
    expect(unicode.body.contacts[0].first_name).toBe('Ünïcödé');
  });

  it('parses a chunked streaming upload whose chunks split rows and multi-byte characters', async () => {
    const created = await createImport(sg, { field_mappings: ['_rf2_T', '_rf1_T'] });
    const text = `email,last_name\n${Array.from({ length: 5000 }, (_, i) => `s${i}@example.com,Ørsted-${i}-😀`).join('\n')}\n`;
    const bytes = Buffer.from(text);
    // 1021-byte pieces (a prime) cut through rows, the 2-byte Ø and the 4-byte emoji.
    const size = 1021;
    const pieces = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    );
    const splitsCharacter = (piece: Buffer): boolean => ((piece[0] ?? 0) & 0xc0) === 0x80;
    expect(pieces.filter(splitsCharacter).length).toBeGreaterThan(10);
    const stream = Readable.toWeb(Readable.from(pieces)) as ReadableStream<Uint8Array>;
    const response = await upload(created.body.upload_uri, stream);
    expect(response.status).toBe(200);
    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(status.body.results).toMatchObject({
      requested_count: 5000,
      created_count: 5000,
      errored_count: 0,
    });
    const last = await sg.call('GET', '/__sandbox/contacts?email=s4999@example.com');
    expect(last.body.contacts[0].last_name).toBe('Ørsted-4999-😀');
  });

  it('fails the job when the header does not match field_mappings, with the reported message', async () => {
    const created = await createImport(sg, { field_mappings: ['_rf2_T', '_rf0_T', '_rf1_T'] });
    await upload(created.body.upload_uri, 'email,first_name\nm1@example.com,M\n');
    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(status.body).toMatchObject({
      status: 'failed',
      results: { requested_count: 1, created_count: 0, errored_count: 1 },
    });
    const file = await sg.call('GET', status.body.results.errors_url, { auth: false });
    expect(parseCsv(file.text)).toEqual([
      ['email', 'error'],
      [
        '',
        "Failed to preprocess input csv: we were unable to upload your contacts because the field mapping doesn't match the CSV.",
      ],
    ]);
  });

  it('fails the job for broken gzip and for an empty file, still acknowledging the upload', async () => {
    const broken = await createImport(sg, { field_mappings: ['_rf2_T'] });
    const a = await upload(
      broken.body.upload_uri,
      Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    );
    expect(a.status).toBe(200);
    const empty = await createImport(sg, { field_mappings: ['_rf2_T'] });
    const b = await upload(empty.body.upload_uri, '');
    expect(b.status).toBe(200);
    for (const job of [broken.body.job_id, empty.body.job_id]) {
      const status = await sg.call('GET', `/v3/marketing/contacts/imports/${job}`);
      expect(status.body.status).toBe('failed');
    }
  });

  it('answers the upload like S3: signature, signed headers, no Authorization, single use', async () => {
    const created = await createImport(sg, { field_mappings: ['_rf2_T', '_rf0_T'] });
    const uri: string = created.body.upload_uri;
    const csv = 'email,first_name\ns3@example.com,S\n';
    const noSse = await upload(uri, csv, {});
    expect(noSse.status).toBe(403);
    expect(await noSse.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const badSignature = await upload(uri.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=00'), csv);
    expect(badSignature.status).toBe(403);
    const withAuth = await upload(uri, csv, { ...SSE, authorization: 'Bearer SG.test-key' });
    expect(withAuth.status).toBe(400);
    expect(await withAuth.text()).toContain('<Code>InvalidArgument</Code>');
    // The multipart form of sendgrid-php#1084 is stored as-is, so the "CSV" does not match.
    const form = new FormData();
    form.append('file', new Blob([csv]), 'contacts.csv');
    const multipart = await fetch(uri, { method: 'PUT', headers: SSE, body: form });
    expect(multipart.status).toBe(200);
    const again = await upload(uri, csv);
    expect(again.status).toBe(403);
    expect(await again.text()).toContain('<Code>AccessDenied</Code>');
    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(status.body.status).toBe('failed');
  });

  it('stores nothing from an upload the client abandons, and takes the file again', async () => {
    const created = await createImport(sg, { field_mappings: ['_rf2_T'] });
    const controller = new AbortController();
    let pulls = 0;
    const stalled = new ReadableStream<Uint8Array>({
      pull: async (stream) => {
        pulls += 1;
        if (pulls === 1) stream.enqueue(new TextEncoder().encode('email\nhalf1@example.com\nhalf2@exa'));
        else await new Promise(() => {}); // never finishes: the client gives up instead
      },
    });
    const aborted = fetch(created.body.upload_uri, {
      method: 'PUT',
      headers: SSE,
      body: stalled,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit);
    await sleep(100);
    controller.abort();
    await expect(aborted).rejects.toThrow();
    await sleep(50);
    const pending = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(pending.body.status).toBe('pending');
    const retried = await upload(created.body.upload_uri, 'email\nwhole@example.com\n');
    expect(retried.status).toBe(200);
    const status = await sg.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
    expect(status.body).toMatchObject({
      status: 'completed',
      results: { requested_count: 1, created_count: 1 },
    });
    expect((await sg.call('GET', '/__sandbox/contacts?email=half1@example.com')).body.total).toBe(0);
  });

  it('validates the import request: file_type, field_mappings, identifiers, lists', async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ file_type: 'json', field_mappings: ['_rf2_T'] }, 400],
      [{ file_type: 'csv' }, 400],
      [{ file_type: 'csv', field_mappings: [] }, 400],
      [{ file_type: 'csv', field_mappings: ['_rf2_T', 'nope'] }, 400],
      [{ file_type: 'csv', field_mappings: ['_rf2_T', '_rf21_D'] }, 400],
      [{ file_type: 'csv', field_mappings: ['_rf2_T', '_rf2'] }, 400],
      [{ file_type: 'csv', field_mappings: ['_rf0_T', 'w1'] }, 400],
      [{ file_type: 'csv', field_mappings: ['_rf2_T'], list_ids: ['no-such-list'] }, 404],
    ];
    for (const [body, code] of cases) {
      const reply = await sg.call('PUT', '/v3/marketing/contacts/imports', { body });
      expect(reply.status, JSON.stringify(body)).toBe(code);
      expectMatchesSpec('contacts', '/v3/marketing/contacts/imports', 'put', code, reply.body);
    }
    // The spec's own example spells a reserved id without its type suffix (`_rf1`).
    const short = await sg.call('PUT', '/v3/marketing/contacts/imports', {
      body: { file_type: 'csv', field_mappings: [null, 'w1', '_rf1', '_rf25_T'] },
    });
    expect(short.status).toBe(200);
  });

  it('fails an import over the row limit', async () => {
    const small = await startSendgrid({ limits: { maxImportRows: 3 } });
    try {
      const created = await createImport(small, { field_mappings: ['_rf2_T'] });
      await upload(created.body.upload_uri, 'email\na@x.io\nb@x.io\nc@x.io\nd@x.io\n');
      const status = await small.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
      expect(status.body).toMatchObject({
        status: 'failed',
        results: { requested_count: 4, errored_count: 4 },
      });
      expect((await small.call('GET', '/v3/marketing/contacts/count')).body.contact_count).toBe(0);
    } finally {
      await small.close();
    }
  });

  it('refuses an upload over the byte limit with S3 EntityTooLarge and lets the URL be used again', async () => {
    const small = await startSendgrid({ limits: { maxImportBytes: 1000 } });
    try {
      const created = await createImport(small, { field_mappings: ['_rf2_T'] });
      const big = `email\n${'x@example.com\n'.repeat(100)}`;
      const declared = await upload(created.body.upload_uri, big);
      expect(declared.status).toBe(400);
      expect(await declared.text()).toContain('<Code>EntityTooLarge</Code>');
      const chunked = await upload(
        created.body.upload_uri,
        Readable.toWeb(
          Readable.from([Buffer.from(big.slice(0, 600)), Buffer.from(big.slice(600))]),
        ) as ReadableStream,
      );
      expect(chunked.status).toBe(400);
      const fits = await upload(created.body.upload_uri, 'email\nfits@example.com\n');
      expect(fits.status).toBe(200);
      const status = await small.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
      expect(status.body).toMatchObject({
        status: 'completed',
        results: { requested_count: 1, created_count: 1 },
      });
    } finally {
      await small.close();
    }
  });
});

describe('job timeline', () => {
  it('keeps a job pending (and its contacts invisible) until startDelay + records/rate, then completes', async () => {
    const slow = await startSendgrid({ startDelayMs: 150, recordsPerSecond: 1000 });
    try {
      const contacts = Array.from({ length: 200 }, (_, i) => ({ email: `t${i}@example.com` }));
      const accepted = await slow.call('PUT', '/v3/marketing/contacts', { body: { contacts } });
      const started = Date.now();
      const pending = await slow.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      expect(pending.body.status).toBe('pending');
      expect(pending.body.finished_at).toBeUndefined();
      expect((await slow.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
      const search = await slow.call('POST', '/v3/marketing/contacts/search/emails', {
        body: { emails: ['t0@example.com'] },
      });
      expect(search.status).toBe(404);

      // 150 ms delay + 200 records at 1000/s = 350 ms; the timer applies it without any read.
      await sleep(450 - (Date.now() - started));
      expect((await slow.call('GET', '/__sandbox/contacts/count')).body.count).toBe(200);
      const done = await slow.call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
      expect(done.body).toMatchObject({ status: 'completed', results: { created_count: 200 } });
      const elapsed = Date.parse(done.body.finished_at) - Date.parse(done.body.started_at);
      expect(elapsed).toBeGreaterThanOrEqual(0);
    } finally {
      await slow.close();
    }
  });

  it('starts an import job timeline when its upload finishes', async () => {
    const slow = await startSendgrid({ startDelayMs: 100, recordsPerSecond: Number.POSITIVE_INFINITY });
    try {
      const created = await createImport(slow, { field_mappings: ['_rf2_T'] });
      await sleep(150);
      await upload(created.body.upload_uri, 'email\nlate@example.com\n');
      const right = await slow.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
      expect(right.body.status).toBe('pending');
      await sleep(120);
      const done = await slow.call('GET', `/v3/marketing/contacts/imports/${created.body.job_id}`);
      expect(done.body.status).toBe('completed');
    } finally {
      await slow.close();
    }
  });

  it('404s an unknown job in the ErrorResponse shape', async () => {
    const missing = await sg.call(
      'GET',
      '/v3/marketing/contacts/imports/00000000-0000-4000-8000-000000000000',
    );
    expect(missing.status).toBe(404);
    expectMatchesSpec('contacts', '/v3/marketing/contacts/imports/{id}', 'get', 404, missing.body);
    const file = await sg.call('GET', '/__files/errors/00000000-0000-4000-8000-000000000000.csv', {
      auth: false,
    });
    expect(file.status).toBe(404);
    expect(file.text).toContain('<Code>NoSuchKey</Code>');
  });
});
