import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  destinationOf,
  ELOQUA_SANDBOX,
  endpointCalls,
  jsonOf,
  resetSandbox,
  runCli,
  type SyncSummaryJson,
  sandboxJson,
  sendgridContacts,
  startE2eSandbox,
  statusOf,
  tempProject,
} from './helpers/e2e.ts';

/*
 * Vendor → vendor with the real `ferry` CLI: an Eloqua contact export (Bulk API 2.0 against the
 * sandbox) is the source, SendGrid the destination. Then kill -9 in the middle of reading the
 * export: the next `ferry sync` resumes from the last page it stored (the sandbox counts the data
 * pages it served), or — when Eloqua's copy has expired meanwhile — starts the export again.
 */

const COUNT = 1200;
const PAGE = 100;

const contact = (i: number, suffix = '') => ({
  C_EmailAddress: `export${i}@example.com`,
  C_FirstName: `First${i}${suffix}`,
  C_LastName: `Last${i}`,
  C_City: ['Oslo', 'Lyon', 'Porto', 'Kyoto'][i % 4],
  C_Industry1: ['free', 'pro'][i % 2],
});

const writeExportProject = (dir: string, sandbox: RunningSandbox, retention = 'PT12H') => {
  const config = {
    source: {
      type: 'export',
      plugin: 'eloqua',
      idField: 'email',
      options: {
        loginUrl: sandbox.eloqua!.url,
        auth: {
          type: 'basic',
          site: ELOQUA_SANDBOX.site,
          username: ELOQUA_SANDBOX.username,
          password: { env: 'ELOQUA_PASSWORD' },
        },
        fields: {
          email: 'C_EmailAddress',
          first: 'C_FirstName',
          last: 'C_LastName',
          city: 'C_City',
          plan: 'C_Industry1',
        },
        dataRetentionDuration: retention,
        pageSize: PAGE,
      },
    },
    destinations: {
      sendgrid: {
        plugin: 'sendgrid',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's environment syntax
        options: { baseUrl: sandbox.sendgrid!.url, apiKey: '${SENDGRID_API_KEY}' },
        identity: 'email',
        fields: {
          email: { column: 'email', transform: ['trim', 'lowercase'] },
          first_name: 'first',
          last_name: 'last',
          city: 'city',
          plan: 'plan',
        },
        polling: { initialIntervalMs: 100, maxIntervalMs: 400 },
      },
    },
  };
  writeFileSync(join(dir, 'ferry.config.json'), `${JSON.stringify(config, null, 2)}\n`);
};

const seedEloqua = async (sandbox: RunningSandbox, suffix = '') => {
  const contacts = Array.from({ length: COUNT }, (_, i) => contact(i, suffix));
  await sandboxJson(sandbox.eloqua!.url, '/__sandbox/contacts', { method: 'POST', body: contacts });
};

const expectSendgridHoldsEloqua = async (sandbox: RunningSandbox, suffix = '') => {
  const held = await sendgridContacts(sandbox.sendgrid!.url);
  expect(held.size).toBe(COUNT);
  for (const i of [0, 1, 399, 400, 401, COUNT - 1]) {
    const c = contact(i, suffix);
    expect(held.get(c.C_EmailAddress)).toEqual({
      email: c.C_EmailAddress,
      firstName: c.C_FirstName,
      lastName: c.C_LastName,
      city: c.C_City,
      plan: c.C_Industry1,
    });
  }
};

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startE2eSandbox({ startDelayMs: 100, recordsPerSecond: 20_000 });
});
afterAll(() => sandbox.close());

