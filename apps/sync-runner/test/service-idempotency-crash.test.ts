import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ABANDONED_CLAIM_MS } from '../src/service/idempotency.ts';
import {
  people,
  resetSandbox,
  sleep,
  startE2eSandbox,
  tempProject,
  toCsv,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';
import { bearer, createApiToken, type RunningService, startService } from './helpers/service.ts';

/*
 * `kill -9` of the server between claiming an Idempotency-Key and answering: the client never got
 * its 202, so it sends the request again with the same key. Before the run was recorded, the retry
 * starts it (once); after, the retry is answered with that run instead of starting a second one.
 */

describe('ferry serve: Idempotency-Key across a kill -9 (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService | undefined;
  let write: string;

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    await resetSandbox(sandbox);
    project = tempProject('ferry-serve-idem-crash-');
    writeProject(project.dir, sandbox, people(5), { sendgrid: false });
    write = await createApiToken(project.dir, 'write');
  });
  afterEach(async () => {
    if (service !== undefined && service.cli.child.exitCode === null) {
      service.cli.child.kill('SIGKILL');
      await service.cli.done;
    }
    service = undefined;
    project.remove();
  });

  const post = (key: string, csv: string) =>
    fetch(`${service!.url}/v1/runs`, {
      method: 'POST',
      headers: { ...bearer(write), 'content-type': 'text/csv', 'idempotency-key': key },
      body: csv,
    });
  /** Posts into a server that kills itself at the store write named; the answer never comes. */
  const dieAt = async (write: string, key: string, csv: string) => {
    service = await startService(project.dir, [], { FERRY_TEST_CRASH_BEFORE: write });
    await expect(post(key, csv)).rejects.toThrow();
    const claimedBy = Date.now();
    await service.cli.done;
    expect(service.cli.stderr()).toContain(`(${write})`);
    return claimedBy;
  };

  it('a retry starts the run the dead server had not recorded, and answers with the one it had', async () => {
    const before = toCsv(people(3));
    const after = toCsv(people(4, 10));
    await dieAt('createRun', 'never-recorded', before);
    const claimed = await dieAt('saveIdempotentResponse', 'recorded', after);

    service = await startService(project.dir);
    const runs = async () =>
      (
        (await (await fetch(`${service!.url}/v1/runs`, { headers: bearer(write) })).json()) as {
          items: { id: string; finishedAt: string | null }[];
        }
      ).items;
    // The run recorded before the kill is taken over at start.
    const [taken] = await runs();
    expect(taken).toBeDefined();
    // While the dead server's claims are recent, a retry is told to wait.
    expect((await post('recorded', after)).status).toBe(409);
    await sleep(Math.max(0, claimed + ABANDONED_CLAIM_MS + 500 - Date.now()));

    const replayed = await post('recorded', after);
    expect(replayed.status).toBe(202);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replayed.json()) as { id: string }).id).toBe(taken!.id);
    const fresh = await post('never-recorded', before);
    expect(fresh.status).toBe(202);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    const freshId = ((await fresh.json()) as { id: string }).id;
    // From now on both keys replay; two runs in all, and both end.
    expect((await post('never-recorded', before)).headers.get('idempotent-replayed')).toBe('true');
    expect((await post('recorded', after)).headers.get('idempotent-replayed')).toBe('true');
    await waitFor('both runs to end', async () => {
      const all = await runs();
      return all.length === 2 && all.every((run) => run.finishedAt !== null) ? all : undefined;
    });
    expect((await runs()).map((run) => run.id).sort()).toEqual([taken!.id, freshId].sort());
  }, 60_000);
});
