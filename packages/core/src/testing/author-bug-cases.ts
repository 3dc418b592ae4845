import { expect, type TestContext, vi } from 'vitest';
import type { z } from 'zod';
import {
  type Destination,
  type DestinationContext,
  JOB_NOT_FOUND,
  type JobHandle,
  type ProfileChange,
} from '../contract.ts';
import { createContext } from '../define-destination.ts';
import { AuthError, isRetryableError } from '../errors.ts';
import { type Expectation, fixtureAtByteLimit } from './case-support.ts';
import { conformanceFixtures, type Fixture, type FixtureProfile } from './fixtures.ts';
import type { ConformanceHarness, ConformanceProfile, ConformanceScope } from './harness.ts';
import { observeDestination, type Recorder, recordingLogger } from './observe.ts';
import { membersOf, type SettledJob, type SettleOptions, waitForJob } from './settle.ts';
import { streamedBatch } from './streamed-batch.ts';

/*
 * The cases aimed at the bugs plugin authors actually make, each proven by a mutant of plugin-memory
 * that only it catches (packages/plugin-memory/mutants): typed values and cleared fields, bytes sent
 * with multi-byte text, 429s on the status call, whole-job failures with the right `retryable`,
 * transient per-profile outcomes, idempotent checks while pending, a restart from a fresh module
 * graph, and refused credentials that print no secret. Registered by runDestinationConformance,
 * inside its describe, with the helpers it shares.
 */

type Ctx = DestinationContext<unknown>;

/** One running case, as runDestinationConformance opens it. */
export interface CaseContext {
  readonly scope: ConformanceScope;
  readonly fixture: Fixture;
  readonly newContext: () => Promise<Ctx>;
  readonly resolve: (profile: FixtureProfile) => ConformanceProfile;
  readonly expectationsOf: (profiles: readonly FixtureProfile[]) => Expectation[];
}

/** What the cases share with the rest of the suite. */
export interface AuthorBugKit {
  readonly destination: Destination<z.ZodType>;
  /** The destination through the recorder (results and errors recorded, handles frozen). */
  readonly subject: Destination<z.ZodType>;
  readonly harness: ConformanceHarness;
  readonly recorder: Recorder;
  readonly settleOptions: SettleOptions;
  readonly maxFieldLength: number | undefined;
  readonly toChange: (profile: ConformanceProfile, scope: ConformanceScope) => ProfileChange;
  readonly registerCase: (
    fixture: Fixture,
    run: (c: CaseContext, test: TestContext) => Promise<void>,
    skipReason?: string,
  ) => void;
  readonly settleAndCheck: (
    ctx: Ctx,
    scope: ConformanceScope,
    expectations: readonly Expectation[],
  ) => Promise<SettledJob>;
  readonly expectOutcomes: (expectations: readonly Expectation[], settled: SettledJob) => Set<string>;
  readonly expectEndState: (
    scope: ConformanceScope,
    expectations: readonly Expectation[],
    rejectedIds: ReadonlySet<string>,
  ) => Promise<void>;
  readonly runBatches: (c: CaseContext) => Promise<void>;
}

