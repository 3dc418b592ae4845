import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProfileChange, UpsertChange } from '../src/contract.ts';
import { ConfigError } from '../src/errors.ts';
import {
  OVERSIZED,
  type PackedBatch,
  type PackedItem,
  type PackLimits,
  packBatches,
  packBatchesSync,
  packJobs,
} from '../src/pack.ts';

/** A profile whose encoded size is carried in a field, so tests choose sizes directly. */
const profile = (index: number, size: number): UpsertChange => ({
  kind: 'upsert',
  profileId: `p${index}`,
  identity: `p${index}@example.com`,
  fields: { size },
});

const sizeOf = (change: ProfileChange): number => (change.kind === 'upsert' ? Number(change.fields.size) : 0);

const profiles = (sizes: readonly number[]): UpsertChange[] =>
  sizes.map((size, index) => profile(index, size));

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

const pack = (sizes: readonly number[], limits: PackLimits): Promise<PackedItem<UpsertChange>[]> =>
  collect(packBatches(profiles(sizes), { limits, measure: sizeOf }));

/** Each item as the profile ids it holds: batches as arrays, oversized as `!id`. */
const shape = (items: readonly PackedItem[]): (string[] | string)[] =>
  items.map((item) =>
    item.kind === 'batch' ? item.changes.map((change) => change.profileId) : `!${item.change.profileId}`,
  );

