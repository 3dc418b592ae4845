import { ConfigError, type ProfileBatch, type ProfileChange, TransientError } from '@ferry/core';
import { streamedBatch } from '@ferry/core/testing';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eloqua } from '../src/index.ts';
import { BULK_PATH, context, fixture, mockId, POD, upsert } from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

/** A new definition, `/contacts/imports/<id>` (a fresh context has none to reuse). */
const mockNewDefinition = (id: number) => {
  nock(POD)
    .post(`${BULK_PATH}/contacts/imports`)
    .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: `/contacts/imports/${id}` });
};

const mockSync = (definition: string) =>
  nock(POD)
    .post(`${BULK_PATH}/syncs`, { syncedInstanceUri: definition })
    .reply(201, { ...fixture<object>('syncs/sync-created.json'), syncedInstanceUri: definition });

/** Records upload bodies to `/contacts/imports/<id>/data` and answers with `statuses` in turn (then 204). */
const recordUploads = (id: number, statuses: number[] = []) => {
  const bodies: string[] = [];
  const types: string[] = [];
  nock(POD)
    .post(`${BULK_PATH}/contacts/imports/${id}/data`)
    .times(20)
    .reply(async (request: Request) => {
      bodies.push(await request.text());
      types.push(request.headers.get('content-type') ?? '');
      return [statuses.shift() ?? 204];
    });
  return { bodies, types };
};

describe('data uploads', () => {
  it('upload CSV with a header in chunks no bigger than maxUploadBytes, rows in order', async () => {
    mockId();
    mockNewDefinition(384);
    const uploads = recordUploads(384);
    mockSync('/contacts/imports/384');
    const ctx = context({ limits: { maxUploadBytes: 16 * 1024 } });
    const batch = Array.from({ length: 300 }, (_, index) => upsert(index, { C_Notes1: 'x'.repeat(100) }));
    const result = await eloqua.exportProfiles(ctx, batch);
    expect(result.rejected).toEqual([]);
    expect(uploads.bodies.length).toBeGreaterThan(1);
    expect(uploads.types.every((type) => type.startsWith('text/csv'))).toBe(true);
    const header = 'C_EmailAddress,C_FirstName,C_Notes1\r\n';
    const rows: string[] = [];
    for (const body of uploads.bodies) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(16 * 1024);
      expect(body.startsWith(header)).toBe(true);
      rows.push(...body.slice(header.length).split('\r\n').filter(Boolean));
    }
    expect(rows).toEqual(
      batch.map((_, index) => `user${index}@example.com,User ${index},${'x'.repeat(100)}`),
    );
    expect(result.job).toMatchObject({
      syncs: [{ sync: '/syncs/9001', def: '/contacts/imports/384', rows: 300 }],
    });
  });

  it('send the whole body again when an upload is retried after a 503', async () => {
    mockId();
    mockNewDefinition(384);
    const uploads = recordUploads(384, [503]);
    mockSync('/contacts/imports/384');
    await eloqua.exportProfiles(context(), [upsert(1), upsert(2)]);
    const expected = 'C_EmailAddress,C_FirstName\r\nuser1@example.com,User 1\r\nuser2@example.com,User 2\r\n';
    expect(uploads.bodies).toEqual([expected, expected]);
  });

  it('move to a new definition when Eloqua answers 404 (the definition vanished)', async () => {
    mockId();
    mockNewDefinition(384);
    const first = recordUploads(384, [404]);
    mockNewDefinition(385);
    const second = recordUploads(385);
    mockSync('/contacts/imports/385');
    const { job } = await eloqua.exportProfiles(context(), [upsert(1)]);
    expect(first.bodies).toHaveLength(1);
    expect(second.bodies).toHaveLength(1);
    expect(job).toMatchObject({ syncs: [{ def: '/contacts/imports/385' }] });
  });

  it('treat 413 Storage space exceeded as transient and drop what was staged', async () => {
    mockId();
    mockNewDefinition(384);
    recordUploads(384, [413]);
    const cleared = nock(POD).delete(`${BULK_PATH}/contacts/imports/384/data`).reply(204);
    const error = await eloqua.exportProfiles(context(), [upsert(1)]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TransientError);
    expect((error as TransientError).code).toBe('storage_exceeded');
    cleared.done();
  });

  it('reject a row bigger than one upload for every profile sharing it, and upload the rest', async () => {
    mockId();
    mockNewDefinition(384);
    const uploads = recordUploads(384);
    mockSync('/contacts/imports/384');
    const ctx = context({ limits: { maxUploadBytes: 16 * 1024 } });
    const big = { C_Notes1: 'y'.repeat(20_000) };
    const result = await eloqua.exportProfiles(ctx, [
      upsert(1, big, { profileId: 'big-a' }),
      upsert(2),
      upsert(1, big, { profileId: 'big-b' }),
    ]);
    expect(
      result.rejected.map((outcome) => [
        outcome.profileId,
        outcome.status,
        (outcome as { code: string }).code,
      ]),
    ).toEqual([
      ['big-a', 'rejected', 'oversized'],
      ['big-b', 'rejected', 'oversized'],
    ]);
    expect(uploads.bodies).toHaveLength(1);
    expect(uploads.bodies[0]).not.toContain('yyyy');
  });

  it('refuse a job that needs more uploads than a sync takes (a configuration problem)', async () => {
    const ctx = context({ limits: { maxUploadBytes: 16 * 1024, maxUploadsPerSync: 2 } });
    const batch = Array.from({ length: 400 }, (_, index) => upsert(index, { C_Notes1: 'x'.repeat(100) }));
    await expect(eloqua.exportProfiles(ctx, batch)).rejects.toBeInstanceOf(ConfigError);
  });

  it('submit nothing for an empty batch or one rejected whole', async () => {
    const ctx = context();
    expect(await eloqua.exportProfiles(ctx, [])).toEqual({ job: null, rejected: [] });
    const result = await eloqua.exportProfiles(ctx, [
      { kind: 'delete', profileId: 'd', identity: 'd@example.com' },
    ]);
    expect(result.job).toBeNull();
    expect(result.rejected).toHaveLength(1);
  });
});

