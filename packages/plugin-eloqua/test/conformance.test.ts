import { runDestinationConformance } from '@ferry/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { eloqua } from '../src/index.ts';
import { type EloquaSandbox, SANDBOX_AUTH, SANDBOX_LISTS, startEloquaSandbox } from './sandbox-support.ts';

// One sandbox (short processing delay, so jobs are really pending first), reset before every case.
let sandbox: EloquaSandbox;
beforeAll(async () => {
  sandbox = await startEloquaSandbox({}, { startDelayMs: 20, recordsPerSecond: 200_000 });
});
afterAll(() => sandbox.close());

const fieldNames = {
  email: 'C_EmailAddress',
  firstName: 'C_FirstName',
  lastName: 'C_LastName',
  city: 'C_City',
  notes: 'C_Notes1',
};

runDestinationConformance(eloqua, {
  options: () => ({ auth: SANDBOX_AUTH, loginUrl: sandbox.url, limits: { maxBytesPerJob: 64 * 1024 } }),
  read: (identities) => sandbox.read(identities, Object.values(fieldNames)),
  fieldNames,
  // Faults must reach the plugin, not be absorbed by the HTTP client's own retries.
  context: () => ({ httpOverrides: { retries: 0, rateLimitRetries: 0 } }),
  beforeEach: () => sandbox.reset(),
  faults: {
    failNextStatusChecks: (count) =>
      sandbox.setFaults([{ endpoint: 'eloqua.syncStatus', kind: 'unavailable', count }]),
    rateLimitNextStatusChecks: (count) =>
      sandbox.setFaults([{ endpoint: 'eloqua.syncStatus', kind: 'rate_limit', count, retryAfterSeconds: 0 }]),
    forgetJob: () => sandbox.setFaults([{ endpoint: 'eloqua.syncStatus', kind: 'vanish', count: 1 }]),
    rateLimit: (count) =>
      sandbox.setFaults([{ endpoint: '*', kind: 'rate_limit', count, retryAfterSeconds: 0 }]),
  },
  // The plugin asks for ≥ 1 s between checks (real syncs take seconds); the sandbox is faster. The
  // sandbox's contact fields are text: the typed-values case needs number, boolean and date fields.
  settings: {
    validatesEmails: true,
    typedFields: false,
    listIds: [...SANDBOX_LISTS],
    settle: { maxCheckIntervalMs: 25 },
  },
  freshDestination: () => import('../src/index.ts').then((module) => module.eloqua),
});