describe('packBatches', () => {
  it('yields nothing for an empty input', async () => {
    expect(await pack([], { maxProfilesPerJob: 10, maxBytesPerJob: 100 })).toEqual([]);
    expect(
      await collect(
        packBatches((async function* () {})(), {
          limits: { maxProfilesPerJob: 1, maxBytesPerJob: 1 },
          measure: sizeOf,
        }),
      ),
    ).toEqual([]);
  });

  it('fills a batch exactly to the byte limit', async () => {
    const items = await pack([40, 60, 50, 50], { maxProfilesPerJob: 10, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual([
      ['p0', 'p1'],
      ['p2', 'p3'],
    ]);
    expect(items.map((item) => (item as PackedBatch).bytes)).toEqual([100, 100]);
  });

  it('starts a new batch when the next profile is one byte over', async () => {
    const items = await pack([40, 61, 39], { maxProfilesPerJob: 10, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual([['p0'], ['p1', 'p2']]);
    expect(items.map((item) => (item as PackedBatch).bytes)).toEqual([40, 100]);
  });

  it('closes a batch at the count limit', async () => {
    const items = await pack([1, 1, 1, 1, 1, 1, 1], { maxProfilesPerJob: 3, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual([['p0', 'p1', 'p2'], ['p3', 'p4', 'p5'], ['p6']]);
  });

  it('accepts a profile exactly as large as a job and rejects one byte more', async () => {
    const items = await pack([100, 101], { maxProfilesPerJob: 10, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual(['!p1', ['p0']]);
  });

  it('rejects an oversized profile in the middle and keeps the order of the rest', async () => {
    const items = await pack([30, 30, 500, 30, 30], { maxProfilesPerJob: 10, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual(['!p2', ['p0', 'p1', 'p3'], ['p4']]);
    const oversized = items.find((item) => item.kind === 'oversized');
    expect(oversized).toMatchObject({
      bytes: 500,
      outcome: {
        profileId: 'p2',
        status: 'rejected',
        code: OVERSIZED,
        message: 'profile is 500 bytes encoded, more than the limit of 100 bytes per job',
      },
    });
  });

  it('counts the job overhead in every batch and in the oversized check', async () => {
    const limits = { maxProfilesPerJob: 10, maxBytesPerJob: 100, jobOverheadBytes: 20 };
    const items = await pack([40, 40, 1, 81, 80], limits);
    expect(shape(items)).toEqual([['p0', 'p1'], '!p3', ['p2'], ['p4']]);
    expect(items.filter((item) => item.kind === 'batch').map((item) => item.bytes)).toEqual([100, 21, 100]);
    const oversized = items.find((item) => item.kind === 'oversized');
    expect(oversized?.outcome.message).toBe(
      'profile is 81 bytes encoded, more than the 80 bytes a job can hold ' +
        '(maxBytesPerJob 100 minus 20 bytes of job overhead)',
    );
  });

  it('yields a full batch before reading further input', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<UpsertChange> {
      for (let index = 0; index < 1_000; index += 1) {
        pulled += 1;
        yield profile(index, 10);
      }
    }
    const iterator = packBatches(source(), {
      limits: { maxProfilesPerJob: 5, maxBytesPerJob: 1_000 },
      measure: sizeOf,
    });
    const first = await iterator.next();
    expect(shape([first.value as PackedItem])).toEqual([['p0', 'p1', 'p2', 'p3', 'p4']]);
    expect(pulled).toBe(5);
    await iterator.return();
  });

  it('yields a byte-full batch as soon as the next profile does not fit', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<UpsertChange> {
      for (const [index, size] of [60, 30, 20, 5, 5].entries()) {
        pulled += 1;
        yield profile(index, size);
      }
    }
    const iterator = packBatches(source(), {
      limits: { maxProfilesPerJob: 10, maxBytesPerJob: 100 },
      measure: sizeOf,
    });
    expect(shape([(await iterator.next()).value as PackedItem])).toEqual([['p0', 'p1']]);
    expect(pulled).toBe(3);
    await iterator.return();
  });

  it('lets profiles measured at 0 bytes join a batch that is full to the byte', async () => {
    const items = await pack([100, 0, 0, 1], { maxProfilesPerJob: 10, maxBytesPerJob: 100 });
    expect(shape(items)).toEqual([['p0', 'p1', 'p2'], ['p3']]);
  });

  it('calls measure exactly once per profile', async () => {
    const calls = new Map<string, number>();
    const measure = (change: ProfileChange): number => {
      calls.set(change.profileId, (calls.get(change.profileId) ?? 0) + 1);
      return sizeOf(change);
    };
    const input = profiles([50, 60, 200, 40, 10, 90, 100]);
    await collect(packBatches(input, { limits: { maxProfilesPerJob: 2, maxBytesPerJob: 100 }, measure }));
    expect([...calls.keys()]).toEqual(input.map((change) => change.profileId));
    expect([...calls.values()].every((count) => count === 1)).toBe(true);
  });

  it.each([
    [{ maxProfilesPerJob: 0, maxBytesPerJob: 100 }, 'maxProfilesPerJob must be a positive integer, got 0'],
    [
      { maxProfilesPerJob: 1.5, maxBytesPerJob: 100 },
      'maxProfilesPerJob must be a positive integer, got 1.5',
    ],
    [
      { maxProfilesPerJob: 10, maxBytesPerJob: Number.NaN },
      'maxBytesPerJob must be a positive integer, got NaN',
    ],
    [
      { maxProfilesPerJob: 10, maxBytesPerJob: 100, jobOverheadBytes: -1 },
      'jobOverheadBytes must be a non-negative',
    ],
    [
      { maxProfilesPerJob: 10, maxBytesPerJob: 100, jobOverheadBytes: 100 },
      'must be less than maxBytesPerJob',
    ],
  ])('rejects invalid limits %j when called', (limits, message) => {
    const call = () => packBatches([], { limits, measure: sizeOf, destination: 'sendgrid' });
    expect(call).toThrow(ConfigError);
    expect(call).toThrow(message);
    expect(call).toThrow('[ferry] [sendgrid] invalid job limits');
  });

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('throws when measure returns %s', async (size) => {
    const items = packBatches(profiles([size]), {
      limits: { maxProfilesPerJob: 1, maxBytesPerJob: 10 },
      measure: sizeOf,
    });
    await expect(collect(items)).rejects.toThrow(/measure returned .* for profile p0/);
  });
});

describe('packBatchesSync', () => {
  it('packs like packBatches', async () => {
    const sizes = [5, 70, 30, 1, 200, 99, 100, 3];
    const limits = { maxProfilesPerJob: 3, maxBytesPerJob: 100, jobOverheadBytes: 1 };
    expect([...packBatchesSync(profiles(sizes), { limits, measure: sizeOf })]).toEqual(
      await pack(sizes, limits),
    );
  });
});

describe('packJobs', () => {
  it('reports a job closed by the next profile before that profile joins the next one', async () => {
    const events = await collect(
      packJobs(profiles([60, 50, 500, 10]), {
        limits: { maxProfilesPerJob: 2, maxBytesPerJob: 100 },
        measure: sizeOf,
      }),
    );
    expect(
      events.map((event) =>
        event.kind === 'close'
          ? `close ${event.profiles}/${event.bytes}`
          : `${event.kind} ${event.change.profileId}`,
      ),
    ).toEqual(['join p0', 'close 1/60', 'join p1', 'oversized p2', 'join p3', 'close 2/60']);
  });
});

describe('packBatches properties', () => {
  const scenario = fc
    .record({
      maxProfilesPerJob: fc.integer({ min: 1, max: 12 }),
      maxBytesPerJob: fc.integer({ min: 1, max: 400 }),
      overheadShare: fc.double({ min: 0, max: 0.9, noNaN: true }),
      sizes: fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 120 }),
    })
    .map(({ maxProfilesPerJob, maxBytesPerJob, overheadShare, sizes }) => ({
      limits: {
        maxProfilesPerJob,
        maxBytesPerJob,
        jobOverheadBytes: Math.floor(maxBytesPerJob * overheadShare),
      },
      sizes,
    }));

  it('packJobs events rebuild exactly the batches of packBatches', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limits, sizes }) => {
        const input = profiles(sizes);
        const rebuilt: PackedItem<UpsertChange>[] = [];
        let open: UpsertChange[] = [];
        for await (const event of packJobs(input, { limits, measure: sizeOf })) {
          if (event.kind === 'join') open.push(event.change);
          else if (event.kind === 'oversized') rebuilt.push(event);
          else {
            expect(event.profiles).toBe(open.length);
            rebuilt.push({ kind: 'batch', changes: open, bytes: event.bytes });
            open = [];
          }
        }
        expect(open).toEqual([]);
        expect(rebuilt).toEqual(await collect(packBatches(input, { limits, measure: sizeOf })));
      }),
      { numRuns: 300 },
    );
  });

  it('never exceeds a limit, keeps order, drops and duplicates nothing, and fills greedily', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limits, sizes }) => {
        const { maxProfilesPerJob, maxBytesPerJob, jobOverheadBytes } = limits;
        const input = profiles(sizes);
        const items = await collect(packBatches(input, { limits, measure: sizeOf }));
        const batches = items.filter((item) => item.kind === 'batch');
        const oversized = items.filter((item) => item.kind === 'oversized');

        for (const batch of batches) {
          expect(batch.changes.length).toBeGreaterThan(0);
          expect(batch.changes.length).toBeLessThanOrEqual(maxProfilesPerJob);
          expect(batch.bytes).toBe(
            jobOverheadBytes + batch.changes.reduce((sum, change) => sum + sizeOf(change), 0),
          );
          expect(batch.bytes).toBeLessThanOrEqual(maxBytesPerJob);
        }

        // Exactly the profiles that cannot fit alone are rejected, in input order.
        const tooBig = input.filter((change) => jobOverheadBytes + sizeOf(change) > maxBytesPerJob);
        expect(oversized.map((item) => item.change)).toEqual(tooBig);
        for (const item of oversized)
          expect(item.outcome).toMatchObject({ status: 'rejected', code: OVERSIZED });

        // Batches hold every other profile once, in input order.
        const fits = input.filter((change) => !tooBig.includes(change));
        const packed = batches.flatMap((batch) => batch.changes);
        expect(packed).toEqual(fits);
        expect(packed.length + oversized.length).toBe(input.length);

        // Greedy: every batch but the last was closed because the next profile would not fit.
        for (let index = 0; index < batches.length - 1; index += 1) {
          const batch = batches[index]!;
          const next = batches[index + 1]!.changes[0]!;
          const full =
            batch.changes.length === maxProfilesPerJob || batch.bytes + sizeOf(next) > maxBytesPerJob;
          expect(full).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('yields every item as soon as it is decided, reading no further ahead', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ limits, sizes }) => {
        let read = 0;
        async function* source(): AsyncGenerator<UpsertChange> {
          for (const change of profiles(sizes)) {
            read += 1;
            yield change;
          }
        }
        const seen: { item: PackedItem<UpsertChange>; read: number }[] = [];
        for await (const item of packBatches(source(), { limits, measure: sizeOf }))
          seen.push({ item, read });

        const position = (change: ProfileChange): number => Number(change.profileId.slice(1));
        const batchStarts = seen.flatMap(({ item }) =>
          item.kind === 'batch' ? [position(item.changes[0]!)] : [],
        );
        let batchIndex = 0;
        for (const { item, read: readWhenYielded } of seen) {
          if (item.kind === 'oversized') {
            // Rejected the moment it was measured.
            expect(readWhenYielded).toBe(position(item.change) + 1);
            continue;
          }
          batchIndex += 1;
          const nextStart = batchStarts[batchIndex];
          // Not the last batch: yielded by the time the first profile of the next batch was read.
          if (nextStart !== undefined) expect(readWhenYielded).toBeLessThanOrEqual(nextStart + 1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