/** A streamed batch (like the runner's) that counts the passes made over it. */
const countedBatch = (changes: readonly ProfileChange[]) => {
  const inner = streamedBatch(changes, 50);
  const counted = {
    passes: 0,
    batch: {
      length: inner.length,
      [Symbol.asyncIterator]: () => {
        counted.passes += 1;
        return (inner as AsyncIterable<ProfileChange>)[Symbol.asyncIterator]();
      },
    } satisfies ProfileBatch,
  };
  return counted;
};

describe('streamed batches', () => {
  /** Several uploads, duplicate identities (collapsed), list changes (a second group) and a reject. */
  const mixedBatch = (): ProfileChange[] => [
    ...Array.from({ length: 300 }, (_, index) =>
      upsert(index % 250, { C_Notes1: `${index}`.padEnd(100, 'x') }, { profileId: `p${index}` }),
    ),
    upsert(400, {}, { lists: { add: ['12'], remove: [] } }),
    { kind: 'delete', profileId: 'd1', identity: 'gone@example.com' },
  ];

  const submit = async (batch: ProfileBatch | ProfileChange[]) => {
    mockId();
    mockNewDefinition(384);
    mockNewDefinition(385);
    const first = recordUploads(384);
    const second = recordUploads(385);
    mockSync('/contacts/imports/384');
    mockSync('/contacts/imports/385');
    const result = await eloqua.exportProfiles(context({ limits: { maxUploadBytes: 16 * 1024 } }), batch);
    nock.cleanAll();
    return { result, bodies: [...first.bodies, ...second.bodies] };
  };

  it('upload the same bodies, and give the same result, for a streamed batch as for an array', async () => {
    const fromArray = await submit(mixedBatch());
    const streamed = await submit(streamedBatch(mixedBatch(), 7));
    expect(fromArray.bodies.length).toBeGreaterThan(2);
    expect(streamed.bodies).toEqual(fromArray.bodies);
    expect(streamed.result).toEqual(fromArray.result);
    expect(fromArray.result.rejected.map((outcome) => outcome.profileId)).toEqual(['d1']);
    expect(fromArray.result.job).toMatchObject({ syncs: [{ rows: 250 }, { rows: 1 }] });
  });

  it('read the batch again for an upload retried after a 503, and send the same body', async () => {
    const changes = Array.from({ length: 300 }, (_, index) => upsert(index, { C_Notes1: 'x'.repeat(100) }));
    const expected = await submit(changes);
    mockId();
    mockNewDefinition(384);
    const uploads = recordUploads(384, [204, 503]);
    mockSync('/contacts/imports/384');
    const counted = countedBatch(changes);
    await eloqua.exportProfiles(context({ limits: { maxUploadBytes: 16 * 1024 } }), counted.batch);
    const [first, second, ...rest] = expected.bodies;
    expect(uploads.bodies).toEqual([first, second, second, ...rest]);
    expect(counted.passes).toBe(3);
  });

  it('read the batch once to plan the job and once per group to upload it', async () => {
    // One group over several uploads: 2 passes.
    const one = countedBatch(
      Array.from({ length: 300 }, (_, index) => upsert(index, { C_Notes1: 'x'.repeat(100) })),
    );
    const single = await submit(one.batch);
    expect(single.bodies.length).toBeGreaterThan(1);
    expect(one.passes).toBe(2);
    // Two groups: 3 passes.
    const two = countedBatch(mixedBatch());
    await submit(two.batch);
    expect(two.passes).toBe(3);
    // Profiles rejected as oversized: one more pass, to name them.
    const big = countedBatch([upsert(1, { C_Notes1: 'y'.repeat(20_000) }), upsert(2, { C_Notes1: '' })]);
    const { result } = await submit(big.batch);
    expect(result.rejected.map((outcome) => outcome.profileId)).toEqual(['p1']);
    expect(big.passes).toBe(3);
  });
});
