import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  endpointCalls,
  expectedContacts,
  jsonOf,
  people,
  projectConfig,
  runCli,
  type SyncSummaryJson,
  sendgridContacts,
  startE2eSandbox,
  tempProject,
  writeSource,
} from './helpers/e2e.ts';

/*
 * A value cleared in the source ends cleared at both vendors through `ferry sync`, with SendGrid
 * sending CSV imports (`submission: 'csv'`): an empty CSV cell leaves a SendGrid field as it is, so
 * the profiles that clear something must go another way (the plugin sends them as JSON).
 */

describe('ferry sync clears what the source cleared (e2e)', () => {
  let sandbox: RunningSandbox;
  const project = tempProject('e2e-clearing');

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
    project.remove();
  });

  it('SendGrid with submission: csv, and Eloqua', async () => {
    const config = projectConfig(sandbox, { perJob: 50 });
    const sendgrid = config.destinations.sendgrid as { options: Record<string, unknown> };
    sendgrid.options = { ...sendgrid.options, submission: 'csv' };
    writeFileSync(join(project.dir, 'ferry.config.json'), `${JSON.stringify(config, null, 2)}\n`);

    const before = people(40);
    writeSource(project.dir, before);
    const first = await runCli(project.dir, ['sync', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(before));
    const upsertsBefore = (await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert'] ?? 0;
    expect(upsertsBefore).toBe(0);

    // Ten people lose their first name and plan (a Text custom field) in the source.
    const after = before.map((p, n) => (n < 10 ? { ...p, firstName: '', plan: '' } : p));
    writeSource(project.dir, after);
    const second = await runCli(project.dir, ['sync', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const summary = jsonOf<SyncSummaryJson>(second);
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(summary, name)).toMatchObject({ queued: 10, exported: 10, rejected: 0 });
    }
    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expectedContacts(after));
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(after));
    // The ten went as one JSON upsert, not as a CSV import.
    expect((await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert']).toBe(1);
  }, 60_000);
});
