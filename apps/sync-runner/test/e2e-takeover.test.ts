import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  endpointCalls,
  expectedContacts,
  jsonOf,
  people,
  runCli,
  type SyncSummaryJson,
  sendgridContacts,
  spawnCli,
  startE2eSandbox,
  statusOf,
  tempProject,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';

/*
 * One store, several `ferry` processes: a run whose process is killed right after it submitted is
 * finished — as itself — by a fresh process (`ferry resume`); two syncs at once proceed on
 * different destinations and queue up on the same one, which is never submitted to twice.
 */

const sandboxes: RunningSandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
});

interface StatusRun {
  readonly id: string;
  readonly status: string;
  readonly exitCode: number | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

const runsOf = async (dir: string): Promise<StatusRun[]> =>
  jsonOf<{ runs: StatusRun[] }>(await runCli(dir, ['status', '--json'])).runs;

describe('several ferry processes on one store (e2e)', () => {
  let project: ReturnType<typeof tempProject>;
  beforeEach(() => {
    project = tempProject('e2e-takeover');
  });
  afterEach(() => project.remove());

  it('finishes a run in a fresh process after the first was killed right after its submit', async () => {
    // Slow enough that the job is still pending at the vendor when the first process dies.
    const sandbox = await startE2eSandbox({ startDelayMs: 400, recordsPerSecond: 500 });
    sandboxes.push(sandbox);
    const list = people(120);
    writeProject(project.dir, sandbox, list, { perJob: 1000 });

    const killed = await runCli(project.dir, ['sync', '--destination', 'sendgrid'], {
      FERRY_TEST_CRASH_AFTER: 'markSubmitted',
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stderr).toMatch(/crash hook: killed before write \d+ \((recordCheck|settleJob)\)/);
    const [orphan] = await runsOf(project.dir);
    expect(orphan).toMatchObject({ status: 'running', finishedAt: null });
    const before = await statusOf(project.dir);
    expect(before.destinations).toMatchObject([
      { destination: 'sendgrid', jobsInFlight: { planned: 0, submitting: 0, submitted: 1 } },
    ]);

    const resumed = await runCli(project.dir, ['resume', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`taking over run ${orphan!.id}`);
    const { runs } = jsonOf<{ runs: (SyncSummaryJson & { runId: string })[] }>(resumed);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.runId).toBe(orphan!.id);
    expect(runs[0]?.status).toBe('completed');
    expect(destinationOf(runs[0]!, 'sendgrid')).toMatchObject({ queued: 120, exported: 120, pending: 0 });

    // The same run, now completed with its summary; nothing in flight; the vendor has every contact,
    // from the one upsert the first process made (checked and settled, not sent again).
    expect(await runsOf(project.dir)).toMatchObject([{ id: orphan!.id, status: 'completed', exitCode: 0 }]);
    const after = await statusOf(project.dir);
    expect(after.destinations).toEqual([
      {
        destination: 'sendgrid',
        profiles: { exported: 120, pending: 0, retry_wait: 0, rejected: 0, deleted: 0 },
        jobsInFlight: { planned: 0, submitting: 0, submitted: 0 },
      },
    ]);
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(list));
    expect((await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert']).toBe(1);

    // Nothing is left for a second resume, and the next sync finds nothing to send.
    const nothing = await runCli(project.dir, ['resume']);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain('No unfinished run to resume.');
    const again = jsonOf<SyncSummaryJson>(await runCli(project.dir, ['sync', '--json', '-d', 'sendgrid']));
    expect(destinationOf(again, 'sendgrid')).toMatchObject({ unchanged: 120, queued: 0, jobsSubmitted: 0 });
  }, 60_000);

  it('runs two syncs at once: different destinations both proceed; the same one waits, and is sent once', async () => {
    // Jobs take five seconds at the vendor: long enough for a second process to start (a second or
    // more on a loaded machine) while the first still holds the destination.
    const sandbox = await startE2eSandbox({ startDelayMs: 5000, recordsPerSecond: 400 });
    sandboxes.push(sandbox);
    const list = people(150);
    writeProject(project.dir, sandbox, list, { perJob: 1000 });

    // Different destinations: neither waits for the other, and they overlap in time.
    const eloqua = spawnCli(project.dir, ['sync', '-d', 'eloqua', '--json']);
    const sendgrid = spawnCli(project.dir, ['sync', '-d', 'sendgrid', '--json']);
    const [e, s] = await Promise.all([eloqua.done, sendgrid.done]);
    expect(e.code, e.stderr).toBe(0);
    expect(s.code, s.stderr).toBe(0);
    expect(e.stderr + s.stderr).not.toMatch(/\] waiting: /);
    const [later, earlier] = await runsOf(project.dir);
    expect(Date.parse(later!.startedAt)).toBeLessThan(Date.parse(earlier!.finishedAt!));
    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expectedContacts(list));
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(list));

    // The same destination: the second waits for the first, says for whom, then finds nothing to send.
    const changed = people(160);
    writeProject(project.dir, sandbox, changed, { perJob: 1000 });
    const calls = (await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert'] ?? 0;
    const first = spawnCli(project.dir, ['sync', '-d', 'sendgrid', '--json']);
    await waitFor('the first sync to submit', async () =>
      ((await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert'] ?? 0) > calls ? true : undefined,
    );
    const second = spawnCli(project.dir, ['sync', '-d', 'sendgrid', '--json']);
    const [one, two] = await Promise.all([first.done, second.done]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toMatch(
      new RegExp(
        `\\[sendgrid\\] waiting: ferry process ${first.child.pid} on .* is syncing this destination`,
      ),
    );
    expect(destinationOf(jsonOf<SyncSummaryJson>(one), 'sendgrid')).toMatchObject({
      queued: 10,
      exported: 10,
    });
    expect(destinationOf(jsonOf<SyncSummaryJson>(two), 'sendgrid')).toMatchObject({
      unchanged: 160,
      queued: 0,
      jobsSubmitted: 0,
    });
    expect((await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert']).toBe(calls + 1);
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expectedContacts(changed));
  }, 90_000);
});