export const registerAuthorBugCases = (kit: AuthorBugKit): void => {
  const { destination, subject, harness, recorder, settleOptions, maxFieldLength, toChange } = kit;
  const { registerCase, settleAndCheck, expectOutcomes, expectEndState, runBatches } = kit;
  const settings = harness.settings ?? {};
  const faults = harness.faults ?? {};
  const fx = conformanceFixtures;
  const only = (fixture: Fixture): readonly FixtureProfile[] => fixture.batches[0] ?? [];

  registerCase(
    fx.typedValues,
    runBatches,
    settings.typedFields === false ? 'settings.typedFields is false' : undefined,
  );

  registerCase(fx.multibyteByteLimit, async (c, test) => {
    const ctx = await c.newContext();
    const limits = destination.limits(ctx.options);
    const built = fixtureAtByteLimit({
      fixture: c.fixture,
      limits,
      toChange: (profile) => toChange(c.resolve(profile), c.scope),
      measure: (change) => destination.measure(change, ctx.options),
      maxFieldLength,
      maxGeneratedProfiles: settings.maxGeneratedProfiles,
      // Multi-byte padding cannot always land on the byte exactly.
      exact: false,
    });
    if (typeof built === 'string') return test.skip(built);
    const bodiesBefore = recorder.requestBodyBytes.length;
    const result = await subject.exportProfiles(ctx, streamedBatch(built));
    expect(result.rejected, 'nothing in a batch packed by measure is rejected for its size').toEqual([]);
    expect(result.job).not.toBeNull();
    if (result.job === null) return;
    const sent =
      harness.jobBytes !== undefined
        ? await harness.jobBytes(result.job, c.scope)
        : Math.max(0, ...recorder.requestBodyBytes.slice(bodiesBefore));
    if (sent === undefined) throw new Error('harness.jobBytes did not find the job at the vendor');
    if (sent === 0) return test.skip('bodies are streamed: give harness.jobBytes to size them');
    expect(
      sent,
      `bytes sent for a job packed to maxBytesPerJob (${limits.maxBytesPerJob}) by measure`,
    ).toBeLessThanOrEqual(limits.maxBytesPerJob);
    const members = membersOf(built, result.rejected);
    const { status, stats } = await waitForJob(subject, ctx, result.job, members, settleOptions);
    expect(status.state, JSON.stringify(status)).toBe('completed');
    const expectations = built.map((change) => ({ change, mustReject: false, mayReject: false }));
    const settled: SettledJob = {
      rejected: result.rejected,
      outcomes: status.state === 'completed' ? status.outcomes : [],
      status,
      jobs: [result.job],
      members,
      stats,
    };
    await expectEndState(c.scope, expectations, expectOutcomes(expectations, settled));
  });

  registerCase(
    fx.statusRateLimited,
    async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const batch = expectations.map(({ change }) => change);
      const result = await subject.exportProfiles(ctx, streamedBatch(batch));
      expect(result.job).not.toBeNull();
      if (result.job === null) return;
      const members = membersOf(batch, result.rejected);
      await faults.rateLimitNextStatusChecks?.(settings.transientFailures ?? 2, c.scope);
      const answer = await subject.checkStatus(ctx, result.job, members).then(
        (status) => ({ status }),
        (error: unknown) => ({ error }),
      );
      if ('status' in answer) {
        expect(answer.status.state, 'a rate-limited status check is not a result').toBe('pending');
      } else {
        expect(
          isRetryableError(answer.error),
          `checkStatus should throw a retryable error, got: ${String(answer.error)}`,
        ).toBe(true);
      }
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
      await expectEndState(c.scope, expectations, expectOutcomes(expectations, settled));
    },
    faults.rateLimitNextStatusChecks ? undefined : 'harness.faults.rateLimitNextStatusChecks is missing',
  );

  registerCase(
    fx.wholeJobFailure,
    async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const batch = expectations.map(({ change }) => change);
      for (const retryable of [true, false]) {
        await faults.failNextJob?.({ retryable }, c.scope);
        const submitted = await subject.exportProfiles(ctx, streamedBatch(batch)).then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
        if ('error' in submitted) {
          // A vendor that runs the job while the request waits (a batch API) refuses at submission.
          expect(
            isRetryableError(submitted.error),
            `a ${retryable ? 'retryable' : 'permanent'} job failure at submission: ${String(submitted.error)}`,
          ).toBe(retryable);
          continue;
        }
        const { job, rejected } = submitted.result;
        expect(rejected).toEqual([]);
        expect(job).not.toBeNull();
        if (job === null) return;
        const { status } = await waitForJob(subject, ctx, job, membersOf(batch, rejected), settleOptions);
        expect(status.state, `the vendor failed the job: ${JSON.stringify(status)}`).toBe('failed');
        if (status.state !== 'failed') return;
        expect(status.retryable, `retryable flag of a ${retryable ? 'retryable' : 'permanent'} failure`).toBe(
          retryable,
        );
        expect(status.message.length, 'the failure explains itself').toBeGreaterThan(0);
        expect(status.code, 'a vendor failure is not a forgotten job').not.toBe(JOB_NOT_FOUND);
      }
      const allIds = new Set(batch.map((change) => change.profileId));
      await expectEndState(c.scope, expectations, allIds);
    },
    faults.failNextJob ? undefined : 'harness.faults.failNextJob is missing',
  );

  registerCase(
    fx.transientOutcomes,
    async (c) => {
      const ctx = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const deferred = expectations.filter((e) => e.transient);
      await faults.deferProfiles?.(
        deferred.map(({ change }) => change.identity),
        c.scope,
      );
      const settled = await settleAndCheck(ctx, c.scope, expectations);
      for (const outcome of [...settled.rejected, ...settled.outcomes]) {
        expect(outcome.message.length, `${outcome.profileId}: message`).toBeGreaterThan(0);
      }
      // Sent again, as the runner does after the backoff: now it goes through.
      const again = deferred.map(({ transient: _, ...rest }) => rest);
      const retried = await settleAndCheck(ctx, c.scope, again);
      expect([...retried.rejected, ...retried.outcomes]).toEqual([]);
    },
    faults.deferProfiles ? undefined : 'harness.faults.deferProfiles is missing',
  );

  registerCase(fx.pendingIdempotentStatus, async (c) => {
    const ctx = await c.newContext();
    const expectations = c.expectationsOf(only(c.fixture));
    const batch = expectations.map(({ change }) => change);
    const result = await subject.exportProfiles(ctx, streamedBatch(batch));
    if (result.job === null) return;
    const members = membersOf(batch, result.rejected);
    const fresh = await c.newContext();
    const restored = JSON.parse(JSON.stringify(result.job)) as JobHandle;
    let completed: unknown;
    for (let check = 0; check < 4; check += 1) {
      const status = await subject.checkStatus(check % 2 === 0 ? ctx : fresh, restored, members);
      expect(
        status.state,
        `check ${check + 1} while the vendor processes: ${JSON.stringify(status)}`,
      ).not.toBe('failed');
      if (status.state === 'completed') {
        if (completed === undefined) completed = status;
        else expect(status, 'a completed status read again').toEqual(completed);
      } else {
        expect(completed, 'pending again after completed').toBeUndefined();
      }
    }
    const { status, stats } = await waitForJob(subject, ctx, result.job, members, settleOptions);
    if (completed !== undefined) expect(status).toEqual(completed);
    const settled: SettledJob = {
      rejected: result.rejected,
      outcomes: status.state === 'completed' ? status.outcomes : [],
      status,
      jobs: [result.job],
      members,
      stats: { ...stats, submissions: 1 },
    };
    expect(status.state, JSON.stringify(status)).toBe('completed');
    await expectEndState(c.scope, expectations, expectOutcomes(expectations, settled));
  });

  registerCase(
    fx.restartFreshModules,
    async (c) => {
      const first = await c.newContext();
      const expectations = c.expectationsOf(only(c.fixture));
      const batch = expectations.map(({ change }) => change);
      const result = await subject.exportProfiles(first, streamedBatch(batch));
      expect(result.job).not.toBeNull();
      if (result.job === null || harness.freshDestination === undefined) return;
      const stored = JSON.stringify({ job: result.job, members: membersOf(batch, result.rejected) });
      // The restart: every module of the plugin is evaluated again; only the vendor and the JSON survive.
      vi.resetModules();
      const reloaded = await harness.freshDestination();
      expect(reloaded, 'freshDestination must load the modules again, not return the same object').not.toBe(
        destination,
      );
      const restarted = observeDestination(reloaded, recorder);
      const restored = JSON.parse(stored) as { job: JobHandle; members: ReturnType<typeof membersOf> };
      const extra = harness.context?.(c.scope) ?? {};
      const second = {
        ...createContext(reloaded, {
          ...extra,
          logger: recordingLogger(recorder, extra.logger),
          signal: first.signal,
          options: await harness.options(c.scope),
        }),
      };
      const { status, stats } = await waitForJob(
        restarted,
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
      await expectEndState(c.scope, expectations, expectOutcomes(expectations, settled));
    },
    harness.freshDestination ? undefined : 'harness.freshDestination is missing',
  );

  registerCase(
    fx.authFailure,
    async (c) => {
      const ctx = await c.newContext();
      await faults.rejectCredentials?.(c.scope);
      const verified = await subject.verify(ctx, { fields: [], lists: [] }).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      );
      if ('result' in verified) {
        expect(verified.result.ok, 'verify with refused credentials').toBe(false);
        expect(verified.result.problems.map((p) => p.kind)).toContain('auth');
      } else {
        expect(verified.error, String(verified.error)).toBeInstanceOf(AuthError);
      }
      const batch = c.expectationsOf(only(c.fixture)).map(({ change }) => change);
      const error = await subject.exportProfiles(ctx, streamedBatch(batch)).then(
        (result) => new Error(`exportProfiles returned ${JSON.stringify(result)} with refused credentials`),
        (thrown: unknown) => thrown,
      );
      expect(error, String(error)).toBeInstanceOf(AuthError);
    },
    faults.rejectCredentials ? undefined : 'harness.faults.rejectCredentials is missing',
  );
};
