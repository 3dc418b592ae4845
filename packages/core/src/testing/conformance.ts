import { describe, expect, it, type TestContext } from 'vitest';
import type { z } from 'zod';
import {
  type Destination,
  type DestinationContext,
  type FieldValue,
  JOB_NOT_FOUND,
  type JobHandle,
  type ProfileChange,
  type ProfileOutcome,
} from '../contract.ts';
import { createContext } from '../define-destination.ts';
import { isRetryableError } from '../errors.ts';
import { collectSecrets } from '../options.ts';
import { type AuthorBugKit, registerAuthorBugCases } from './author-bug-cases.ts';
import {
  byteLength,
  type Expectation,
  expectSmallJson,
  fixtureAtByteLimit,
  generated,
  MAX_HANDLE_BYTES,
  oversizedValue,
  resolveProfile,
} from './case-support.ts';
import { conformanceFixtures, type Fixture, type FixtureProfile } from './fixtures.ts';
import type { ConformanceHarness, ConformanceProfile, ConformanceScope, HeldProfile } from './harness.ts';
import { createRecorder, observeDestination, recordingHttp, recordingLogger } from './observe.ts';
import { membersOf, type SettledJob, type SettleOptions, settleJob, waitForJob } from './settle.ts';
import { streamedBatch } from './streamed-batch.ts';

export { MAX_HANDLE_BYTES } from './case-support.ts';

/** Value length of the oversized case when the harness declares no maximum. */
const UNDECLARED_OVERSIZE = 4000;

let runCounter = 0;
const newScope = (caseName: string): ConformanceScope => ({
  caseName,
  key: `ferry-conformance-${caseName}-${++runCounter}-${Math.random().toString(36).slice(2, 8)}`,
});

/** Shorter values are not credentials (a region, `true`); looking for them would find them everywhere. */
const MIN_SECRET_LENGTH = 4;

const defaultToChange =
  (fieldNames: Readonly<Record<string, string>> = {}) =>
  (profile: ConformanceProfile): ProfileChange => {
    if (profile.kind === 'delete')
      return { kind: 'delete', profileId: profile.profileId, identity: profile.email };
    const name = (canonical: string): string => fieldNames[canonical] ?? canonical;
    const fields: Record<string, FieldValue> = { [name('email')]: profile.email };
    for (const [key, value] of Object.entries(profile.fields)) fields[name(key)] = value;
    return {
      kind: 'upsert',
      profileId: profile.profileId,
      identity: profile.email,
      fields,
      ...(profile.lists === undefined ? {} : { lists: profile.lists }),
    };
  };

/**
 * Registers the conformance suite for `destination` in the current vitest file:
 *
 * ```ts
 * import { runDestinationConformance } from '@ferry/core/testing';
 * runDestinationConformance(myDestination, {
 *   options: ({ key }) => ({ apiKey: 'test', baseUrl: sandbox.url, account: key }),
 *   read: (identities, { key }) => sandbox.contacts(key, identities),
 * });
 * ```
 *
 * Each case is a fixture in `src/testing/fixtures/`; cases assert what the destination ends up holding
 * (through `harness.read`), the outcomes it reports and the shape of its handles. Cases whose fault
 * hook or setting is missing are registered as skipped, with the reason in the title.
 */
