import { gunzipSync } from 'node:zlib';
import type { ProfileBatch, ProfileChange } from '@ferry/core';
import { streamedBatch } from '@ferry/core/testing';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { API, contextFor, fixture, LIST_A, LIST_B, remove, upsert } from './support.ts';

/**
 * Batches as the runner hands them over: streamed (async, paged, not an array) and read more than
 * once. Submitting one must make the same calls with the same bodies as submitting the array, and a
 * gzip CSV import must read it at most twice (once to collapse it, once to encode it), not hold it.
 * JSON is read once, unless there is more to gather (deletes, list removals, shared e-mails).
 */

const DEFINITIONS = fixture('field-definitions/definitions.json');
const TICKET = fixture<{ job_id: string; upload_uri: string }>('imports/import-accepted.json');
const S3 = 'https://mc-contacts-import-upload.s3.test';

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => nock.enableNetConnect());

interface Call {
  readonly method: string;
  readonly path: string;
  /** JSON bodies parsed; uploads as the raw bytes sent and their CSV text. */
  readonly body: unknown;
}

/** Answers every call the plugin may make and records each one, uploads byte for byte. */
const recordCalls = (): Call[] => {
  const calls: Call[] = [];
  const record = async (request: Request): Promise<unknown> => {
    const raw = Buffer.from(await request.arrayBuffer());
    const url = new URL(request.url);
    const gzip = raw[0] === 0x1f && raw[1] === 0x8b;
    const text = (gzip ? gunzipSync(raw) : raw).toString('utf8');
    const body =
      url.origin === S3 ? { bytes: raw.toString('base64'), text } : text === '' ? null : JSON.parse(text);
    calls.push({ method: request.method, path: `${url.pathname}${url.search}`, body });
    return body;
  };
  nock(API)
    .persist()
    .get('/v3/marketing/field_definitions')
    .reply(async (request: Request) => {
      await record(request);
      return [200, DEFINITIONS];
    })
    .put('/v3/marketing/contacts')
    .reply(async (request: Request) => {
      await record(request);
      return [202, { job_id: `job-${calls.length}` }];
    })
    .put('/v3/marketing/contacts/imports')
    .reply(async (request: Request) => {
      await record(request);
      return [200, TICKET];
    })
    .post('/v3/marketing/contacts/search/emails')
    .reply(async (request: Request) => {
      const { emails } = (await record(request)) as { emails: string[] };
      const result = Object.fromEntries(
        emails.map((email) => [email, { contact: { id: `id-${email.split('@')[0]}`, email } }]),
      );
      return [200, { result }];
    })
    .delete(/\/v3\/marketing\/(contacts|lists\/[^/]+\/contacts)\?/)
    .reply(async (request: Request) => {
      await record(request);
      return [202, { job_id: `del-${calls.length}` }];
    });
  nock(S3)
    .persist()
    .put('/60ebc208.csv')
    .query(true)
    .reply(async (request: Request) => {
      await record(request);
      return [200, ''];
    });
  return calls;
};

/** A streamed batch that counts its readings. */
const counted = (changes: readonly ProfileChange[]): ProfileBatch & { readonly reads: () => number } => {
  const inner = streamedBatch(changes, 7) as AsyncIterable<ProfileChange> & { length: number };
  let reads = 0;
  return {
    length: inner.length,
    reads: () => reads,
    [Symbol.asyncIterator]: () => {
      reads += 1;
      return inner[Symbol.asyncIterator]();
    },
  };
};

/**
 * Duplicates (the last valid change per e-mail wins, its earlier ones share its outcome), a change
 * rejected at submission, custom fields, two groups of list additions, list removals and deletes.
 */
const mixedBatch = (count: number): ProfileChange[] => {
  const changes: ProfileChange[] = [];
  for (let n = 0; n < count; n += 1) {
    const fields = { first_name: n % 11 === 0 ? 'x'.repeat(60) : `Zoë ${n}`, notes: `a,"b" ${n}`, score: n };
    changes.push(upsert(n, fields, n % 5 === 0 ? { lists: { add: [LIST_B], remove: [LIST_A] } } : {}));
    if (n % 9 === 0)
      changes.push(upsert(`dup${n}`, { city: 'Zürich' }, { identity: `USER${n}@example.com` }));
    if (n % 13 === 0) changes.push(remove(n, `gone${n}@example.com`));
  }
  return changes;
};

const submit = async (options: Record<string, unknown>, batch: ProfileBatch) => {
  const calls = recordCalls();
  const result = await sendgrid.exportProfiles(contextFor(options), batch);
  nock.cleanAll();
  return { result, calls };
};

