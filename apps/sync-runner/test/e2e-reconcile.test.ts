import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  expectedContacts,
  jsonOf,
  people,
  resetSandbox,
  runCli,
  SENDGRID_KEY,
  type SyncSummaryJson,
  sandboxJson,
  sendgridContacts,
  sleep,
  startE2eSandbox,
  tempProject,
  writeProject,
} from './helpers/e2e.ts';
import { bearer, createApiToken, startService } from './helpers/service.ts';

/*
 * `ferry reconcile` with the real CLI against both sandboxes: a sync, then drift planted behind
 * Ferry's back — at SendGrid through its own API (a contact deleted, one edited, one added), at
 * Eloqua through the sandbox's inspection routes — found exactly (table, --json, --csv), and
 * `--fix` followed by the next sync repairing what Ferry owns.
 */

interface ReconcileJson {
  exitCode: number;
  destination: string;
  vendorRecords: number;
  confirmed: number;
  compared: number;
  counts: { missing: number; changed: number; unknown: number };
  drift: {
    kind: string;
    identity: string;
    profileId?: string;
    fields?: { field: string; ferry: unknown; vendor: unknown }[];
  }[];
  requeued?: number;
}

const sendgrid = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${sandbox.sendgrid!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${SENDGRID_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return response.json() as Promise<Record<string, unknown>>;
};

const waitForSendgrid = async (check: (held: Map<string, { firstName: string }>) => boolean) => {
  for (let i = 0; i < 200; i += 1) {
    if (check(await sendgridContacts(sandbox.sendgrid!.url))) return;
    await sleep(25);
  }
  throw new Error('SendGrid did not get there');
};

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startE2eSandbox({ startDelayMs: 50, recordsPerSecond: 50_000 });
});
afterAll(() => sandbox.close());

