import { ConfigError, PermanentError, TransientError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SendgridApiError, sendgrid } from '../src/index.ts';
import { API, API_KEY, contextFor, fixture, jsonOf, LIST_A, LIST_B, upsert } from './support.ts';

/** JSON path: `PUT /v3/marketing/contacts`, and the field definitions it needs for custom fields. */

const DEFINITIONS = fixture('field-definitions/definitions.json');
const ACCEPTED = fixture('contacts/upsert-accepted.json');

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked call was made').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

interface UpsertBody {
  list_ids: string[];
  contacts: Record<string, unknown>[];
}

/** Mocks `count` upserts and collects their bodies and headers. */
const captureUpserts = (count = 1) => {
  const bodies: UpsertBody[] = [];
  const headers: Headers[] = [];
  nock(API)
    .put('/v3/marketing/contacts')
    .times(count)
    .reply(async (request: Request) => {
      headers.push(request.headers);
      bodies.push(await jsonOf<UpsertBody>(request));
      return [202, { job_id: `job-${bodies.length}` }];
    });
  return { bodies, headers };
};

describe('JSON upserts', () => {
  it('sends reserved fields with the Bearer key, and no field definitions call when nothing is custom', async () => {
    const ctx = contextFor({ submission: 'json', listIds: [LIST_A] });
    const { bodies, headers } = captureUpserts();
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1, { first_name: 'Ann', last_name: 'Lee', City: 'Zürich', postal_code: 8001 }),
    ]);
    expect(result).toEqual({
      job: { v: 1, path: 'json', upserts: ['job-1'], deletes: [] },
      rejected: [],
    });
    expect(headers[0]?.get('authorization')).toBe(`Bearer ${API_KEY}`);
    expect(headers[0]?.get('content-type')).toBe('application/json');
    expect(bodies[0]).toEqual({
      list_ids: [LIST_A],
      contacts: [
        {
          email: 'user1@example.com',
          first_name: 'Ann',
          last_name: 'Lee',
          city: 'Zürich',
          postal_code: '8001',
        },
      ],
    });
  });

  it('keys custom fields by id, types Number and Date values, and clears text with ""', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    const { bodies } = captureUpserts();
    await sendgrid.exportProfiles(ctx, [
      upsert(1, {
        notes: 'gold',
        SCORE: '42.5',
        birthday: new Date('2024-01-31T00:00:00Z'),
        first_name: null,
      }),
      upsert(2, { notes: null, score: null, birthday: '2024-02-29T10:11:12Z', first_name: 'Bo' }),
    ]);
    expect(bodies[0]?.contacts).toEqual([
      {
        email: 'user1@example.com',
        first_name: '',
        custom_fields: { e1_T: 'gold', e2_N: 42.5, e3_D: '2024-01-31' },
      },
      // Typed custom fields cannot be cleared through an upsert: they are left out.
      {
        email: 'user2@example.com',
        first_name: 'Bo',
        custom_fields: { e1_T: '', e3_D: '2024-02-29T10:11:12Z' },
      },
    ]);
  });

  it('rejects at submission what SendGrid would refuse, naming the field, and sends the rest', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    const { bodies } = captureUpserts();
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1, { first_name: 'x'.repeat(51) }),
      upsert(2, { first_name: '👩🏽‍💻'.repeat(7) }), // 7 × 4 code points = 28 ≤ 50
      upsert(3, { city: 'c'.repeat(61) }),
      upsert(4, { score: 'lots' }),
      upsert(5, { birthday: '31.01.2024' }),
      upsert(6, {}, { identity: 'missing-at.example.com' }),
      upsert(7, { alternate_emails: 'a@example.com, b@example.com' }),
      upsert(8, { email: 'someone.else@example.com' }),
    ]);
    expect(result.rejected).toEqual([
      {
        profileId: 'p1',
        status: 'rejected',
        code: 'oversized',
        field: 'first_name',
        message: 'first_name is 51 characters long; SendGrid allows 50',
      },
      {
        profileId: 'p3',
        status: 'rejected',
        code: 'oversized',
        field: 'city',
        message: 'city is 61 characters long; SendGrid allows 60',
      },
      expect.objectContaining({ profileId: 'p4', code: 'invalid_value', field: 'score' }),
      expect.objectContaining({ profileId: 'p5', code: 'invalid_value', field: 'birthday' }),
      expect.objectContaining({ profileId: 'p6', code: 'invalid_email', field: 'email' }),
      expect.objectContaining({ profileId: 'p8', code: 'invalid_value', field: 'email' }),
    ]);
    expect(bodies[0]?.contacts.map((contact) => contact.email)).toEqual([
      'user2@example.com',
      'user7@example.com',
    ]);
    expect(bodies[0]?.contacts[1]).toMatchObject({ alternate_emails: ['a@example.com', 'b@example.com'] });
  });

  it('sends only the last change per e-mail (case-insensitive), so SendGrid gets one contact for duplicates', async () => {
    const ctx = contextFor({ submission: 'json' });
    const { bodies } = captureUpserts();
    await sendgrid.exportProfiles(ctx, [
      upsert('a1', { city: 'first' }, { identity: 'Grace@example.com' }),
      upsert('b', { city: 'Wilmslow' }, { identity: 'alan@example.com' }),
      upsert('a2', { city: 'last' }, { identity: 'grace@example.com' }),
      upsert('a3', { city: 'x'.repeat(61) }, { identity: 'grace@example.com' }),
    ]);
    expect(bodies[0]?.contacts).toEqual([
      { email: 'alan@example.com', city: 'Wilmslow' },
      { email: 'grace@example.com', city: 'last' },
    ]);
  });

  it('groups profiles by the lists they add: one request per group, list_ids = options + own', async () => {
    const ctx = contextFor({ submission: 'json', listIds: [LIST_A] });
    const { bodies } = captureUpserts(2);
    const result = await sendgrid.exportProfiles(ctx, [
      upsert(1, {}, { lists: { add: [LIST_B], remove: [] } }),
      upsert(2),
      upsert(3, {}, { lists: { add: [LIST_B, LIST_A], remove: [] } }),
    ]);
    expect(bodies).toEqual([
      {
        list_ids: [LIST_A, LIST_B],
        contacts: [{ email: 'user1@example.com' }, { email: 'user3@example.com' }],
      },
      { list_ids: [LIST_A], contacts: [{ email: 'user2@example.com' }] },
    ]);
    expect(result.job).toMatchObject({ upserts: ['job-1', 'job-2'] });
  });

  it('splits a job into requests within json.maxBytesPerJob, measured exactly', async () => {
    const ctx = contextFor({ submission: 'json', json: { maxBytesPerJob: 1024 } });
    const batch = Array.from({ length: 12 }, (_, n) => upsert(n, { first_name: 'n'.repeat(40) }));
    const { bodies } = captureUpserts(2);
    await sendgrid.exportProfiles(ctx, batch);
    const sizes = bodies.map((body) => Buffer.byteLength(JSON.stringify(body)));
    expect(sizes.every((size) => size <= 1024)).toBe(true);
    expect(bodies.flatMap((body) => body.contacts)).toHaveLength(12);
  });

  it('measure + jobOverheadBytes equals the body size for reserved fields', async () => {
    const ctx = contextFor({ submission: 'json', listIds: [LIST_A] });
    const batch = [
      upsert(1, { first_name: 'Zoë', last_name: 'Müller "quoted"', city: '東京都' }),
      upsert(2, { first_name: '👩🏽‍💻', address_line_1: 'a\\b\nc' }),
      upsert(3, { last_name: null }),
    ];
    const captured: string[] = [];
    nock(API)
      .put('/v3/marketing/contacts')
      .reply(async (request: Request) => {
        captured.push(await request.text());
        return [202, ACCEPTED];
      });
    await sendgrid.exportProfiles(ctx, batch);
    const limits = sendgrid.limits(ctx.options);
    const measured = batch.reduce((sum, change) => sum + sendgrid.measure(change, ctx.options), 0);
    // Σ measure counts a separator per contact; the body has one fewer.
    expect(Buffer.byteLength(captured[0] ?? '')).toBe((limits.jobOverheadBytes ?? 0) + measured - 1);
  });

  it('a 400 names the field in a SendgridApiError (a PermanentError), with the key redacted', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).put('/v3/marketing/contacts').reply(400, fixture('contacts/upsert-validation-error.json'));
    const error = await sendgrid.exportProfiles(ctx, [upsert(1)]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SendgridApiError);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400, code: 'http_400', field: 'contacts[0].email' });
    expect(String(error)).toContain(
      '[ferry] [sendgrid] upsert contacts failed: HTTP 400: contacts[0].email: must be',
    );
    expect(String(error)).not.toContain(API_KEY);
  });

  it('an "invalid custom field ids" 400 drops the cached definitions and is transient', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).get('/v3/marketing/field_definitions').times(2).reply(200, DEFINITIONS);
    nock(API)
      .put('/v3/marketing/contacts')
      .reply(400, fixture('contacts/upsert-invalid-custom-field-ids.json'));
    const error = await sendgrid
      .exportProfiles(ctx, [upsert(1, { notes: 'a' })])
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'stale_field_definitions' });
    // The retry reads the definitions again (the second GET above).
    captureUpserts();
    await sendgrid.exportProfiles(ctx, [upsert(1, { notes: 'a' })]);
  });

  it('caches field definitions per context, and refetches once before calling a field unknown', async () => {
    const ctx = contextFor({ submission: 'json' });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    captureUpserts(2);
    await sendgrid.exportProfiles(ctx, [upsert(1, { notes: 'a' })]);
    await sendgrid.exportProfiles(ctx, [upsert(2, { score: 1 })]);

    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    const error = await sendgrid
      .exportProfiles(ctx, [upsert(3, { favourite_colour: 'blue' })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('no custom field named favourite_colour');
  });

  it('refuses a mapping to a read-only reserved field as a ConfigError', async () => {
    const ctx = contextFor({ submission: 'json' });
    const error = await sendgrid
      .exportProfiles(ctx, [upsert(1, { created_at: 'x' })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toContain('created_at is maintained by SendGrid');
  });

  it('returns no job and calls nothing when the batch is empty or all rejected', async () => {
    const ctx = contextFor({ submission: 'json' });
    expect(await sendgrid.exportProfiles(ctx, [])).toEqual({ job: null, rejected: [] });
    const result = await sendgrid.exportProfiles(ctx, [upsert(1, {}, { identity: 'nope' })]);
    expect(result.job).toBeNull();
    expect(result.rejected).toHaveLength(1);
  });
});

describe('auto submission', () => {
  it('sends a batch that fits one request as JSON', async () => {
    const ctx = contextFor();
    const { bodies } = captureUpserts();
    const result = await sendgrid.exportProfiles(ctx, [upsert(1), upsert(2)]);
    expect(bodies[0]?.contacts).toHaveLength(2);
    expect(result.job).toMatchObject({ path: 'json' });
  });

  it('sends a batch over the JSON limits as a CSV import', async () => {
    const ctx = contextFor({ json: { maxProfilesPerJob: 2 }, csv: { gzip: false } });
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    nock(API).put('/v3/marketing/contacts/imports').reply(200, fixture('imports/import-accepted.json'));
    nock('https://mc-contacts-import-upload.s3.test').put('/60ebc208.csv').query(true).reply(200);
    const result = await sendgrid.exportProfiles(ctx, [upsert(1), upsert(2), upsert(3)]);
    expect(result.job).toMatchObject({ path: 'csv', upserts: ['60ebc208-551e-44fd-9eb2-28b783625e1e'] });
  });
});
