import type { FakeBulkVendor } from './fake-bulk-vendor.ts';
import { FAKE_VENDOR_LISTS } from './fake-bulk-vendor.ts';
import type { ConformanceHarness } from './harness.ts';

/**
 * The harness members that read back and misbehave through a fake bulk vendor, one account per
 * case (`scope.key`). With it, a plugin's conformance test is about five lines:
 *
 * ```ts
 * const vendor = await startFakeBulkVendor();
 * afterAll(() => vendor.close());
 * runDestinationConformance(acme, {
 *   ...fakeVendorHarness(vendor),
 *   options: ({ key }) => ({ baseUrl: vendor.url, account: key, apiKey: 'test-key-0001' }),
 *   freshDestination: () => import('../src/index.ts').then((m) => m.acme),
 * });
 * ```
 */
export const fakeVendorHarness = (
  vendor: FakeBulkVendor,
): Required<
  Pick<ConformanceHarness, 'read' | 'afterEach' | 'jobBytes' | 'vendorCalls' | 'faults' | 'context'>
> &
  Pick<ConformanceHarness, 'settings'> => ({
  read: (identities, { key }) => vendor.contacts(key, identities),
  afterEach: ({ key }) => vendor.reset(key),
  jobBytes: (job, { key }) => vendor.jobBytes(key, job),
  vendorCalls: ({ key }) => vendor.calls(key),
  // Faults must reach the plugin, not be absorbed by the HTTP client's own retries.
  context: () => ({ httpOverrides: { retries: 0, rateLimitRetries: 0 } }),
  faults: {
    failNextStatusChecks: (count, { key }) => vendor.failNextStatusChecks(key, count),
    rateLimitNextStatusChecks: (count, { key }) => vendor.rateLimitNextStatusChecks(key, count),
    forgetJob: (job, { key }) => vendor.forgetJob(key, job),
    rateLimit: (count, { key }) => vendor.rateLimitNext(key, count),
    failNextJob: (failure, { key }) => vendor.failNextJob(key, failure),
    deferProfiles: (identities, { key }) => vendor.deferProfiles(key, identities),
    rejectCredentials: ({ key }) => vendor.revokeKey(key),
  },
  settings: { validatesEmails: true, maxFieldLength: 255, listIds: [...FAKE_VENDOR_LISTS] },
});
