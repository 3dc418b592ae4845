import { z } from 'zod';
// The fixtures are imported as JSON modules rather than read from disk next to this file: vitest and
// Node load them from src, and tsup inlines them into dist/testing/index.js, so the published kit
// needs no files besides dist and no path arithmetic on import.meta.url.
import authFailure from './fixtures/auth-failure.json' with { type: 'json' };
import batchAtByteLimit from './fixtures/batch-at-byte-limit.json' with { type: 'json' };
import deleteProfile from './fixtures/delete-profile.json' with { type: 'json' };
import duplicateIdentities from './fixtures/duplicate-identities.json' with { type: 'json' };
import emptyBatch from './fixtures/empty-batch.json' with { type: 'json' };
import freshInstanceStatus from './fixtures/fresh-instance-status.json' with { type: 'json' };
import handleSize from './fixtures/handle-size.json' with { type: 'json' };
import idempotentStatus from './fixtures/idempotent-status.json' with { type: 'json' };
import invalidEmail from './fixtures/invalid-email.json' with { type: 'json' };
import jobNotFound from './fixtures/job-not-found.json' with { type: 'json' };
import listMembership from './fixtures/list-membership.json' with { type: 'json' };
import multibyteByteLimit from './fixtures/multibyte-byte-limit.json' with { type: 'json' };
import outcomeMembers from './fixtures/outcome-members.json' with { type: 'json' };
import oversizedValue from './fixtures/oversized-value.json' with { type: 'json' };
import pendingIdempotentStatus from './fixtures/pending-idempotent-status.json' with { type: 'json' };
import rateLimitStorm from './fixtures/rate-limit-storm.json' with { type: 'json' };
import restartFreshModules from './fixtures/restart-fresh-modules.json' with { type: 'json' };
import singleProfile from './fixtures/single-profile.json' with { type: 'json' };
import statusRateLimited from './fixtures/status-rate-limited.json' with { type: 'json' };
import transientOutcomes from './fixtures/transient-outcomes.json' with { type: 'json' };
import transientStatusCheck from './fixtures/transient-status-check.json' with { type: 'json' };
import typedValues from './fixtures/typed-values.json' with { type: 'json' };
import unicodeValues from './fixtures/unicode-values.json' with { type: 'json' };
import wholeJobFailure from './fixtures/whole-job-failure.json' with { type: 'json' };

const listRefs = z.array(z.number().int().min(0)).default([]);

const fixtureProfileSchema = z.strictObject({
  profileId: z.string().min(1),
  email: z.string(),
  kind: z.enum(['upsert', 'delete']).default('upsert'),
  /**
   * Canonical field names: firstName, lastName, city, notes (text); score (number), vip (boolean),
   * signedUpAt (date, written `{ "$date": "<ISO 8601>" }`). `null` clears the field.
   */
  fields: z
    .record(
      z.string(),
      z.union([z.string(), z.number(), z.boolean(), z.null(), z.strictObject({ $date: z.iso.datetime() })]),
    )
    .default({}),
  /** Indexes into `settings.listIds`. */
  lists: z.strictObject({ add: listRefs, remove: listRefs }).optional(),
  /** The e-mail is syntactically invalid: expect a rejection when the destination validates e-mails. */
  invalidEmail: z.boolean().default(false),
  /** This canonical field gets a value longer than `settings.maxFieldLength`. */
  oversize: z.string().optional(),
  /** The harness makes the vendor answer this profile with a transient error (`faults.deferProfiles`). */
  transient: z.boolean().default(false),
});

const fixtureSchema = z.strictObject({
  name: z.string().min(1),
  title: z.string().min(1),
  description: z.string().min(1),
  /** Jobs submitted one after the other; most cases have one. */
  batches: z.array(z.array(fixtureProfileSchema)).min(1),
  /** For the size cases: profiles are generated from the first profile, padded in `padField`. */
  generate: z
    .strictObject({
      padField: z.string().min(1),
      /** Characters the padding cycles through; default `x`. */
      padText: z.string().min(1).optional(),
    })
    .optional(),
});

export type FixtureProfile = z.output<typeof fixtureProfileSchema>;
export type Fixture = z.output<typeof fixtureSchema>;

const load = (raw: unknown): Fixture => {
  const parsed = fixtureSchema.safeParse(raw);
  if (!parsed.success) {
    const name = (raw as { name?: unknown }).name;
    throw new Error(
      `[ferry] conformance fixture ${String(name)} is malformed: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
};

/** Every conformance fixture, by name (the JSON files in `src/testing/fixtures/`). */
export const conformanceFixtures = {
  emptyBatch: load(emptyBatch),
  singleProfile: load(singleProfile),
  unicodeValues: load(unicodeValues),
  duplicateIdentities: load(duplicateIdentities),
  invalidEmail: load(invalidEmail),
  oversizedValue: load(oversizedValue),
  batchAtByteLimit: load(batchAtByteLimit),
  freshInstanceStatus: load(freshInstanceStatus),
  transientStatusCheck: load(transientStatusCheck),
  jobNotFound: load(jobNotFound),
  rateLimitStorm: load(rateLimitStorm),
  handleSize: load(handleSize),
  idempotentStatus: load(idempotentStatus),
  outcomeMembers: load(outcomeMembers),
  deleteProfile: load(deleteProfile),
  listMembership: load(listMembership),
  typedValues: load(typedValues),
  multibyteByteLimit: load(multibyteByteLimit),
  statusRateLimited: load(statusRateLimited),
  wholeJobFailure: load(wholeJobFailure),
  transientOutcomes: load(transientOutcomes),
  pendingIdempotentStatus: load(pendingIdempotentStatus),
  restartFreshModules: load(restartFreshModules),
  authFailure: load(authFailure),
} as const satisfies Record<string, Fixture>;
