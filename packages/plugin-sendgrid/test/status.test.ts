import { JOB_NOT_FOUND, type JobMember, PermanentError, RateLimitedError, TransientError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { API, contextFor, fixture, fixturePath } from './support.ts';

/** checkStatus: `GET /v3/marketing/contacts/imports/{id}` and the `errors_url` file. */

const JOB = '9b1a2c3d-4e5f-6789-abcd-ef0123456789';
const CSV_JOB = '60ebc208-551e-44fd-9eb2-28b783625e1e';
const ERRORS = 'https://mc-contacts-errors.s3.test';
const handle = (upserts: string[] = [JOB], deletes: string[] = []) => ({
  v: 1,
  path: 'json',
  upserts,
  deletes,
});

const members: JobMember[] = [
  { profileId: 'zoe', identity: 'zoe.muller@example.com' },
  { profileId: 'ok', identity: 'fine@example.com' },
  { profileId: 'bad', identity: 'not,an@@example.com' },
  { profileId: 'grace-1', identity: 'grace.hopper@example.com' },
  { profileId: 'grace-2', identity: 'Grace.Hopper@example.com' },
  { profileId: 'misaki', identity: '渡辺@例え.jp' },
];

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked call was made').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

const mockStatus = (body: unknown, id = JOB, status = 200) =>
  nock(API)
    .get(`/v3/marketing/contacts/imports/${id}`)
    .reply(status, body as Record<string, unknown>);

const mockErrorsFile = (file: string, path = '/9b1a2c3d.csv') => {
  const seen: Headers[] = [];
  nock(ERRORS)
    .get(path)
    .query(true)
    .reply(200, async (request: Request) => {
      seen.push(request.headers);
      return (await import('node:fs')).readFileSync(fixturePath(file));
    });
  return seen;
};

describe('checkStatus', () => {
  it('pending: a hint sized by the job, and the finished jobs as progress', async () => {
    mockStatus(fixture('status/pending.json'));
    mockStatus(fixture('status/completed.json'), 'job-2');
    const status = await sendgrid.checkStatus(contextFor(), handle([JOB, 'job-2']), members);
    expect(status).toEqual({ state: 'pending', checkAfterMs: 1001, progress: { processed: 3, total: 6 } });
  });

  it('completed without errors: no outcomes, no file read', async () => {
    mockStatus(fixture('status/completed.json'));
    expect(await sendgrid.checkStatus(contextFor(), handle(), members)).toEqual({
      state: 'completed',
      outcomes: [],
    });
  });

  it('errored: maps each error row to the members with that e-mail (quoted fields, unicode, case)', async () => {
    mockStatus(fixture('status/errored.json'));
    const seen = mockErrorsFile('status/errors-quoted-unicode.csv');
    const status = await sendgrid.checkStatus(contextFor(), handle(), members);
    expect(seen[0]?.get('authorization'), 'presigned URL: no API key').toBeNull();
    expect(status).toEqual({
      state: 'completed',
      outcomes: [
        {
          profileId: 'zoe',
          status: 'rejected',
          code: 'value_too_long',
          field: 'first_name',
          message: 'first_name exceeds the maximum length of 50 characters',
        },
        {
          profileId: 'bad',
          status: 'rejected',
          code: 'invalid_email',
          field: 'email',
          message: 'invalid email',
        },
        {
          profileId: 'grace-1',
          status: 'rejected',
          code: 'sendgrid_rejected',
          field: 'score',
          message: 'custom field score (e2_N) must be a number; "42x" given',
        },
        // Both members with this address were sent as one contact; neither is held as sent.
        {
          profileId: 'grace-2',
          status: 'rejected',
          code: 'sendgrid_rejected',
          field: 'score',
          message: 'custom field score (e2_N) must be a number; "42x" given',
        },
        {
          profileId: 'misaki',
          status: 'rejected',
          code: 'sendgrid_rejected',
          message: 'problem on\nline two, with "quotes"',
        },
      ],
    });
  });

  it('is idempotent: the same answers give the same status', async () => {
    const ctx = contextFor();
    mockStatus(fixture('status/errored.json'));
    mockErrorsFile('status/errors-quoted-unicode.csv');
    const first = await sendgrid.checkStatus(ctx, handle(), members);
    mockStatus(fixture('status/errored.json'));
    mockErrorsFile('status/errors-quoted-unicode.csv');
    expect(await sendgrid.checkStatus(ctx, JSON.parse(JSON.stringify(handle())), members)).toEqual(first);
  });

  it('failed with a reason and no contact rows: the whole job failed (retryable), with the reason', async () => {
    mockStatus(fixture('status/failed.json'), CSV_JOB);
    mockErrorsFile('status/errors-failed-job.csv', '/60ebc208.csv');
    const status = await sendgrid.checkStatus(contextFor(), handle([CSV_JOB]), members);
    expect(status).toMatchObject({ state: 'failed', retryable: true, code: 'job_failed' });
    expect(status.state === 'failed' && status.message).toContain("field mapping doesn't match the CSV");
  });

  it('failed because every contact failed: per-member rejections, not a failed job', async () => {
    mockStatus(fixture('status/failed.json'), CSV_JOB);
    mockErrorsFile('status/errors-quoted-unicode.csv', '/60ebc208.csv');
    const status = await sendgrid.checkStatus(contextFor(), handle([CSV_JOB]), members);
    expect(status.state).toBe('completed');
  });

  it('404: the job is unknown → failed, JOB_NOT_FOUND, retryable', async () => {
    mockStatus({ errors: [{ field: 'id', message: 'job not found' }] }, JOB, 404);
    expect(await sendgrid.checkStatus(contextFor(), handle(), members)).toMatchObject({
      state: 'failed',
      code: JOB_NOT_FOUND,
      retryable: true,
    });
  });

  it('5xx or a dropped connection while checking throws a TransientError (the check failed, not the job)', async () => {
    mockStatus({ errors: [{ message: 'internal' }] }, JOB, 503);
    await expect(sendgrid.checkStatus(contextFor(), handle(), members)).rejects.toBeInstanceOf(
      TransientError,
    );
    nock(API)
      .get(`/v3/marketing/contacts/imports/${JOB}`)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(sendgrid.checkStatus(contextFor(), handle(), members)).rejects.toBeInstanceOf(
      TransientError,
    );
  });

  it('a 429 while checking throws RateLimitedError with the wait until X-RateLimit-Reset', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 30;
    nock(API)
      .get(`/v3/marketing/contacts/imports/${JOB}`)
      .reply(429, fixture('auth/too-many-requests.json'), {
        'x-ratelimit-limit': '100',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(reset),
      });
    const error = await sendgrid.checkStatus(contextFor(), handle(), members).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(28_000);
    expect(String(error)).toContain('too many requests');
  });

  it('an expired errors file (S3 403) is a retryable failed job, not an AuthError', async () => {
    mockStatus(fixture('status/errored.json'));
    nock(ERRORS).get('/9b1a2c3d.csv').query(true).reply(403, '<Error><Code>AccessDenied</Code></Error>');
    expect(await sendgrid.checkStatus(contextFor(), handle(), members)).toMatchObject({
      state: 'failed',
      retryable: true,
      code: 'errors_unavailable',
    });
  });

  it('an error row for an e-mail that is no member: members_mismatch, rather than a guess', async () => {
    mockStatus(fixture('status/errored.json'));
    mockErrorsFile('status/errors-unknown-member.csv');
    expect(await sendgrid.checkStatus(contextFor(), handle(), members)).toMatchObject({
      state: 'failed',
      retryable: true,
      code: 'members_mismatch',
    });
  });

  it('errors but no errors_url: errors_unavailable', async () => {
    const body = fixture<{ results: Record<string, unknown> }>('status/errored.json');
    delete body.results.errors_url;
    mockStatus(body);
    expect(await sendgrid.checkStatus(contextFor(), handle(), members)).toMatchObject({
      code: 'errors_unavailable',
    });
  });

  it('a handle without jobs (deletes of contacts that did not exist) is completed at once', async () => {
    expect(
      await sendgrid.checkStatus(contextFor(), { v: 1, path: 'none', upserts: [], deletes: [] }, members),
    ).toEqual({
      state: 'completed',
      outcomes: [],
    });
  });

  it('refuses a handle it did not make', async () => {
    await expect(sendgrid.checkStatus(contextFor(), { importId: 'x' }, members)).rejects.toBeInstanceOf(
      PermanentError,
    );
  });
});
