import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  expectedContacts,
  jsonOf,
  people,
  runCli,
  type SyncSummaryJson,
  sendgridContacts,
  startE2eSandbox,
  statusOf,
  tempProject,
  writeProject,
  writeSource,
} from './helpers/e2e.ts';

/*
 * Mirror mode on SendGrid through the real CLI: profiles that left the source are deleted at the
 * vendor, a run that would delete too many refuses to delete anything, and --force overrides that.
 * Eloqua, in upsert mode in the same config, keeps every contact.
 */

describe('ferry sync in mirror mode (e2e)', () => {
  let sandbox: RunningSandbox;
  const project = tempProject('e2e-mirror');

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
    project.remove();
  });

  const sync = async (...args: string[]) => {
    const result = await runCli(project.dir, ['sync', '--json', ...args]);
    return { result, summary: jsonOf<SyncSummaryJson>(result) };
  };

  it('deletes profiles that left the source, within the safety threshold', async () => {
    const all = people(200);
    writeProject(project.dir, sandbox, all, { sendgrid: { mode: 'mirror' } });
    const first = await sync();
    expect(first.result.code, first.result.stderr).toBe(0);
    expect((await sendgridContacts(sandbox.sendgrid!.url)).size).toBe(200);

    // 10 of 200 (5 %) leave the source: deleted at SendGrid, kept at Eloqua (upsert mode).
    let remaining = all.filter((_, i) => i % 20 !== 7);
    writeSource(project.dir, remaining);
    const second = await sync();
    expect(second.result.code, second.result.stderr).toBe(0);
    expect(destinationOf(second.summary, 'sendgrid')).toMatchObject({
      unchanged: 190,
      queued: 0,
      deletesQueued: 10,
      deleted: 10,
      mirror: { confirmed: 200, absent: 10, refused: false },
    });
    expect(destinationOf(second.summary, 'eloqua')).toMatchObject({ deleted: 0, deletesQueued: 0 });
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(remaining));
    expect((await eloquaContacts(sandbox.eloqua!.url)).size).toBe(200);

    // Nothing more left: nothing deleted, nothing sent.
    const third = await sync();
    expect(third.result.code).toBe(0);
    expect(destinationOf(third.summary, 'sendgrid')).toMatchObject({
      deletesQueued: 0,
      jobsSubmitted: 0,
      mirror: { confirmed: 190, absent: 0, refused: false },
    });

    // 40 of 190 (21 %) would go: more than maxDeleteFraction (10 %), so nothing is deleted, exit 1.
    const kept = remaining.slice(40);
    writeSource(project.dir, kept);
    const refused = await sync();
    expect(refused.result.code).toBe(1);
    const sendgrid = destinationOf(refused.summary, 'sendgrid');
    expect(sendgrid).toMatchObject({
      deletesQueued: 0,
      deleted: 0,
      mirror: { confirmed: 190, absent: 40, refused: true },
    });
    expect(sendgrid.mirror?.reason).toContain('more than maxDeleteFraction 10.0%');
    expect(refused.result.stderr).toContain('mirror deletes refused');
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(remaining));

    // A dry run with --force says what would go; --force deletes it.
    const dry = await sync('--dry-run', '--force');
    expect(destinationOf(dry.summary, 'sendgrid')).toMatchObject({ deletesQueued: 40, deleted: 0 });
    expect((await sendgridContacts(sandbox.sendgrid!.url)).size).toBe(190);
    const forced = await sync('--force');
    expect(forced.result.code, forced.result.stderr).toBe(0);
    expect(destinationOf(forced.summary, 'sendgrid')).toMatchObject({ deleted: 40 });
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(kept));

    // A deleted profile that comes back is created again.
    remaining = [all[7]!, ...kept];
    writeSource(project.dir, remaining);
    const back = await sync();
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(destinationOf(back.summary, 'sendgrid')).toMatchObject({ queued: 1, exported: 1, deleted: 0 });
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(remaining));

    const status = await statusOf(project.dir);
    expect(status.destinations.find((d) => d.destination === 'sendgrid')?.profiles).toEqual({
      exported: 151,
      pending: 0,
      retry_wait: 0,
      rejected: 0,
      deleted: 49,
    });
  }, 90_000);
});
