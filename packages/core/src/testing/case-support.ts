import { expect } from 'vitest';
import type { FieldValue, JobHandle, Limits, ProfileChange } from '../contract.ts';
import type { Fixture, FixtureProfile } from './fixtures.ts';
import type { ConformanceProfile } from './harness.ts';

/** DESIGN.md §2: the handle is small JSON, "a few KB at most". */
export const MAX_HANDLE_BYTES = 4096;

export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Turns list indexes into the harness's list ids and generates the oversized value. */
export const resolveProfile = (
  fixtureName: string,
  profile: FixtureProfile,
  listIds: readonly string[] | undefined,
  oversizeLength: number,
): ConformanceProfile => {
  const listId = (index: number): string => {
    const id = listIds?.[index];
    if (id === undefined) throw new Error(`fixture ${fixtureName} needs settings.listIds[${index}]`);
    return id;
  };
  const fields: Record<string, FieldValue> = {};
  for (const [name, value] of Object.entries(profile.fields)) {
    fields[name] = typeof value === 'object' && value !== null ? new Date(value.$date) : value;
  }
  if (profile.oversize !== undefined) fields[profile.oversize] = oversizedValue(oversizeLength);
  return {
    kind: profile.kind,
    profileId: profile.profileId,
    email: profile.email,
    fields,
    ...(profile.lists === undefined
      ? {}
      : { lists: { add: profile.lists.add.map(listId), remove: profile.lists.remove.map(listId) } }),
  };
};

/** A long ASCII value whose every character is visible, so truncation shows in a diff. */
export const oversizedValue = (length: number): string =>
  '0123456789'.repeat(Math.ceil(length / 10)).slice(0, length);

/** Profile number `index` made from a template: distinct id and e-mail, `padding` in `padField`. */
export const generated = (
  template: FixtureProfile,
  index: number,
  padField: string,
  padding: string,
): FixtureProfile => {
  const [local = 'profile', domain = 'example.com'] = template.email.split('@');
  return {
    ...template,
    profileId: `${template.profileId}-${index}`,
    email: `${local}.${index}@${domain}`,
    fields: { ...template.fields, [padField]: padding },
  };
};

/**
 * Builds a batch whose `jobOverheadBytes + Σ measure` equals `maxBytesPerJob` exactly, as the runner's
 * packer would fill a job to the brim. Uses as few profiles as the padding limit allows; each one's
 * padding is found by binary search on `measure` (monotone in the padding length). Returns a skip
 * reason when the limit cannot be reached exactly within `maxProfiles`.
 */
export const buildAtByteLimit = (input: {
  readonly limits: Limits;
  readonly padLimit: number;
  readonly maxProfiles: number;
  readonly make: (index: number, padding: string) => ProfileChange;
  readonly measure: (change: ProfileChange) => number;
  /** Characters the padding cycles through (default `x`); multi-byte ones make exact sizes unreachable. */
  readonly padText?: string;
  /** Must the batch reach the limit exactly (default), or may it stop a few bytes short? */
  readonly exact?: boolean;
}): ProfileChange[] | string => {
  const { limits, padLimit, maxProfiles, make, measure } = input;
  const unit = [...(input.padText ?? 'x')];
  const pad = (length: number): string => Array.from({ length }, (_, i) => unit[i % unit.length]).join('');
  const target = limits.maxBytesPerJob - (limits.jobOverheadBytes ?? 0);
  // The fewest profiles that can hold `target` bytes when fully padded.
  let count = 0;
  for (let capacity = 0; capacity < target; count += 1) {
    if (count >= maxProfiles) {
      return `reaching maxBytesPerJob (${limits.maxBytesPerJob}) needs more than ${maxProfiles} profiles; lower the limit in the harness options`;
    }
    capacity += measure(make(count, pad(padLimit)));
  }
  /** Longest padding (≤ padLimit) whose profile measures at most `budget`; -1 when even none is too big. */
  const longestPadding = (index: number, budget: number): number => {
    let low = -1;
    let high = padLimit;
    while (low < high) {
      const mid = Math.ceil((low + high + 1) / 2);
      if (measure(make(index, pad(mid))) <= budget) low = mid;
      else high = mid - 1;
    }
    return low;
  };
  const paddings: number[] = [];
  let remaining = target;
  for (let index = 0; index < count; index += 1) {
    const share = Math.floor(remaining / (count - index));
    const length = longestPadding(index, share);
    if (length < 0)
      return `a profile without padding is larger than its share (${share} bytes) of maxBytesPerJob`;
    paddings.push(length);
    remaining -= measure(make(index, pad(length)));
  }
  // Rounding leaves a few bytes over; grow earlier profiles' padding until they are used up.
  for (let index = count - 1; index >= 0 && remaining > 0; index -= 1) {
    const current = measure(make(index, pad(paddings[index] ?? 0)));
    const length = longestPadding(index, current + remaining);
    remaining -= measure(make(index, pad(length))) - current;
    paddings[index] = length;
  }
  if (remaining !== 0 && (input.exact ?? true))
    return `could not reach maxBytesPerJob exactly (${remaining} bytes short)`;
  return paddings.map((length, index) => make(index, pad(length)));
};

export const expectSmallJson = (job: JobHandle): void => {
  const text = JSON.stringify(job);
  expect(JSON.parse(text), 'the handle survives JSON unchanged').toEqual(job);
  expect(byteLength(text), 'handle size').toBeLessThanOrEqual(MAX_HANDLE_BYTES);
};

/** What a case expects of one change: must it be rejected, may it be, and in which field. */
export interface Expectation {
  readonly change: ProfileChange;
  readonly mustReject: boolean;
  readonly mayReject: boolean;
  /** The harness makes the vendor answer it with a transient error: its outcome must be `retryable`. */
  readonly transient?: boolean;
  /** Destination field holding the oversized value, when there is one. */
  readonly oversizedField?: string;
}

/** Padding cap of the size cases when the harness declares no maximum field length. */
const DEFAULT_PAD_LIMIT = 1000;

/**
 * A batch filled to `maxBytesPerJob` by the destination's own `measure`, from the fixture's first
 * profile with its `generate.padField` padded (what the two size cases submit). A string says why
 * the limit cannot be reached with the profiles the harness allows (the case skips).
 */
export const fixtureAtByteLimit = (input: {
  readonly fixture: Fixture;
  readonly limits: Limits;
  readonly toChange: (profile: FixtureProfile) => ProfileChange;
  readonly measure: (change: ProfileChange) => number;
  readonly maxFieldLength: number | undefined;
  readonly maxGeneratedProfiles: number | undefined;
  readonly exact: boolean;
}): ProfileChange[] | string => {
  const { fixture, limits } = input;
  const template = fixture.batches[0]?.[0];
  const padField = fixture.generate?.padField;
  if (template === undefined || padField === undefined)
    throw new Error(`fixture ${fixture.name} needs a template and padField`);
  return buildAtByteLimit({
    limits,
    padLimit: input.maxFieldLength ?? DEFAULT_PAD_LIMIT,
    maxProfiles: Math.min(limits.maxProfilesPerJob, input.maxGeneratedProfiles ?? 5000),
    make: (index, padding) => input.toChange(generated(template, index, padField, padding)),
    measure: input.measure,
    ...(fixture.generate?.padText === undefined ? {} : { padText: fixture.generate.padText }),
    exact: input.exact,
  });
};
