import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  destinationOf,
  eloquaContacts,
  endpointCalls,
  expectedContacts,
  jsonOf,
  type Person,
  people,
  person,
  runCli,
  type SyncSummaryJson,
  sendgridContacts,
  setFaults,
  spawnCli,
  startE2eSandbox,
  statusOf,
  tempProject,
  waitFor,
  writeProject,
  writeSource,
} from './helpers/e2e.ts';

/*
 * kill -9 of the real CLI while it submits and while it polls, then a plain `ferry sync` again. The
 * sandbox keeps its state across the processes, so the end state is checked where it matters: every
 * profile settled exactly once in the store (exported or rejected, nothing pending), and the vendors
 * holding the latest values from the source.
 */

const sandboxes: RunningSandbox[] = [];
afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
});

describe('ferry sync after kill -9 (e2e)', () => {
  let project: ReturnType<typeof tempProject>;
  beforeEach(() => {
    project = tempProject('e2e-crash');
  });
  afterEach(() => project.remove());

  const expectSettled = async (exported: number, rejected: number, runs: string[]) => {
    const status = await statusOf(project.dir);
    for (const destination of status.destinations) {
      expect(destination.profiles, destination.destination).toEqual({
        exported,
        pending: 0,
        retry_wait: 0,
        rejected,
        deleted: 0,
      });
      expect(destination.jobsInFlight).toEqual({ planned: 0, submitting: 0, submitted: 0 });
    }
    expect(status.runs.map((run) => run.status)).toEqual(runs);
  };

  const heldBy = async (sandbox: RunningSandbox, list: readonly Person[]) => {
    const expected = expectedContacts(list);
    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expected);
    expect(await sendgridContacts(sandbox.sendgrid!.url)).toEqual(expected);
  };

  it('resumes after a kill during submission: before the handle was written, and mid-way through a submission', async () => {
    const sandbox = await startE2eSandbox({ startDelayMs: 300, recordsPerSecond: 2000 });
    sandboxes.push(sandbox);
    const valid = people(200);
    const list = [...valid, person(200, { email: 'broken-address' })];
    // One job per destination, so the order of the store's writes is known.
    writeProject(project.dir, sandbox, list, { perJob: 1000 });

    // SendGrid accepts the job and the process dies just before the write that would have recorded
    // its handle (the first markSubmitted).
    const killed = await runCli(project.dir, ['sync', '--destination', 'sendgrid'], {
      FERRY_TEST_CRASH_BEFORE: 'markSubmitted',
    });
    expect(killed.stderr).toMatch(/killed before write \d+ \(markSubmitted\)/);
    expect(killed.signal).toBe('SIGKILL');
    expect((await endpointCalls(sandbox.sendgrid!.url))['sendgrid.upsert']).toBe(1);
    let status = await statusOf(project.dir);
    expect(status.destinations).toMatchObject([
      { destination: 'sendgrid', jobsInFlight: { planned: 0, submitting: 1, submitted: 0 } },
    ]);

    // Next, a kill while Eloqua's submission is under way: data uploaded, the sync not yet created.
    await setFaults(sandbox.eloqua!.url, [
      { endpoint: 'eloqua.syncCreate', kind: 'slow', delayMs: 3000, count: 1 },
    ]);
    const second = spawnCli(project.dir, ['sync', '--quiet']);
    await waitFor('the Eloqua upload', async () =>
      ((await endpointCalls(sandbox.eloqua!.url))['eloqua.upload'] ?? 0) >= 1 ? true : undefined,
    );
    second.child.kill('SIGKILL');
    expect((await second.done).signal).toBe('SIGKILL');
    status = await statusOf(project.dir);
    expect(status.destinations.find((d) => d.destination === 'eloqua')?.jobsInFlight).toEqual({
      planned: 0,
      submitting: 1,
      submitted: 0,
    });
    await setFaults(sandbox.eloqua!.url, []);

    const resumed = await runCli(project.dir, ['sync', '--json']);
    expect(resumed.code, resumed.stderr).toBe(2);
    const summary = jsonOf<SyncSummaryJson>(resumed);
    for (const name of ['eloqua', 'sendgrid']) {
      expect(destinationOf(summary, name)).toMatchObject({ pending: 0, waitingRetry: 0 });
    }
    await heldBy(sandbox, valid);
    await expectSettled(200, 1, ['completed', 'interrupted', 'interrupted']);
    const errors = jsonOf<{ problems: { destination: string; profileId: string }[] }>(
      await runCli(project.dir, ['errors', '--json']),
    );
    expect(errors.problems.map((p) => `${p.destination}:${p.profileId}`)).toEqual([
      'eloqua:p0200',
      'sendgrid:p0200',
    ]);

    // Resubmitting is at-least-once, never more than needed: nothing is left to send.
    const again = await runCli(project.dir, ['sync', '--json']);
    for (const name of ['eloqua', 'sendgrid'])
      expect(destinationOf(jsonOf<SyncSummaryJson>(again), name)).toMatchObject({
        queued: 0,
        jobsSubmitted: 0,
      });
  }, 60_000);

  it('resumes after a kill while polling, and the vendors end with the values changed since', async () => {
    // Slow jobs (3 s for 100 profiles), so the interrupted jobs are still running at the vendors when
    // the next run reads the changed profiles: sending those at once would race the older jobs.
    const sandbox = await startE2eSandbox({ startDelayMs: 500, recordsPerSecond: 40 });
    sandboxes.push(sandbox);
    let list = people(200);
    // Two jobs per destination, and room for more: the changed profiles could go at once.
    writeProject(project.dir, sandbox, list, { inFlight: 4 });

    const first = spawnCli(project.dir, ['sync', '--quiet']);
    await waitFor('status checks at both vendors', async () => {
      const eloqua = (await endpointCalls(sandbox.eloqua!.url))['eloqua.syncStatus'] ?? 0;
      const sendgrid = (await endpointCalls(sandbox.sendgrid!.url))['sendgrid.importStatus'] ?? 0;
      return eloqua >= 1 && sendgrid >= 1 ? true : undefined;
    });
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const status = await statusOf(project.dir);
    for (const destination of status.destinations) {
      expect(destination.jobsInFlight.submitted, destination.destination).toBeGreaterThanOrEqual(1);
      expect(destination.profiles.exported).toBe(0);
    }

    // The source changes while those jobs run at the vendors: one profile in each job.
    list = list.map((p, i) =>
      i === 5 || i === 150 ? person(i, { firstName: `Changed${i}`, city: 'Tromsø', plan: 'team' }) : p,
    );
    writeSource(project.dir, list);
    const resumed = await runCli(project.dir, ['sync', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = jsonOf<SyncSummaryJson>(resumed);
    for (const name of ['eloqua', 'sendgrid']) {
      // The interrupted jobs confirm all 200 (two with their old values), then the 2 changed are sent.
      expect(destinationOf(summary, name)).toMatchObject({ queued: 2, exported: 202, pending: 0 });
    }
    await heldBy(sandbox, list);
    await expectSettled(200, 0, ['completed', 'interrupted']);
  }, 60_000);
});
