import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CliResult,
  destinationOf,
  eloquaContacts,
  endpointCalls,
  expectedContacts,
  jsonOf,
  type Person,
  people,
  person,
  resetSandbox,
  runCli,
  type SyncSummaryJson,
  sandboxJson,
  sendgridContacts,
  startE2eSandbox,
  statusOf,
  tempProject,
  writeProject,
  writeSource,
} from './helpers/e2e.ts';

/*
 * The real `ferry` CLI against both vendor emulators over HTTP: a first sync, an incremental re-sync
 * that sends nothing (counted at the vendor), one that sends only what changed, and a sync with
 * rejects and bad rows.
 */

const EXPORT_ENDPOINTS = [
  'eloqua.definitionCreate',
  'eloqua.definitionUpdate',
  'eloqua.upload',
  'eloqua.syncCreate',
  'sendgrid.upsert',
  'sendgrid.importCreate',
  'sendgrid.upload',
  'sendgrid.delete',
];

const callsDiff = (before: Record<string, number>, after: Record<string, number>): Record<string, number> => {
  const diff: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after)) {
    const delta = count - (before[endpoint] ?? 0);
    if (delta !== 0) diff[endpoint] = delta;
  }
  return diff;
};

const exportCalls = (diff: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(diff).filter(([endpoint]) => EXPORT_ENDPOINTS.includes(endpoint)));