export const runDestinationConformance = <Schema extends z.ZodType>(
  destination: Destination<Schema>,
  harness: ConformanceHarness,
): void => {
  type Ctx = DestinationContext<z.output<Schema>>;
  const settings = harness.settings ?? {};
  const validatesEmails = settings.validatesEmails ?? true;
  const maxFieldLength = settings.maxFieldLength;
  const timeout = settings.caseTimeoutMs ?? 30_000;
  const settleOptions: SettleOptions = settings.settle ?? {};
  const toChange = harness.toChange ?? defaultToChange(harness.fieldNames);
  const faults = harness.faults ?? {};
  const oversizeLength = maxFieldLength === undefined ? UNDECLARED_OVERSIZE : maxFieldLength + 1;
  const heldValue =
    settings.heldValue ??
    ((value: number | boolean | Date) => (value instanceof Date ? value.toISOString() : value));
  // Every case calls the destination through `subject`: it records handles, outcomes, errors and log
  // lines (checked for secrets after each case) and hands checkStatus frozen handles and members.
  const recorder = createRecorder();
  const subject = observeDestination(destination, recorder);

  /** Everything one running case needs; built fresh per case so cases share nothing. */
  const openCase = (fixture: Fixture, scope: ConformanceScope, signal: AbortSignal) => {
    const newContext = async (): Promise<Ctx> => {
      const extra = harness.context?.(scope) ?? {};
      const ctx = createContext(destination, {
        ...extra,
        logger: recordingLogger(recorder, extra.logger),
        signal,
        options: await harness.options(scope),
      });
      for (const value of collectSecrets(destination.options, ctx.options)) {
        if (value.length >= MIN_SECRET_LENGTH) recorder.secrets.add(value);
      }
      return { ...ctx, http: recordingHttp(recorder, ctx.http) };
    };

    const resolve = (profile: FixtureProfile): ConformanceProfile =>
      resolveProfile(fixture.name, profile, settings.listIds, oversizeLength);

    const expectationsOf = (profiles: readonly FixtureProfile[]): Expectation[] =>
      profiles.map((profile) => {
        const change = toChange(resolve(profile), scope);
        const invalid = profile.invalidEmail && validatesEmails;
        const oversized = profile.oversize !== undefined;
        const oversizedField =
          oversized && change.kind === 'upsert'
            ? Object.entries(change.fields).find(([, value]) => value === oversizedValue(oversizeLength))?.[0]
            : undefined;
        return {
          change,
          mustReject: invalid || (oversized && maxFieldLength !== undefined),
          mayReject: invalid || oversized || (profile.invalidEmail && !validatesEmails),
          ...(profile.transient ? { transient: true } : {}),
          ...(oversizedField === undefined ? {} : { oversizedField }),
        };
      });

    return { scope, fixture, newContext, resolve, expectationsOf };
  };

  /** No secret option of any context the case built appears in anything the destination produced. */
  const expectNoSecrets = (): void => {
    for (const value of recorder.secrets) {
      for (const artifact of recorder.artifacts) {
        expect(
          artifact.text.includes(value),
          `a secret option (${value.length} characters, starting ${JSON.stringify(value.slice(0, 2))}) appears in a ${artifact.where}`,
        ).toBe(false);
      }
    }
  };

  const registerCase = (
    fixture: Fixture,
    run: (c: ReturnType<typeof openCase>, test: TestContext) => Promise<void>,
    skipReason?: string,
  ): void => {
    const title = `${fixture.name}: ${fixture.title}`;
    if (skipReason !== undefined) {
      it.skip(`${title} [SKIPPED: ${skipReason}]`, () => {});
      return;
    }
    it(
      title,
      async (test) => {
        const scope = newScope(fixture.name);
        const abort = new AbortController();
        recorder.reset();
        await harness.beforeEach?.(scope);
        try {
          await run(openCase(fixture, scope, abort.signal), test);
          expectNoSecrets();
        } finally {
          abort.abort();
          await harness.afterEach?.(scope);
        }
      },
      timeout,
    );
  };

  /** Reads back every identity the expectations mention and checks the end state they imply. */
  const expectEndState = async (
    scope: ConformanceScope,
    expectations: readonly Expectation[],
    rejectedIds: ReadonlySet<string>,
  ): Promise<void> => {
    interface Model {
      deleted: boolean;
      fields: Record<string, unknown>;
      listsIn: Set<string>;
      listsOut: Set<string>;
    }
    const model = new Map<string, Model>();
    const neverHeld = new Set<string>();
    for (const { change } of expectations) {
      if (rejectedIds.has(change.profileId)) {
        if (!model.has(change.identity)) neverHeld.add(change.identity);
        continue;
      }
      neverHeld.delete(change.identity);
      const entry = model.get(change.identity) ?? {
        deleted: false,
        fields: {},
        listsIn: new Set(),
        listsOut: new Set(),
      };
      if (change.kind === 'delete') {
        model.set(change.identity, { deleted: true, fields: {}, listsIn: new Set(), listsOut: new Set() });
        continue;
      }
      // Only the latest upsert's fields are compared: a vendor may replace or merge, both are fine.
      entry.deleted = false;
      entry.fields = Object.fromEntries(
        Object.entries(change.fields).map(([key, value]) => [
          key,
          value === null || typeof value === 'string' ? value : heldValue(value),
        ]),
      );
      for (const id of change.lists?.add ?? []) {
        entry.listsIn.add(id);
        entry.listsOut.delete(id);
      }
      for (const id of change.lists?.remove ?? []) {
        entry.listsOut.add(id);
        entry.listsIn.delete(id);
      }
      model.set(change.identity, entry);
    }
    const identities = [...model.keys(), ...neverHeld];
    const held = await harness.read(identities, scope);
    for (const [identity, expected] of model) {
      const actual: HeldProfile | undefined = held[identity];
      if (expected.deleted) {
        expect(actual, `${identity} was deleted but is still held`).toBeUndefined();
        continue;
      }
      expect(actual, `${identity} is not held`).toBeDefined();
      for (const [field, value] of Object.entries(expected.fields)) {
        if (value === null) {
          // Cleared: absent or empty at the vendor — never the text "null", never the old value.
          expect([undefined, null, ''], `${identity}: field ${field} should be cleared`).toContainEqual(
            actual?.fields[field],
          );
        } else expect(actual?.fields[field], `${identity}: field ${field}`).toEqual(value);
      }
      for (const id of expected.listsIn) expect(actual?.lists ?? [], `${identity}: lists`).toContain(id);
      for (const id of expected.listsOut) expect(actual?.lists ?? [], `${identity}: lists`).not.toContain(id);
    }
    for (const identity of neverHeld) {
      expect(held[identity], `${identity} was rejected but is held`).toBeUndefined();
    }
  };

  /**
   * Outcome shape rules that hold in every case: submission rejects only profiles of the batch,
   * completion outcomes only name members, nobody gets two outcomes, rejections explain themselves,
   * and exactly the expected profiles are rejected.
   */
  const expectOutcomes = (expectations: readonly Expectation[], settled: SettledJob): Set<string> => {
    const batchIds = new Set(expectations.map(({ change }) => change.profileId));
    const transientIds = new Set(
      expectations.filter((e) => e.transient).map(({ change }) => change.profileId),
    );
    const memberIds = new Set(settled.members.map((member) => member.profileId));
    const seen = new Set<string>();
    const check = (outcome: ProfileOutcome, stage: string, allowed: ReadonlySet<string>): void => {
      expect(
        allowed.has(outcome.profileId),
        `${stage} outcome names ${outcome.profileId}, not in the job`,
      ).toBe(true);
      expect(seen.has(outcome.profileId), `${outcome.profileId} got more than one outcome`).toBe(false);
      seen.add(outcome.profileId);
      expect(outcome.status, `${outcome.profileId}: ${outcome.message}`).toBe(
        transientIds.has(outcome.profileId) ? 'retryable' : 'rejected',
      );
      if (outcome.status === 'rejected')
        expect(outcome.code.length, `${outcome.profileId}: code`).toBeGreaterThan(0);
      expect(outcome.message.length, `${outcome.profileId}: message`).toBeGreaterThan(0);
    };
    for (const outcome of settled.rejected) check(outcome, 'submission', batchIds);
    for (const outcome of settled.outcomes) check(outcome, 'completion', memberIds);
    for (const job of settled.jobs) expectSmallJson(job);

    const rejected = new Map([...settled.rejected, ...settled.outcomes].map((o) => [o.profileId, o]));
    for (const { change, mustReject, mayReject, oversizedField, transient } of expectations) {
      const outcome = rejected.get(change.profileId);
      if (transient) {
        expect(outcome?.status, `${change.profileId} should have a retryable outcome`).toBe('retryable');
        continue;
      }
      if (mustReject) expect(outcome, `${change.profileId} should have been rejected`).toBeDefined();
      if (!mayReject) expect(outcome, `${change.profileId} should not have been rejected`).toBeUndefined();
      if (outcome?.status === 'rejected' && oversizedField !== undefined) {
        expect(outcome.field, `${change.profileId}: the rejection should name the oversized field`).toBe(
          oversizedField,
        );
      }
    }
    return new Set(rejected.keys());
  };

  /** Settles one batch and checks outcomes and end state; the common shape of most cases. */
  const settleAndCheck = async (
    ctx: Ctx,
    scope: ConformanceScope,
    expectations: readonly Expectation[],
    options: SettleOptions = settleOptions,
  ): Promise<SettledJob> => {
    const settled = await settleJob(
      subject,
      ctx,
      expectations.map(({ change }) => change),
      options,
    );
    if (settled.status !== null) {
      expect(settled.status.state, JSON.stringify(settled.status)).toBe('completed');
    }
    const rejectedIds = expectOutcomes(expectations, settled);
    await expectEndState(scope, expectations, rejectedIds);
    return settled;
  };

  /** Runs every batch of a fixture in order, checking the end state after each. */
  const runBatches = async (c: ReturnType<typeof openCase>): Promise<void> => {
    const ctx = await c.newContext();
    const all: Expectation[] = [];
    const rejectedIds = new Set<string>();
    for (const profiles of c.fixture.batches) {
      const expectations = c.expectationsOf(profiles);
      const settled = await settleJob(
        subject,
        ctx,
        expectations.map(({ change }) => change),
        settleOptions,
      );
      if (settled.status !== null)
        expect(settled.status.state, JSON.stringify(settled.status)).toBe('completed');
      for (const id of expectOutcomes(expectations, settled)) rejectedIds.add(id);
      all.push(...expectations);
      await expectEndState(c.scope, all, rejectedIds);
    }
  };

  const only = (fixture: Fixture): readonly FixtureProfile[] => fixture.batches[0] ?? [];
  const fx = conformanceFixtures;

  describe(harness.title ?? `${destination.displayName} (${destination.name}) conformance`, () => {
    registerCase(fx.emptyBatch, async (c) => {
      const ctx = await c.newContext();
      const vendorCallsBefore = await harness.vendorCalls?.(c.scope);
      const result = await subject.exportProfiles(ctx, []);
      expect(result).toEqual({ job: null, rejected: [] });
      expect(recorder.httpRequests, 'requests sent through ctx.http for an empty batch').toBe(0);
      if (harness.vendorCalls !== undefined) {
        expect(await harness.vendorCalls(c.scope), 'calls the vendor received for an empty batch').toBe(
          vendorCallsBefore,
        );
      }
    });

    registerCase(fx.singleProfile, async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      expect(settled.outcomes).toEqual([]);
      expect(settled.jobs).toHaveLength(1);
      const job = settled.jobs[0];
      if (subject.cleanup && job) {
        await subject.cleanup(ctx, job);
        await expectEndState(c.scope, expectations, new Set());
      }
    });

    registerCase(fx.unicodeValues, async (c) => {
      const ctx = await c.newContext();
      const settled = await settleAndCheck(ctx, c.scope, c.expectationsOf(only(c.fixture)));
      expect([...settled.rejected, ...settled.outcomes]).toEqual([]);
    });

    registerCase(fx.duplicateIdentities, async (c) => {
      const ctx = await c.newContext();
      await settleAndCheck(ctx, c.scope, c.expectationsOf(only(c.fixture)));
    });

    registerCase(
      fx.invalidEmail,
      async (c) => {
        const ctx = await c.newContext();
        await settleAndCheck(ctx, c.scope, c.expectationsOf(only(c.fixture)));
      },
      validatesEmails ? undefined : 'settings.validatesEmails is false',
    );

    registerCase(fx.oversizedValue, async (c) => {
      const ctx = await c.newContext();
      await settleAndCheck(ctx, c.scope, c.expectationsOf(only(c.fixture)));
    });

    registerCase(fx.batchAtByteLimit, async (c, test) => {
      const ctx = await c.newContext();
      const limits = destination.limits(ctx.options);
      const built = fixtureAtByteLimit({
        fixture: c.fixture,
        limits,
        toChange: (profile) => toChange(c.resolve(profile), c.scope),
        measure: (change) => destination.measure(change, ctx.options),
        maxFieldLength,
        maxGeneratedProfiles: settings.maxGeneratedProfiles,
        exact: true,
      });
      if (typeof built === 'string') return test.skip(built);
      const total =
        (limits.jobOverheadBytes ?? 0) +
        built.reduce((sum, change) => sum + destination.measure(change, ctx.options), 0);
      expect(total, 'the generated batch is exactly at maxBytesPerJob').toBe(limits.maxBytesPerJob);
      const expectations = built.map((change) => ({ change, mustReject: false, mayReject: false }));
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      expect(settled.stats.submissions, 'accepted whole, in one job').toBe(1);
    });

    registerCase(fx.freshInstanceStatus, async (c) => {
      const first = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const batch = expectations.map(({ change }) => change);
      const result = await subject.exportProfiles(first, streamedBatch(batch));
      expect(result.job).not.toBeNull();
      if (result.job === null) return;
      expectSmallJson(result.job);
      // Only what the runner persists crosses the "restart": the JSON text of the handle and the members.
      const stored = JSON.stringify({ job: result.job, members: membersOf(batch, result.rejected) });
      const restored = JSON.parse(stored) as { job: JobHandle; members: ReturnType<typeof membersOf> };
      const second = await c.newContext();
      expect(second.options, 'a new options object').not.toBe(first.options);
      const { status, stats } = await waitForJob(
        subject,
        second,
        restored.job,
        restored.members,
        settleOptions,
      );
      expect(status.state, JSON.stringify(status)).toBe('completed');
      const settled: SettledJob = {
        rejected: result.rejected,
        outcomes: status.state === 'completed' ? status.outcomes : [],
        status,
        jobs: [result.job],
        members: restored.members,
        stats,
      };
      const rejectedIds = expectOutcomes(expectations, settled);
      await expectEndState(c.scope, expectations, rejectedIds);
    });

    registerCase(
      fx.transientStatusCheck,
      async (c) => {
        const ctx = await c.newContext();
        const expectations = c.expectationsOf(only(c.fixture));
        const batch = expectations.map(({ change }) => change);
        const result = await subject.exportProfiles(ctx, streamedBatch(batch));
        expect(result.job).not.toBeNull();
        if (result.job === null) return;
        const members = membersOf(batch, result.rejected);
        await faults.failNextStatusChecks?.(settings.transientFailures ?? 2, c.scope);
        const error = await subject.checkStatus(ctx, result.job, members).then(
          (status) => new Error(`checkStatus returned ${JSON.stringify(status)} instead of throwing`),
          (thrown: unknown) => thrown,
        );
        expect(
          isRetryableError(error),
          `checkStatus should throw a retryable error, got: ${String(error)}`,
        ).toBe(true);
        const { status, stats } = await waitForJob(subject, ctx, result.job, members, settleOptions);
        expect(status.state, JSON.stringify(status)).toBe('completed');
        const settled: SettledJob = {
          rejected: result.rejected,
          outcomes: status.state === 'completed' ? status.outcomes : [],
          status,
          jobs: [result.job],
          members,
          stats,
        };
        const rejectedIds = expectOutcomes(expectations, settled);
        await expectEndState(c.scope, expectations, rejectedIds);
      },
      faults.failNextStatusChecks ? undefined : 'harness.faults.failNextStatusChecks is missing',
    );

    registerCase(
      fx.jobNotFound,
      async (c) => {
        const ctx = await c.newContext();
        const expectations = c.expectationsOf(only(c.fixture));
        const batch = expectations.map(({ change }) => change);
        const result = await subject.exportProfiles(ctx, streamedBatch(batch));
        expect(result.job).not.toBeNull();
        if (result.job === null) return;
        await faults.forgetJob?.(result.job, c.scope);
        const status = await subject.checkStatus(ctx, result.job, membersOf(batch, result.rejected));
        expect(status).toMatchObject({ state: 'failed', code: JOB_NOT_FOUND, retryable: true });
        // The runner resubmits the members; the vendor upserts by identity, so this is safe.
        await settleAndCheck(ctx, c.scope, expectations);
      },
      faults.forgetJob ? undefined : 'harness.faults.forgetJob is missing',
    );

    registerCase(
      fx.rateLimitStorm,
      async (c) => {
        const ctx = await c.newContext();
        await faults.rateLimit?.(settings.rateLimitStorm ?? 5, c.scope);
        const settled = await settleAndCheck(ctx, c.scope, c.expectationsOf(only(c.fixture)));
        expect(settled.stats.failedJobs, 'waiting on a rate limit is not a failed job').toBe(0);
        expect(settled.outcomes).toEqual([]);
      },
      faults.rateLimit ? undefined : 'harness.faults.rateLimit is missing',
    );

    registerCase(fx.handleSize, async (c, test) => {
      const ctx = await c.newContext();
      const template = only(c.fixture)[0];
      const padField = c.fixture.generate?.padField;
      if (template === undefined || padField === undefined)
        throw new Error('fixture needs a template and padField');
      const limits = destination.limits(ctx.options);
      const make = (index: number): ProfileChange =>
        toChange(c.resolve(generated(template, index, padField, `row ${index}`)), c.scope);
      const perProfile = destination.measure(make(999_999), ctx.options);
      const byBytes = Math.floor((limits.maxBytesPerJob - (limits.jobOverheadBytes ?? 0)) / perProfile);
      const count = Math.min(settings.largeBatchSize ?? 1000, limits.maxProfilesPerJob, byBytes);
      if (count < 2) return test.skip(`the destination's limits allow only ${count} profile(s) per job`);
      const expectations = Array.from({ length: count }, (_, index) => ({
        change: make(index),
        mustReject: false,
        mayReject: false,
      }));
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      for (const job of settled.jobs) {
        expect(byteLength(JSON.stringify(job)), `handle for ${count} profiles`).toBeLessThanOrEqual(
          MAX_HANDLE_BYTES,
        );
      }
    });

    registerCase(fx.idempotentStatus, async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      const job = settled.jobs.at(-1);
      expect(job).toBeDefined();
      if (job === undefined) return;
      const again = await subject.checkStatus(ctx, job, settled.members);
      const fresh = await c.newContext();
      const restored = JSON.parse(JSON.stringify(job)) as JobHandle;
      const onceMore = await subject.checkStatus(fresh, restored, settled.members);
      expect(again).toEqual(settled.status);
      expect(onceMore).toEqual(again);
      const rejectedIds = new Set([...settled.rejected, ...settled.outcomes].map((o) => o.profileId));
      await expectEndState(c.scope, expectations, rejectedIds);
    });

    registerCase(fx.outcomeMembers, async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      // Members are the batch minus submission rejects, in batch order: what index mapping relies on.
      const batch = expectations.map(({ change }) => change);
      expect(settled.members).toEqual(membersOf(batch, settled.rejected));
    });

    registerCase(
      fx.deleteProfile,
      runBatches,
      destination.capabilities.delete ? undefined : 'capabilities.delete is false',
    );

    registerCase(
      fx.listMembership,
      runBatches,
      !destination.capabilities.lists
        ? 'capabilities.lists is false'
        : (settings.listIds?.length ?? 0) < 2
          ? 'settings.listIds needs two list ids'
          : undefined,
    );
    // The cases for the bugs plugin authors make most (secrets, status-check errors, restarts...).
    registerAuthorBugCases({
      destination,
      subject,
      harness,
      recorder,
      settleOptions,
      maxFieldLength,
      toChange,
      registerCase,
      settleAndCheck,
      expectOutcomes,
      expectEndState,
      runBatches,
    } as unknown as AuthorBugKit);
  });
};
