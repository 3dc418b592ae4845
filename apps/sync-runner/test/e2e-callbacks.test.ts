import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eloquaContacts,
  endpointCalls,
  expectedContacts,
  freePort,
  jsonOf,
  people,
  type SyncSummaryJson,
  sandboxJson,
  spawnCli,
  startE2eSandbox,
  tempProject,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';

/*
 * Eloqua callbacks through the real CLI: `--callback-url` starts a listener and every sync the
 * plugin creates carries its job's own URL. Polling is set to wait 30 s before the first check, so a
 * run that ends within seconds proves the callback made the runner check at once; a forged callback
 * is refused and causes no check.
 */

interface SandboxSync {
  readonly uri: string;
  readonly status: string;
  readonly callbackUrl?: string;
}

describe('ferry sync --callback-url (e2e)', () => {
  let sandbox: RunningSandbox;
  const project = tempProject('e2e-callbacks');

  beforeAll(async () => {
    // Long enough for the test to knock on the listener before the syncs end.
    sandbox = await startE2eSandbox({ startDelayMs: 1500 });
  });
  afterAll(async () => {
    await sandbox?.close();
    project.remove();
  });

  it('checks a job as soon as Eloqua calls back, and refuses callbacks with a wrong token', async () => {
    const list = people(150);
    writeProject(project.dir, sandbox, list, {
      sendgrid: false,
      common: { polling: { initialIntervalMs: 30_000, maxIntervalMs: 60_000 } },
    });
    const port = await freePort();
    const run = spawnCli(project.dir, [
      'sync',
      '--json',
      '--callback-url',
      `http://127.0.0.1:${port}/ferry/callbacks`,
    ]);

    // Both jobs (100 + 50 profiles) are submitted, each sync with its own callback URL.
    const syncs = await waitFor('two syncs with callback URLs', async () => {
      const { syncs } = await sandboxJson<{ syncs: SandboxSync[] }>(sandbox.eloqua!.url, '/__sandbox/syncs');
      return syncs.length === 2 && syncs.every((s) => s.callbackUrl !== undefined) ? syncs : undefined;
    });
    const urls = syncs.map((s) => new URL(s.callbackUrl!));
    for (const url of urls) {
      expect(url.origin).toBe(`http://127.0.0.1:${port}`);
      expect(url.pathname).toMatch(/^\/ferry\/callbacks\/job_[^/]+\/[A-Za-z0-9_-]{20,}$/);
    }
    expect(new Set(urls.map((u) => u.pathname)).size).toBe(2);

    // A wrong token for a real job: 403. An unknown job: 404. Neither causes a status check.
    const [first] = urls;
    const forged = new URL(first!);
    forged.pathname = forged.pathname.replace(/[^/]+$/, 'not-the-token-0123456789');
    expect((await fetch(forged, { method: 'POST', body: '{}' })).status).toBe(403);
    const unknown = new URL(first!);
    unknown.pathname = '/ferry/callbacks/job_unknown/not-the-token-0123456789';
    expect((await fetch(unknown, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await endpointCalls(sandbox.eloqua!.url))['eloqua.syncStatus']).toBeUndefined();

    // Eloqua calls back when each sync ends; the runner checks then, not 30 s later.
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.ms).toBeLessThan(25_000);
    const summary = jsonOf<SyncSummaryJson>(result);
    expect(summary.destinations[0]).toMatchObject({ exported: 150, jobsSubmitted: 2, pending: 0 });
    const { callbacks } = await sandboxJson<{ callbacks: { url: string; status?: number }[] }>(
      sandbox.eloqua!.url,
      '/__sandbox/callbacks',
    );
    expect(callbacks.map((c) => c.status)).toEqual([204, 204]);
    // One check per job, each right after its callback: the status is read from the API.
    expect((await endpointCalls(sandbox.eloqua!.url))['eloqua.syncStatus']).toBe(2);
    expect(await eloquaContacts(sandbox.eloqua!.url)).toEqual(expectedContacts(list));

    // The listener is gone with the run: nothing is listening any more.
    await expect(fetch(first!, { method: 'POST', body: '{}' })).rejects.toThrow();
  }, 60_000);
});
