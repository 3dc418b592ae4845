/**
 * `@ferry/core/testing`: the conformance kit. `runDestinationConformance` registers a vitest suite
 * (vitest is an optional peer dependency of core: only this entry imports it, explicitly, so no
 * vitest globals are needed); `settleJob` and `waitForJob` drive a job like the runner does and work
 * in any test.
 */
export { MAX_HANDLE_BYTES, runDestinationConformance } from './conformance.ts';
export * from './fake-vendor.ts';
export { fakeVendorHarness } from './fake-vendor-harness.ts';
export { conformanceFixtures, type Fixture, type FixtureProfile } from './fixtures.ts';
export type {
  ConformanceFaults,
  ConformanceHarness,
  ConformanceProfile,
  ConformanceScope,
  ConformanceSettings,
  HeldProfile,
  HeldProfiles,
} from './harness.ts';
export {
  membersOf,
  type SettledJob,
  type SettleEvent,
  type SettleOptions,
  type SettleStats,
  settleJob,
  type WaitResult,
  waitForJob,
} from './settle.ts';
export { streamedBatch } from './streamed-batch.ts';