describe('ferry sync against the sandbox (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(async () => {
    await resetSandbox(sandbox);
    project = tempProject('e2e-sync');
  });
  afterEach(() => project.remove());

  const sync = async (...args: string[]): Promise<{ result: CliResult; summary: SyncSummaryJson }> => {
    const result = await runCli(project.dir, ['sync', '--json', ...args]);
    return { result, summary: jsonOf<SyncSummaryJson>(result) };
  };

  const calls = async () => ({
    eloqua: await endpointCalls(sandbox.eloqua!.url),
    sendgrid: await endpointCalls(sandbox.sendgrid!.url),
  });

  const expectVendorsToHold = async (list: readonly Person[]) => {
    const expected = expectedContacts(list);
    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expected);
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expected);
  };

  it('syncs to both destinations, then re-syncs without a single export call, then sends only what changed', async () => {
    let list = people(250);
    writeProject(project.dir, sandbox, list);

    const first = await sync();
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(first.summary.source).toEqual({ rows: 250, records: 250, badRows: 0, duplicates: 0 });
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(first.summary, name)).toMatchObject({
        queued: 250,
        exported: 250,
        rejected: 0,
        jobsSubmitted: 3,
        pending: 0,
      });
    }
    await expectVendorsToHold(list);
    const afterFirst = await calls();
    expect(afterFirst.sendgrid['sendgrid.upsert']).toBe(3);
    expect(afterFirst.eloqua['eloqua.syncCreate']).toBe(3);

    // Nothing changed: the vendors are not called at all.
    const second = await sync();
    expect(second.result.code, second.result.stderr).toBe(0);
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(second.summary, name)).toMatchObject({
        unchanged: 250,
        queued: 0,
        jobsSubmitted: 0,
        exported: 0,
        statusChecks: 0,
      });
    }
    const afterSecond = await calls();
    expect(callsDiff(afterFirst.eloqua, afterSecond.eloqua)).toEqual({});
    expect(callsDiff(afterFirst.sendgrid, afterSecond.sendgrid)).toEqual({});
    const eloquaBefore = await sandboxJson<{ items: { emailAddress: string; updatedAt: string }[] }>(
      sandbox.eloqua!.url,
      '/__sandbox/contacts?limit=1000',
    );

    // Three profiles change, two are new: five are sent, in one job per destination.
    list = [
      ...list.map((p, i) =>
        i === 3
          ? person(3, { firstName: 'Renamed' })
          : i === 40
            ? person(40, { city: 'Reykjavík' })
            : i === 77
              ? person(77, { plan: 'enterprise-plus', email: '  PERSON77@Example.com ' })
              : p,
      ),
      person(900),
      person(901),
    ];
    writeSource(project.dir, list);
    const third = await sync();
    expect(third.result.code, third.result.stderr).toBe(0);
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(third.summary, name)).toMatchObject({
        unchanged: 247,
        queued: 5,
        exported: 5,
        jobsSubmitted: 1,
      });
    }
    await expectVendorsToHold(list);
    const diff = await calls();
    expect(exportCalls(callsDiff(afterSecond.sendgrid, diff.sendgrid))).toEqual({ 'sendgrid.upsert': 1 });
    expect(exportCalls(callsDiff(afterSecond.eloqua, diff.eloqua))).toMatchObject({
      'eloqua.upload': 1,
      'eloqua.syncCreate': 1,
    });
    // At the vendor, only the changed contacts were touched.
    const eloquaAfter = await sandboxJson<{ items: { emailAddress: string; updatedAt: string }[] }>(
      sandbox.eloqua!.url,
      '/__sandbox/contacts?limit=1000',
    );
    const before = new Map(eloquaBefore.items.map((c) => [c.emailAddress, c.updatedAt]));
    const touched = eloquaAfter.items
      .filter((c) => before.get(c.emailAddress) !== c.updatedAt)
      .map((c) => c.emailAddress)
      .sort();
    expect(touched).toEqual([
      'person3@example.com',
      'person40@example.com',
      'person77@example.com',
      'person900@example.com',
      'person901@example.com',
    ]);

    const status = await statusOf(project.dir);
    expect(status.destinations).toEqual([
      {
        destination: 'eloqua',
        profiles: { exported: 252, pending: 0, retry_wait: 0, rejected: 0, deleted: 0 },
        jobsInFlight: { planned: 0, submitting: 0, submitted: 0 },
      },
      {
        destination: 'sendgrid',
        profiles: { exported: 252, pending: 0, retry_wait: 0, rejected: 0, deleted: 0 },
        jobsInFlight: { planned: 0, submitting: 0, submitted: 0 },
      },
    ]);
  }, 60_000);

  it('records vendor rejects with code, message and field, reports bad rows, and exits 2', async () => {
    const good = people(60);
    const list = [
      ...good,
      person(61, { email: 'not-an-email' }),
      person(62, { firstName: 'X'.repeat(120) }),
      person(63, { email: 'dup@example.com' }),
    ];
    writeProject(project.dir, sandbox, list, {
      extraLines: [
        ',nobody@example.com,No,Id,Oslo,free,1', // missing id
        'p0063,again@example.com,Dup,Licate,Oslo,free,1', // duplicate id
        'p0064,"broken@example.com,Bro"ken,Row,Oslo,free,1', // broken quoting
        'p0065,short@example.com,Short', // too few columns
      ],
    });
    const { result, summary } = await sync();
    expect(result.code, result.stderr).toBe(2);
    expect(summary.source).toEqual({ rows: 67, records: 63, badRows: 4, duplicates: 1 });
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(summary, name)).toMatchObject({ queued: 63, exported: 61, rejected: 2 });
    }

    const errors = jsonOf<{
      problems: { destination: string; profileId: string; code: string; field: string; message: string }[];
      badRows: { rows: { row: number; profileId?: string; reason: string }[] };
    }>(await runCli(project.dir, ['errors', '--json']));
    const problems = errors.problems.map(({ destination, profileId, code, field }) => ({
      destination,
      profileId,
      code,
      field,
    }));
    expect(problems).toEqual([
      { destination: 'eloqua', profileId: 'p0061', code: 'ELQ-00002', field: 'C_EmailAddress' },
      { destination: 'eloqua', profileId: 'p0062', code: 'ELQ-00040', field: 'C_FirstName' },
      { destination: 'sendgrid', profileId: 'p0061', code: 'invalid_email', field: 'email' },
      { destination: 'sendgrid', profileId: 'p0062', code: 'oversized', field: 'first_name' },
    ]);
    for (const problem of errors.problems) expect(problem.message.length).toBeGreaterThan(10);
    expect(errors.badRows.rows).toEqual([
      { row: 65, reason: 'missing id: column "id" is empty' },
      {
        row: 66,
        profileId: 'p0063',
        reason: 'duplicate id "p0063": an earlier row has the same id; only the first one is synced',
      },
      { row: 67, reason: expect.stringContaining('broken quoting') },
      { row: 68, reason: 'expected 7 columns (as in the header), found 3' },
    ]);

    const table = await runCli(project.dir, ['errors']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('4 profiles rejected or waiting for a retry');
    expect(table.stdout).toMatch(
      /eloqua\s+p0061\s+not-an-email\s+rejected\s+ELQ-00002\s+C_EmailAddress\s+Invalid email/,
    );
    expect(table.stdout).toMatch(
      /sendgrid\s+p0062\s+person62@example.com\s+rejected\s+oversized\s+first_name/,
    );
    expect(table.stdout).toContain('4 bad rows in run');

    // The vendors hold the good profiles (and the first of the duplicates), never the invalid address.
    const sendgrid = await sendgridContacts(sandbox.sendgrid!.url);
    expect(sendgrid.has('not-an-email')).toBe(false);
    expect(sendgrid.has('dup@example.com')).toBe(true);
    expect(sendgrid.has('again@example.com')).toBe(false);
    expect(sendgrid.size).toBe(61);

    // Unchanged rejects are not sent again; the exit code still says there are some.
    const again = await sync();
    expect(again.result.code).toBe(2);
    expect(destinationOf(again.summary, 'sendgrid')).toMatchObject({ stillRejected: 2, queued: 0 });
  }, 60_000);
});
