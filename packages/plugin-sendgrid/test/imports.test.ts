import { gunzipSync } from 'node:zlib';
import { AuthError, ConfigError, PermanentError, parseCsv } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { API, contextFor, fixture, fixtureText, jsonOf, LIST_A, upsert } from './support.ts';

/** CSV path: `PUT /v3/marketing/contacts/imports`, then the file to the presigned `upload_uri`. */

const DEFINITIONS = fixture('field-definitions/definitions.json');
const TICKET = fixture<{ job_id: string; upload_uri: string }>('imports/import-accepted.json');
const S3 = 'https://mc-contacts-import-upload.s3.test';

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked call was made').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

interface Upload {
  readonly headers: Headers;
  /** As sent: gzip when the plugin compressed it. */
  readonly raw: Buffer;
}

/** Mocks the import request and the upload; collects what was sent. */
const mockImport = (uploadReplies: readonly number[] = [200]) => {
  const requests: Record<string, unknown>[] = [];
  const uploads: Upload[] = [];
  nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
  nock(API)
    .put('/v3/marketing/contacts/imports')
    .reply(async (request: Request) => {
      requests.push(await jsonOf(request));
      return [200, TICKET];
    });
  for (const status of uploadReplies) {
    nock(S3)
      .put('/60ebc208.csv')
      .query({ 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256', 'X-Amz-Signature': 'abc123' })
      .reply(async (request: Request) => {
        // nock hands over gzip bodies decompressed: re-read the wire form from the header instead.
        const raw = Buffer.from(await request.arrayBuffer());
        uploads.push({ headers: request.headers, raw });
        return status === 200
          ? [200, '', { etag: '"x"' }]
          : [status, fixtureText('imports/s3-signature-mismatch.xml'), { 'content-type': 'application/xml' }];
      });
  }
  return { requests, uploads };
};

const csvText = (upload: Upload): string =>
  (upload.raw[0] === 0x1f && upload.raw[1] === 0x8b ? gunzipSync(upload.raw) : upload.raw).toString('utf8');

describe('CSV imports', () => {
  it('maps columns to field ids, uploads gzip with upload_headers and no API key, and returns the job', async () => {
    const ctx = contextFor({ submission: 'csv', listIds: [LIST_A] });
    const { requests, uploads } = mockImport();
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1, { first_name: 'Zoë', notes: 'naïve, "quoted"', score: 7 }),
      upsert(2, { first_name: '美咲', notes: 'two\nlines', city: 'Zürich' }),
    ]);
    expect(result).toEqual({
      job: { v: 1, path: 'csv', upserts: [TICKET.job_id], deletes: [] },
      rejected: [],
    });
    expect(requests[0]).toEqual({
      file_type: 'csv',
      field_mappings: ['_rf2_T', '_rf6_T', 'e1_T', 'e2_N', '_rf0_T'],
      list_ids: [LIST_A],
    });
    const upload = uploads[0] as Upload;
    expect(upload.headers.get('authorization')).toBeNull();
    expect(upload.headers.get('x-amz-server-side-encryption')).toBe('aws:kms');
    expect(upload.headers.get('content-encoding')).toBe('gzip');
    expect(Number(upload.headers.get('content-length'))).toBeGreaterThan(0);
    expect(csvText(upload)).toBe(
      'email,city,notes,score,first_name\n' +
        'user1@example.com,,"naïve, ""quoted""",7,Zoë\n' +
        'user2@example.com,Zürich,"two\nlines",,美咲\n',
    );
  });

  it('the uploaded CSV parses back to the values sent (unicode, quotes, line breaks)', async () => {
    const ctx = contextFor({ submission: 'csv', csv: { gzip: false } });
    const { uploads } = mockImport();
    const names = ['Zoë "Z"', '👩🏽‍💻, dev', 'e\u0301\r\nx', ' lead space', '=SUM(A1)'];
    await sendgrid.exportProfiles(
      ctx,
      names.map((name, n) => upsert(n, { first_name: name })),
    );
    const rows: Record<string, string>[] = [];
    for await (const item of parseCsv(csvText(uploads[0] as Upload)))
      if (item.kind === 'record') rows.push(item.record);
    expect(rows.map((row) => row.first_name)).toEqual(names);
  });

  it('Σ measure + header equals the uncompressed upload, and content-length the bytes sent', async () => {
    const ctx = contextFor({ submission: 'csv', csv: { gzip: false } });
    const { uploads } = mockImport();
    const batch = Array.from({ length: 50 }, (_, n) =>
      upsert(n, { first_name: `Zoë ${n}`, last_name: n % 2 === 0 ? 'a,b' : 'c"d', city: '東京都' }),
    );
    await sendgrid.exportProfiles(ctx, batch);
    const upload = uploads[0] as Upload;
    const header = Buffer.byteLength('email,city,first_name,last_name\n');
    const measured = batch.reduce((sum, change) => sum + sendgrid.measure(change, ctx.options), 0);
    expect(upload.raw.byteLength).toBe(header + measured);
    expect(Number(upload.headers.get('content-length'))).toBe(upload.raw.byteLength);
    expect(upload.headers.get('content-encoding')).toBeNull();
  });

  it('retries a failed upload with the same bytes (the body is a factory)', async () => {
    const ctx = contextFor({ submission: 'csv' }, { retries: 2 });
    const { uploads } = mockImport([503, 200]);
    await sendgrid.exportProfiles(ctx, [upsert(1, { first_name: 'Ann' }), upsert(2, { first_name: 'Bo' })]);
    expect(uploads).toHaveLength(2);
    expect(csvText(uploads[1] as Upload)).toBe(csvText(uploads[0] as Upload));
    expect(uploads[1]?.headers.get('content-length')).toBe(uploads[0]?.headers.get('content-length'));
  });

  it("an S3 403 on the upload is a PermanentError with S3's code, not an AuthError", async () => {
    const ctx = contextFor({ submission: 'csv' });
    mockImport([403]);
    const error = await sendgrid.exportProfiles(ctx, [upsert(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).not.toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ code: 's3_SignatureDoesNotMatch' });
  });

  it('a list that does not exist (404) fails the import request with the field named', async () => {
    const ctx = contextFor({ submission: 'csv', listIds: [LIST_A] });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    nock(API)
      .put('/v3/marketing/contacts/imports')
      .reply(404, { errors: [{ field: 'list_ids', message: 'list ids do not exist' }] });
    const error = await sendgrid.exportProfiles(ctx, [upsert(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 404, field: 'list_ids' });
  });

  it('a reserved field without a definition id cannot be imported: ConfigError', async () => {
    const ctx = contextFor({ submission: 'csv' });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    const error = await sendgrid
      .exportProfiles(ctx, [upsert(1, { external_id: 'crm-1' })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('no id for external_id');
  });
});
