import { runDestinationConformance } from '@ferry/core/testing';
import {
  forgetMemoryImport,
  injectMemoryFaults,
  memory,
  memoryImportBytes,
  readMemoryProfiles,
  readMemoryStore,
  resetMemoryStore,
  revokeMemoryKeys,
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
  freshDestination: () => import('../src/index.ts').then((module) => module.memory),
  jobBytes: (job, { key }) => memoryImportBytes(key, String(job.importId)),
  vendorCalls: ({ key }) => readMemoryStore(key).calls,
  faults: {
    failNextStatusChecks: (count, { key }) => injectMemoryFaults(key, { failStatusChecks: count }),
    rateLimitNextStatusChecks: (count, { key }) => injectMemoryFaults(key, { rateLimitStatusChecks: count }),
    forgetJob: (job, { key }) => forgetMemoryImport(key, String(job.importId)),
    rateLimit: (count, { key }) => injectMemoryFaults(key, { rateLimitCalls: count }),
    failNextJob: ({ retryable }, { key }) =>
      injectMemoryFaults(key, retryable ? { failJobs: 1 } : { failJobsPermanently: 1 }),
    deferProfiles: (emails, { key }) => injectMemoryFaults(key, { deferEmails: emails }),
    rejectCredentials: ({ key }) => revokeMemoryKeys(key),
  },
  settings: { validatesEmails: true, maxFieldLength: 255, listIds: ['newsletter', 'customers'] },
});
