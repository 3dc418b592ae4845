import { runDestinationConformance } from '@ferry/core/testing';
import { afterAll } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { LIST_CUSTOMERS, LIST_NEWSLETTER, sandboxHarness, startSendgridSandbox } from './sandbox-support.ts';

// CSV import path. `notes` goes to address_line_1 (≤ 100 characters), so the oversized case is a rejection naming it.
const sandbox = await startSendgridSandbox();
afterAll(() => sandbox.close());
// The list-membership case adds to and removes from these (DELETE /v3/marketing/lists/{id}/contacts).
const lists = { listIds: [LIST_NEWSLETTER, LIST_CUSTOMERS] };

runDestinationConformance(
  sendgrid,
  sandboxHarness(
    () => sandbox,
    { submission: 'csv', csv: { maxBytesPerJob: 64 * 1024 } },
    {
      title: 'SendGrid (sendgrid) conformance — CSV imports',
      fieldNames: { firstName: 'first_name', lastName: 'last_name', city: 'city', notes: 'address_line_1' },
      settings: {
        validatesEmails: true,
        typedFields: false,
        maxFieldLength: 100,
        rateLimitStorm: 3,
        ...lists,
      },
    },
  ),
);
