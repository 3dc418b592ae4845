import type { Limits, ProfileChange, RejectedOutcome } from './contract.ts';
import { ConfigError } from './errors.ts';

/** The part of a destination's `Limits` that decides how profiles are grouped into jobs. */
export type PackLimits = Pick<Limits, 'maxProfilesPerJob' | 'maxBytesPerJob' | 'jobOverheadBytes'>;

export interface PackOptions<C extends ProfileChange = ProfileChange> {
  readonly limits: PackLimits;
  /**
   * Encoded size in bytes of one profile (the destination's `measure`, options bound). Called exactly
   * once per profile, in input order, because it usually encodes the profile and that is not free.
   */
  readonly measure: (change: C) => number;
  /** Names the destination in error messages (`[ferry] [sendgrid] ...`); default `core`. */
  readonly destination?: string;
}

/** One job's worth of profiles. */
export interface PackedBatch<C extends ProfileChange = ProfileChange> {
  readonly kind: 'batch';
  /** In input order; never empty; a fresh array the consumer owns. */
  readonly changes: readonly C[];
  /** `jobOverheadBytes` + the sum of `measure` over `changes`; never above `maxBytesPerJob`. */
  readonly bytes: number;
}

/** A profile that cannot fit in any job, even alone. It is rejected here and never sent. */
export interface OversizedProfile<C extends ProfileChange = ProfileChange> {
  readonly kind: 'oversized';
  readonly change: C;
  /** What `measure` returned for it. */
  readonly bytes: number;
  /** `status: 'rejected'`, `code: 'oversized'`, with its size and the limit in the message. */
  readonly outcome: RejectedOutcome;
}

export type PackedItem<C extends ProfileChange = ProfileChange> = PackedBatch<C> | OversizedProfile<C>;

/** The `code` of the outcome given to a profile that is larger than a whole job may be. */
export const OVERSIZED = 'oversized';

const describeValue = (value: unknown): string => (typeof value === 'number' ? String(value) : typeof value);

/**
 * Limits come from a destination's `limits(options)`, often computed from user options, so a bad value
 * is reported as a ConfigError (it stops the destination: nothing can be packed until it is fixed)
 * rather than surfacing later as an endless loop or a job the vendor refuses.
 */
const validateLimits = (limits: PackLimits, destination: string): Required<PackLimits> => {
  const { maxProfilesPerJob, maxBytesPerJob, jobOverheadBytes = 0 } = limits;
  const fail = (message: string): never => {
    throw new ConfigError(destination, `invalid job limits: ${message}`);
  };
  if (!Number.isSafeInteger(maxProfilesPerJob) || maxProfilesPerJob < 1) {
    fail(`maxProfilesPerJob must be a positive integer, got ${describeValue(maxProfilesPerJob)}`);
  }
  if (!Number.isSafeInteger(maxBytesPerJob) || maxBytesPerJob < 1) {
    fail(`maxBytesPerJob must be a positive integer, got ${describeValue(maxBytesPerJob)}`);
  }
  if (!Number.isSafeInteger(jobOverheadBytes) || jobOverheadBytes < 0) {
    fail(`jobOverheadBytes must be a non-negative integer, got ${describeValue(jobOverheadBytes)}`);
  }
  if (jobOverheadBytes >= maxBytesPerJob) {
    fail(
      `jobOverheadBytes (${jobOverheadBytes}) must be less than maxBytesPerJob (${maxBytesPerJob}), ` +
        'or no profile would ever fit',
    );
  }
  return { maxProfilesPerJob, maxBytesPerJob, jobOverheadBytes };
};

/**
 * What adding one profile did to the open job, for consumers that do not keep a job's profiles in
 * memory (the runner writes them to its store as they come): the profile joined the open job
 * (opening one if none was open), the open job is complete, or the profile is oversized.
 */
export type PackEvent<C extends ProfileChange = ProfileChange> =
  | { readonly kind: 'join'; readonly change: C; readonly bytes: number }
  | {
      readonly kind: 'close';
      /** Profiles in the job that just closed; never 0. */
      readonly profiles: number;
      /** `jobOverheadBytes` + the sum of `measure` over them; never above `maxBytesPerJob`. */
      readonly bytes: number;
    }
  | OversizedProfile<C>;

interface JobSizer<C extends ProfileChange> {
  /** Events in order: possibly `close` (the profile did not fit), `join`, possibly `close` (now full). */
  readonly add: (change: C) => readonly PackEvent<C>[];
  /** Closes the open job, if it holds anything; call once at the end of the input. */
  readonly finish: () => PackEvent<C> | undefined;
}

