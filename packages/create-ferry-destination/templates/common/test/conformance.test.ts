import { fakeVendorHarness, runDestinationConformance, startFakeBulkVendor } from '@ferry/core/testing';
import { afterAll } from 'vitest';
import { __IDENT__ } from '../src/index.ts';

// The loopback fake vendor stands in for __DISPLAY__'s API. Once you have the vendor's sandbox, point
// `options` at it and replace fakeVendorHarness with your own read-back and fault hooks.
const vendor = await startFakeBulkVendor();
afterAll(() => vendor.close());

runDestinationConformance(__IDENT__, {
  ...fakeVendorHarness(vendor),
  options: ({ key }) => ({ baseUrl: vendor.url, account: key, apiKey: 'test-key-0001', limits: { maxBytesPerJob: 64 * 1024 } }),
  freshDestination: () => import('../src/index.ts').then((module) => module.__IDENT__),
});