describe('ferry reconcile (e2e)', () => {
  let project: ReturnType<typeof tempProject>;
  const list = people(40);
  beforeEach(async () => {
    project = tempProject('e2e-reconcile');
    await resetSandbox(sandbox);
    writeProject(project.dir, sandbox, list);
    const synced = jsonOf<SyncSummaryJson>(await runCli(project.dir, ['sync', '--json']));
    expect(synced.exitCode).toBe(0);
  });
  afterEach(() => project.remove());

  it('is in step right after a sync', async () => {
    for (const destination of ['sendgrid', 'eloqua']) {
      const result = await runCli(project.dir, ['reconcile', destination, '--json']);
      const report = jsonOf<ReconcileJson>(result);
      expect(report.exitCode, result.stderr).toBe(0);
      expect(report).toMatchObject({
        vendorRecords: 40,
        confirmed: 40,
        compared: 40,
        counts: { missing: 0, changed: 0, unknown: 0 },
      });
    }
    const table = await runCli(project.dir, ['reconcile', 'sendgrid']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('No drift.');
  });

  it('finds drift planted at SendGrid exactly, and --fix plus the next sync repairs it', async () => {
    const ids = (await sendgrid('POST', '/v3/marketing/contacts/search/emails', {
      emails: ['person5@example.com'],
    })) as {
      result: Record<string, { contact: { id: string } }>;
    };
    await sendgrid('DELETE', `/v3/marketing/contacts?ids=${ids.result['person5@example.com']!.contact.id}`);
    await sendgrid('PUT', '/v3/marketing/contacts', {
      contacts: [{ email: 'person7@example.com', first_name: 'Edited' }, { email: 'stranger@example.com' }],
    });
    await waitForSendgrid(
      (held) =>
        !held.has('person5@example.com') &&
        held.get('person7@example.com')?.firstName === 'Edited' &&
        held.has('stranger@example.com'),
    );

    const result = await runCli(project.dir, ['reconcile', 'sendgrid', '--json']);
    const report = jsonOf<ReconcileJson>(result);
    expect(report.exitCode, result.stderr).toBe(2);
    expect(report.counts).toEqual({ missing: 1, changed: 1, unknown: 1 });
    expect(report.drift).toEqual([
      { kind: 'missing', identity: 'person5@example.com', profileId: 'p0005' },
      {
        kind: 'changed',
        identity: 'person7@example.com',
        profileId: 'p0007',
        fields: [{ field: 'first_name', ferry: 'First7', vendor: 'Edited' }],
      },
      { kind: 'unknown', identity: 'stranger@example.com' },
    ]);

    const csv = await runCli(project.dir, ['reconcile', 'sendgrid', '--csv']);
    expect(csv.code).toBe(2);
    expect(
      csv.stdout
        .replace(/^\ufeff/, '')
        .split('\r\n')
        .filter((line) => line !== ''),
    ).toEqual([
      'kind,profile_id,identity,field,ferry_value,vendor_value',
      'missing,p0005,person5@example.com,,,',
      'changed,p0007,person7@example.com,first_name,First7,Edited',
      'unknown,,stranger@example.com,,,',
    ]);
    const table = await runCli(project.dir, ['reconcile', 'sendgrid']);
    expect(table.stdout).toMatch(
      /missing at the vendor: 1\n {2}changed at the vendor: 1\n {2}unknown to Ferry: {6}1/,
    );
    expect(table.stdout).toMatch(/changed\s+p0007\s+person7@example.com\s+first_name\s+First7\s+Edited/);

    const fixed = jsonOf<ReconcileJson>(
      await runCli(project.dir, ['reconcile', 'sendgrid', '--fix', '--json']),
    );
    expect(fixed.requeued).toBe(2);
    const repaired = jsonOf<SyncSummaryJson>(
      await runCli(project.dir, ['sync', '--json', '--destination', 'sendgrid']),
    );
    expect(destinationOf(repaired, 'sendgrid')).toMatchObject({ exported: 2, unchanged: 38 });
    const held = await sendgridContacts(sandbox.sendgrid!.url);
    const expected = expectedContacts(list);
    for (const [email, contact] of expected) expect(held.get(email)).toEqual(contact);
    // Only what Ferry does not own is left: the stranger.
    const after = jsonOf<ReconcileJson>(await runCli(project.dir, ['reconcile', 'sendgrid', '--json']));
    expect(after.counts).toEqual({ missing: 0, changed: 0, unknown: 1 });
  });

  it('finds drift planted at Eloqua exactly, and --fix plus the next sync repairs it', async () => {
    const eloqua = sandbox.eloqua!.url;
    await fetch(`${eloqua}/__sandbox/contacts?email=person2@example.com`, { method: 'DELETE' });
    await fetch(`${eloqua}/__sandbox/contacts?email=person9@example.com`, { method: 'DELETE' });
    await sandboxJson(eloqua, '/__sandbox/contacts', {
      method: 'POST',
      body: [
        { C_EmailAddress: 'person3@example.com', C_City: 'Nowhere', C_LastName: 'Renamed' },
        { C_EmailAddress: 'walk-in@example.com', C_FirstName: 'Walk' },
      ],
    });
    const report = jsonOf<ReconcileJson>(
      await runCli(project.dir, ['reconcile', 'eloqua', '--json', '--fix']),
    );
    expect(report.exitCode).toBe(2);
    expect(report.drift).toEqual([
      { kind: 'missing', identity: 'person2@example.com', profileId: 'p0002' },
      { kind: 'missing', identity: 'person9@example.com', profileId: 'p0009' },
      {
        kind: 'changed',
        identity: 'person3@example.com',
        profileId: 'p0003',
        fields: [
          { field: 'C_LastName', ferry: 'Last3', vendor: 'Renamed' },
          { field: 'C_City', ferry: list[3]!.city, vendor: 'Nowhere' },
        ],
      },
      { kind: 'unknown', identity: 'walk-in@example.com' },
    ]);
    expect(report.requeued).toBe(3);
    const repaired = jsonOf<SyncSummaryJson>(
      await runCli(project.dir, ['sync', '--json', '--destination', 'eloqua']),
    );
    expect(destinationOf(repaired, 'eloqua')).toMatchObject({ exported: 3, unchanged: 37 });
    const held = await eloquaContacts(eloqua);
    for (const [email, contact] of expectedContacts(list)) expect(held.get(email)).toEqual(contact);
  });

  it('runs from the service: POST /v1/destinations/{name}/reconcile, with fix', async () => {
    await fetch(`${sandbox.eloqua!.url}/__sandbox/contacts?email=person4@example.com`, { method: 'DELETE' });
    const write = await createApiToken(project.dir, 'write');
    const read = await createApiToken(project.dir, 'read');
    const service = await startService(project.dir);
    try {
      const call = (path: string, token: string, body?: unknown) =>
        fetch(`${service.url}${path}`, {
          method: 'POST',
          headers: { ...bearer(token), 'content-type': 'application/json' },
          body: JSON.stringify(body ?? {}),
        });
      expect((await call('/v1/destinations/eloqua/reconcile', read)).status).toBe(403);
      expect((await call('/v1/destinations/nope/reconcile', write)).status).toBe(404);
      const response = await call('/v1/destinations/eloqua/reconcile', write, { fix: true });
      expect(response.status).toBe(200);
      const report = (await response.json()) as ReconcileJson;
      expect(report.counts).toEqual({ missing: 1, changed: 0, unknown: 0 });
      expect(report.drift).toEqual([
        { kind: 'missing', identity: 'person4@example.com', profileId: 'p0004' },
      ]);
      expect(report.requeued).toBe(1);
    } finally {
      service.cli.child.kill('SIGTERM');
      await service.cli.done;
    }
    const repaired = jsonOf<SyncSummaryJson>(
      await runCli(project.dir, ['sync', '--json', '--destination', 'eloqua']),
    );
    expect(destinationOf(repaired, 'eloqua')).toMatchObject({ exported: 1 });
  });
});
