/**
 * `@ferry/core/testing/fake-vendor`: the loopback fake bulk vendor alone, without the conformance
 * suite (which imports vitest), so a script or a demo can start it with plain Node.
 */
export {
  FAKE_VENDOR_FIELDS,
  FAKE_VENDOR_LISTS,
  type FakeBulkVendor,
  type FakeBulkVendorOptions,
  type FakeContact,
  type FakeFieldType,
  type FakeReject,
  type FakeValue,
  startFakeBulkVendor,
} from './fake-bulk-vendor.ts';
