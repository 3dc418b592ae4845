import { runDestinationConformance } from '@ferry/core/testing';
import {
  forgetMemoryImport,
  injectMemoryFaults,
  memory,
  readMemoryProfiles,
  resetMemoryStore,
} from '../src/index.ts';

// Each case gets its own namespace (scope.key), so cases share nothing and could run concurrently.
runDestinationConformance(memory, {
  options: ({ key }) => ({
    namespace: key,
    apiKey: 'conformance-key',
    limits: { maxBytesPerJob: 64 * 1024 },
  }),
  read: (identities, { key }) => readMemoryProfiles(key, identities),
  afterEach: ({ key }) => resetMemoryStore(key),
  faults: {
    failNextStatusChecks: (count, { key }) => injectMemoryFaults(key, { failStatusChecks: count }),
    forgetJob: (job, { key }) => forgetMemoryImport(key, String(job.importId)),
    rateLimit: (count, { key }) => injectMemoryFaults(key, { rateLimitCalls: count }),
  },
  settings: { validatesEmails: true, maxFieldLength: 255, listIds: ['newsletter', 'customers'] },
});