/** The packing rules, counting rather than holding: every packer below is built on it. */
const createJobSizer = <C extends ProfileChange>(options: PackOptions<C>): JobSizer<C> => {
  const destination = options.destination ?? 'core';
  const { maxProfilesPerJob, maxBytesPerJob, jobOverheadBytes } = validateLimits(options.limits, destination);
  const { measure } = options;
  const room = maxBytesPerJob - jobOverheadBytes;

  let profiles = 0;
  let bytes = jobOverheadBytes;

  const close = (): PackEvent<C> => {
    const event: PackEvent<C> = { kind: 'close', profiles, bytes };
    profiles = 0;
    bytes = jobOverheadBytes;
    return event;
  };

  const add = (change: C): readonly PackEvent<C>[] => {
    const size = measure(change);
    // A NaN or negative size would silently break the byte guarantee; it is a bug in the destination.
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new TypeError(
        `[ferry] [${destination}] measure returned ${describeValue(size)} for profile ${change.profileId}; ` +
          'expected a finite number of bytes >= 0',
      );
    }
    if (size > room) {
      // Oversized profiles leave the open job alone: closing it here would send a part-filled job
      // for nothing, and the rejection does not depend on what else is in flight.
      const limit =
        jobOverheadBytes === 0
          ? `the limit of ${maxBytesPerJob} bytes per job`
          : `the ${room} bytes a job can hold (maxBytesPerJob ${maxBytesPerJob} minus ${jobOverheadBytes} bytes of job overhead)`;
      return [
        {
          kind: 'oversized',
          change,
          bytes: size,
          outcome: {
            profileId: change.profileId,
            status: 'rejected',
            code: OVERSIZED,
            message: `profile is ${size} bytes encoded, more than ${limit}`,
          },
        },
      ];
    }
    const events: PackEvent<C>[] = [];
    // The open job is not empty here (the profile fits alone), and not full by count (it would have
    // been closed), so the new one holds one profile and cannot be full either.
    if (bytes + size > maxBytesPerJob) events.push(close());
    profiles += 1;
    bytes += size;
    events.push({ kind: 'join', change, bytes: size });
    // A job full by count is closed at once, rather than when the next profile arrives, so the runner
    // can submit it while the source is still being read. One full to the byte is not: `measure` may
    // return 0 (a profile that adds nothing to the upload), and such a profile would still fit.
    if (profiles >= maxProfilesPerJob) events.push(close());
    return events;
  };

  const finish = (): PackEvent<C> | undefined => (profiles > 0 ? close() : undefined);

  return { add, finish };
};

/** Turns sizer events into whole batches, holding the open one. */
const collectBatches = <C extends ProfileChange>() => {
  let changes: C[] = [];
  return (event: PackEvent<C>): PackedItem<C> | undefined => {
    if (event.kind === 'join') {
      changes.push(event.change);
      return undefined;
    }
    if (event.kind === 'oversized') return event;
    const batch: PackedBatch<C> = { kind: 'batch', changes, bytes: event.bytes };
    changes = [];
    return batch;
  };
};

/**
 * The same rules as `packBatches`, as events, so a consumer can write each profile away as it joins
 * a job instead of holding the job: `join` (the profile is in the open job), `close` (the open job is
 * complete: submit it), `oversized`. Every profile gets exactly one `join` or `oversized`.
 */
export const packJobs = <C extends ProfileChange>(
  changes: AsyncIterable<C> | Iterable<C>,
  options: PackOptions<C>,
): AsyncGenerator<PackEvent<C>, void, undefined> => {
  const sizer = createJobSizer(options);
  return (async function* pack() {
    for await (const change of changes) yield* sizer.add(change);
    const last = sizer.finish();
    if (last !== undefined) yield last;
  })();
};

/**
 * Groups profiles into jobs by count **and** encoded bytes, streaming.
 *
 * - No batch holds more than `maxProfilesPerJob` profiles or more than `maxBytesPerJob` bytes
 *   (`jobOverheadBytes` + the sum of `measure` over its profiles).
 * - Greedy fill, in input order: a batch is yielded as soon as the next profile would not fit, or
 *   at once when it is full by count, so every batch but the last could not have taken the profile
 *   that follows it.
 * - A profile that cannot fit even alone is yielded at once as `oversized` with a rejected outcome and
 *   is not part of any batch; it does not close the open batch. So batches hold the other profiles in
 *   input order, oversized items come in input order, and every profile is in exactly one item.
 * - `measure` is called exactly once per profile. Only the open batch is held in memory, and the
 *   input is read only as fast as the consumer takes items.
 *
 * Limits are checked when this is called, not on the first `next()`: a ConfigError naming
 * `options.destination` (default `core`), since limits come from the destination and its options.
 * A `measure` result that is not a finite number >= 0 throws a TypeError (a bug in the destination).
 */
export const packBatches = <C extends ProfileChange>(
  changes: AsyncIterable<C> | Iterable<C>,
  options: PackOptions<C>,
): AsyncGenerator<PackedItem<C>, void, undefined> => {
  const sizer = createJobSizer(options);
  const collect = collectBatches<C>();
  return (async function* pack() {
    for await (const change of changes) {
      for (const event of sizer.add(change)) {
        const item = collect(event);
        if (item !== undefined) yield item;
      }
    }
    const last = sizer.finish();
    if (last !== undefined) yield collect(last)!;
  })();
};

/**
 * The same packing over an in-memory or otherwise synchronous input. Plugins use it to split one job
 * into several uploads (Eloqua: at most 32 MB per POST) with the same guarantees.
 */
export const packBatchesSync = <C extends ProfileChange>(
  changes: Iterable<C>,
  options: PackOptions<C>,
): Generator<PackedItem<C>, void, undefined> => {
  const sizer = createJobSizer(options);
  const collect = collectBatches<C>();
  return (function* pack() {
    for (const change of changes) {
      for (const event of sizer.add(change)) {
        const item = collect(event);
        if (item !== undefined) yield item;
      }
    }
    const last = sizer.finish();
    if (last !== undefined) yield collect(last)!;
  })();
};