describe('an Eloqua export as the source of a SendGrid sync (e2e)', () => {
  let project: ReturnType<typeof tempProject>;
  beforeEach(async () => {
    project = tempProject('e2e-export');
    await resetSandbox(sandbox);
    await seedEloqua(sandbox);
  });
  afterEach(() => project.remove());

  it('syncs every exported contact to SendGrid; the next sync exports again and sends nothing unchanged', async () => {
    writeExportProject(project.dir, sandbox);
    const first = await runCli(project.dir, ['sync', '--json']);
    const summary = jsonOf<SyncSummaryJson>(first);
    expect(summary.exitCode, first.stderr).toBe(0);
    expect(summary.source).toMatchObject({ rows: COUNT, records: COUNT, badRows: 0 });
    expect(destinationOf(summary, 'sendgrid')).toMatchObject({ exported: COUNT, rejected: 0 });
    await expectSendgridHoldsEloqua(sandbox);
    const calls = await endpointCalls(sandbox.eloqua!.url);
    // One page to learn the total, then 12 pages of 100.
    expect(calls['eloqua.syncData']).toBe(1 + COUNT / PAGE);
    expect(calls['eloqua.exportDelete']).toBe(1);

    // A change at the source vendor goes through; the rest costs nothing.
    await sandboxJson(sandbox.eloqua!.url, '/__sandbox/contacts', {
      method: 'POST',
      body: [{ ...contact(7), C_FirstName: 'Renamed' }],
    });
    const second = jsonOf<SyncSummaryJson>(await runCli(project.dir, ['sync', '--json']));
    expect(second.exitCode).toBe(0);
    expect(destinationOf(second, 'sendgrid')).toMatchObject({ exported: 1, unchanged: COUNT - 1 });
    expect((await sendgridContacts(sandbox.sendgrid!.url)).get('export7@example.com')?.firstName).toBe(
      'Renamed',
    );
    expect((await endpointCalls(sandbox.eloqua!.url))['eloqua.exportCreate']).toBe(2);
  });

  it('kill -9 while reading the export: the next sync resumes from the last stored page', async () => {
    writeExportProject(project.dir, sandbox);
    // Four pages stored; the process dies while storing the fifth (already fetched).
    const killed = await runCli(project.dir, ['sync'], { FERRY_TEST_CRASH_BEFORE: 'appendExportPage:5' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/killed before write \d+ \(appendExportPage\)/);
    expect((await endpointCalls(sandbox.eloqua!.url))['eloqua.syncData']).toBe(1 + 5);

    const resumed = await runCli(project.dir, ['sync', '--json']);
    const summary = jsonOf<SyncSummaryJson>(resumed);
    expect(summary.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming the Eloqua contact export: 400 records already read');
    expect(summary.source).toMatchObject({ records: COUNT });
    const calls = await endpointCalls(sandbox.eloqua!.url);
    // The same export, read on from offset 400: only the page in flight at the kill is fetched twice.
    expect(calls['eloqua.exportCreate']).toBe(1);
    expect(calls['eloqua.syncCreate']).toBe(1);
    expect(calls['eloqua.syncData']).toBe(1 + 5 + (COUNT - 400) / PAGE);
    await expectSendgridHoldsEloqua(sandbox);
    const status = await statusOf(project.dir);
    expect(status.destinations[0]?.profiles).toMatchObject({ exported: COUNT, pending: 0, retry_wait: 0 });
  });

  it('kill -9 after the export was stored, while the engine read it: the next sync asks Eloqua nothing', async () => {
    writeExportProject(project.dir, sandbox);
    const killed = await runCli(project.dir, ['sync'], { FERRY_TEST_CRASH_AFTER: 'markExportDownloaded' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const before = await endpointCalls(sandbox.eloqua!.url);
    const resumed = jsonOf<SyncSummaryJson>(await runCli(project.dir, ['sync', '--json']));
    expect(resumed.exitCode).toBe(0);
    const after = await endpointCalls(sandbox.eloqua!.url);
    expect(after['eloqua.syncData']).toBe(before['eloqua.syncData']);
    expect(after['eloqua.exportCreate']).toBe(1);
    await expectSendgridHoldsEloqua(sandbox);
  });

  it("kill -9 while reading, then Eloqua's copy expires: the next sync starts the export again", async () => {
    writeExportProject(project.dir, sandbox, 'PT1H');
    const killed = await runCli(project.dir, ['sync'], { FERRY_TEST_CRASH_BEFORE: 'appendExportPage:3' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    // Meanwhile the contacts change and the export's data passes its retention.
    await seedEloqua(sandbox, '-v2');
    await sandboxJson(sandbox.eloqua!.url, '/__sandbox/clock', {
      method: 'POST',
      body: { advanceMs: 2 * 3_600_000 },
    });

    const again = await runCli(project.dir, ['sync', '--json']);
    const summary = jsonOf<SyncSummaryJson>(again);
    expect(summary.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/expired: starting the Eloqua contact export again/);
    const calls = await endpointCalls(sandbox.eloqua!.url);
    expect(calls['eloqua.exportCreate']).toBe(2);
    expect(calls['eloqua.syncCreate']).toBe(2);
    // What SendGrid holds is the new export's: nothing of the expired copy is mixed in.
    await expectSendgridHoldsEloqua(sandbox, '-v2');
  });

  it('names a wrong source plugin or option, and keeps the password out of a failed read', async () => {
    writeExportProject(project.dir, sandbox);
    const file = join(project.dir, 'ferry.config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...config, source: { ...config.source, plugin: 'nope' } }));
    const unknown = await runCli(project.dir, ['sync']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown export source "nope"; known sources: eloqua, sendgrid');
    const badPage = { ...config.source, options: { ...config.source.options, pageSize: 60_000 } };
    writeFileSync(file, JSON.stringify({ ...config, source: badPage }));
    const invalid = await runCli(project.dir, ['sync']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/\[ferry\] \[source\] invalid options: pageSize/);
    writeFileSync(file, JSON.stringify(config));
    const wrong = await runCli(project.dir, ['sync', '--json'], { ELOQUA_PASSWORD: 'not-the-password-4242' });
    const summary = jsonOf<SyncSummaryJson & { error?: string }>(wrong);
    expect(summary.status).toBe('failed');
    expect(summary.error).toMatch(/eloqua export: .*refused the credentials/);
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain('not-the-password-4242');
  });
});