describe('streamed batches', () => {
  // Readings: one to collapse, one to encode. An uncompressed CSV file is not kept but encoded again
  // from the batch for every upload (S3 needs its size first, which is computed, not encoded): here two
  // groups of list additions make two imports, after one reading to gather the deletes.
  const paths: [string, number, Record<string, unknown>, string][] = [
    ['JSON', 2, { submission: 'json' }, 'json'],
    ['JSON split at the size limit', 2, { submission: 'json', json: { maxBytesPerJob: 4096 } }, 'json'],
    ['CSV (gzip)', 2, { submission: 'csv' }, 'csv'],
    ['CSV (uncompressed)', 4, { submission: 'csv', csv: { gzip: false } }, 'csv'],
    ['auto, one group over the JSON limits', 2, { json: { maxProfilesPerJob: 30 } }, 'mixed'],
    ['auto, within them', 2, {}, 'json'],
  ];

  it.each(paths)(
    '%s: the same calls and bodies as the array, from %i readings',
    async (_, readings, options, path) => {
      const changes = mixedBatch(120);
      const fromArray = await submit(options, changes);
      const batch = counted(changes);
      const streamed = await submit(options, batch);
      expect(streamed.result).toEqual(fromArray.result);
      expect(streamed.calls).toEqual(fromArray.calls);
      expect(batch.reads()).toBe(readings);
      expect(fromArray.result.job).toMatchObject({ path });
      // The batch exercises what it should: rejections, duplicates, deletes, removals.
      expect(fromArray.result.rejected.length).toBeGreaterThan(0);
      const paths = fromArray.calls.map((call) => `${call.method} ${call.path.split('?')[0]}`);
      expect(paths).toContain('POST /v3/marketing/contacts/search/emails');
      expect(paths).toContain(`DELETE /v3/marketing/lists/${LIST_A}/contacts`);
    },
  );

  it('JSON upserts alone are read once', async () => {
    const changes = Array.from({ length: 50 }, (_, n) => upsert(n, { first_name: `Zoë ${n}`, score: n }));
    const fromArray = await submit({}, changes);
    const batch = counted(changes);
    const streamed = await submit({}, batch);
    expect(streamed).toEqual(fromArray);
    expect(streamed.result.job).toMatchObject({ path: 'json' });
    expect(batch.reads()).toBe(1);
  });

  it('a CSV import of a large batch reads it exactly twice and uploads every e-mail once', async () => {
    const changes = Array.from({ length: 5000 }, (_, n) => upsert(n % 4000, { first_name: `F${n}` }));
    const batch = counted(changes);
    const { result, calls } = await submit({ submission: 'csv' }, batch);
    expect(batch.reads()).toBe(2);
    expect(result).toEqual({
      job: { v: 1, path: 'csv', upserts: [TICKET.job_id], deletes: [] },
      rejected: [],
    });
    const upload = calls.find((call) => call.path.startsWith('/60ebc208.csv'))?.body as { text: string };
    const rows = upload.text.trimEnd().split('\n');
    expect(rows).toHaveLength(4001);
    // Each e-mail's last change is sent, where that change stands in the batch.
    expect(rows[1]).toBe('user1000@example.com,F1000');
    expect(rows[3001]).toBe('user0@example.com,F4000');
  });

  it('an uncompressed CSV upload that is retried reads the batch again and sends the same bytes', async () => {
    const changes = Array.from({ length: 40 }, (_, n) =>
      upsert(n % 30, { first_name: `Zoë ${n}`, notes: 'a,b' }),
    );
    const uploads: Buffer[] = [];
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    nock(API).put('/v3/marketing/contacts/imports').reply(200, TICKET);
    nock(S3)
      .put('/60ebc208.csv')
      .query(true)
      .times(2)
      .reply(async (request: Request) => {
        uploads.push(Buffer.from(await request.arrayBuffer()));
        return uploads.length === 1 ? [503, ''] : [200, ''];
      });
    const batch = counted(changes);
    const ctx = contextFor({ submission: 'csv', csv: { gzip: false } }, { retries: 2 });
    await sendgrid.exportProfiles(ctx, batch);
    expect(uploads).toHaveLength(2);
    expect(uploads[1]?.equals(uploads[0] as Buffer)).toBe(true);
    expect(uploads[0]?.toString('utf8').split('\n')).toHaveLength(32);
    // Collapsed once, then encoded for each attempt: no reading to gather anything else.
    expect(batch.reads()).toBe(3);
  });
});
