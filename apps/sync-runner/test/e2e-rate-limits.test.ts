import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  expectedContacts,
  faultsFired,
  jsonOf,
  people,
  runCli,
  type SyncSummaryJson,
  sendgridContacts,
  startE2eSandbox,
  statusOf,
  tempProject,
  writeProject,
} from './helpers/e2e.ts';

/*
 * 429 storms at both vendors, on submission and on status checks, through the real CLI. With
 * `retry.maxAttempts: 1`, a single counted attempt more would reject profiles: the run must still
 * export everything, because waiting on a rate limit is never an attempt.
 */

const WAIT = 0.05; // seconds announced in Retry-After (SendGrid: also X-RateLimit-Reset)

describe('ferry sync through 429 storms (e2e)', () => {
  let sandbox: RunningSandbox;
  const project = tempProject('e2e-429');

  beforeAll(async () => {
    sandbox = await startE2eSandbox({
      // What is tested is that waits are never attempts, not how long they are: Retry-After (which
      // neither vendor documents, so the sandbox sends it only when asked) keeps Eloqua's short.
      retryAfterHeader: true,
      faults: [
        // Eloqua: more 429s in a row than the HTTP client waits out (6 per request) for the two
        // uploads running at once, so the runner itself sees RateLimitedError and waits.
        { endpoint: 'eloqua.upload', kind: 'rate_limit', count: 14, retryAfterSeconds: WAIT },
        { endpoint: 'eloqua.syncCreate', kind: 'rate_limit', count: 3, retryAfterSeconds: WAIT },
        { endpoint: 'eloqua.syncStatus', kind: 'rate_limit', probability: 0.5, retryAfterSeconds: WAIT },
        // SendGrid's 429s also say the window resets at the next whole second (X-RateLimit-Reset),
        // which the client honours: fewer of them, to keep the test quick.
        { endpoint: 'sendgrid.fieldDefinitions', kind: 'rate_limit', count: 1, retryAfterSeconds: WAIT },
        { endpoint: 'sendgrid.upsert', kind: 'rate_limit', count: 2, retryAfterSeconds: WAIT },
        { endpoint: 'sendgrid.importStatus', kind: 'rate_limit', count: 3, retryAfterSeconds: WAIT },
      ],
    });
  });
  afterAll(async () => {
    await sandbox?.close();
    project.remove();
  });

  it('completes with every profile exported, no retries and no rejects', async () => {
    const list = people(200);
    writeProject(project.dir, sandbox, list, {
      common: { retry: { maxAttempts: 1, initialDelayMs: 50, maxDelayMs: 400 } },
    });
    const result = await runCli(project.dir, ['sync', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('HTTP 429 Too Many Requests');
    const summary = jsonOf<SyncSummaryJson>(result);
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(summary, name)).toMatchObject({
        queued: 200,
        exported: 200,
        rejected: 0,
        retried: 0,
        jobsSubmitted: 2,
        pending: 0,
        waitingRetry: 0,
      });
    }

    const eloquaFaults = await faultsFired(sandbox.eloqua!.url);
    const sendgridFaults = await faultsFired(sandbox.sendgrid!.url);
    expect(eloquaFaults).toMatchObject({ 'eloqua.upload rate_limit': 14, 'eloqua.syncCreate rate_limit': 3 });
    expect(eloquaFaults['eloqua.syncStatus rate_limit']).toBeGreaterThan(0);
    expect(sendgridFaults).toEqual({
      'sendgrid.fieldDefinitions rate_limit': 1,
      'sendgrid.upsert rate_limit': 2,
      'sendgrid.importStatus rate_limit': 3,
    });

    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expectedContacts(list));
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(list));
    const errors = jsonOf<{ problems: unknown[] }>(await runCli(project.dir, ['errors', '--json']));
    expect(errors.problems).toEqual([]);
    const status = await statusOf(project.dir);
    for (const destination of status.destinations) {
      expect(destination.profiles).toEqual({
        exported: 200,
        pending: 0,
        retry_wait: 0,
        rejected: 0,
        deleted: 0,
      });
    }
  }, 60_000);
});
