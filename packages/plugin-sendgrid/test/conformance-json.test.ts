import { runDestinationConformance } from '@ferry/core/testing';
import { afterAll } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { LIST_CUSTOMERS, LIST_NEWSLETTER, sandboxHarness, startSendgridSandbox } from './sandbox-support.ts';

// JSON path. `notes` is a custom field (no published length limit: the kit's 4,000 characters must be held intact).
const sandbox = await startSendgridSandbox();
afterAll(() => sandbox.close());
// The list-membership case adds to and removes from these (DELETE /v3/marketing/lists/{id}/contacts).
const lists = { listIds: [LIST_NEWSLETTER, LIST_CUSTOMERS] };

runDestinationConformance(
  sendgrid,
  sandboxHarness(
    () => sandbox,
    { submission: 'json', json: { maxBytesPerJob: 64 * 1024 } },
    {
      title: 'SendGrid (sendgrid) conformance — JSON upserts',
      fieldNames: { firstName: 'first_name', lastName: 'last_name', city: 'city', notes: 'notes' },
      settings: { validatesEmails: true, typedFields: false, rateLimitStorm: 3, ...lists },
    },
  ),
);
