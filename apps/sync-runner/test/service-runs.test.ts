import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  eloquaContacts,
  people,
  resetSandbox,
  sendgridContacts,
  startE2eSandbox,
  tempProject,
  toCsv,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';
import { bearer, createApiToken, type RunningService, readEvents, startService } from './helpers/service.ts';

/*
 * A run's life through `ferry serve`: events resumed with Last-Event-ID, the list and its cursor,
 * cancel and retry, NDJSON uploads, destinations and verify, SIGTERM, and a `kill -9` of the server
 * mid-run after which the restarted server finishes the run from its upload on disk.
 */

interface RunJson {
  id: string;
  status: string;
  finishedAt: string | null;
  source: { kind: string; records: number; badRows: number };
  destinations: { destination: string; exported: number; sent: number; jobs: unknown[] }[];
  links: { self: string; events: string };
}

describe('ferry serve: runs over their life (e2e)', () => {
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
    project = tempProject('ferry-serve-runs-');
    writeProject(project.dir, sandbox, people(30), { perJob: 50, inFlight: 1 });
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

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, { ...init, headers: { ...bearer(write), ...init.headers } });
  const getRun = async (id: string) => (await (await api(`/v1/runs/${id}`)).json()) as RunJson;
  const post = async (body?: string, type = 'text/csv', query = ''): Promise<RunJson> => {
    const response = await api(`/v1/runs${query}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body, headers: { 'content-type': type } }),
    });
    expect(response.status, await response.clone().text()).toBe(202);
    return (await response.json()) as RunJson;
  };
  const ended = (e: { event: string }) => e.event === 'finished' || e.event === 'failed';

  it('runs the configured source, streams progress, and resumes the events after Last-Event-ID', async () => {
    service = await startService(project.dir);
    const run = await post();
    expect(run.source.kind).toBe('configured');
    const events = await readEvents(`${service.url}${run.links.events}`, bearer(write), ended);
    expect(events.map((e) => e.event)).toContain('progress');
    expect(events.at(-1)).toMatchObject({ event: 'finished', data: { runId: run.id, status: 'completed' } });
    const ids = events.map((e) => e.id!);
    expect(new Set(ids).size).toBe(ids.length);
    // Reconnecting after the first event gets the rest (progress collapsed to the latest), not the first again.
    const resumed = await readEvents(
      `${service.url}${run.links.events}`,
      { ...bearer(write), 'last-event-id': ids[0]! },
      ended,
    );
    expect(resumed.map((e) => e.id)).not.toContain(ids[0]);
    expect(resumed.at(-1)?.id).toBe(ids.at(-1));
    // An id from another boot (or none) replays what there is.
    const all = await readEvents(
      `${service.url}${run.links.events}`,
      { ...bearer(write), 'last-event-id': 'x-1' },
      ended,
    );
    expect(all.at(-1)?.event).toBe('finished');
    const done = await getRun(run.id);
    expect(done).toMatchObject({ status: 'completed', finishedAt: expect.any(String) });
    expect(done.destinations.map((d) => [d.destination, d.exported])).toEqual([
      ['eloqua', 30],
      ['sendgrid', 30],
    ]);
    expect(done.destinations[0]!.jobs.length).toBeGreaterThan(0);
  });

  it('takes NDJSON, lists runs newest first with a cursor and a state filter, cancels and retries', async () => {
    service = await startService(project.dir);
    const lines = people(10)
      .map((p) =>
        JSON.stringify({
          id: p.id,
          email: p.email,
          first_name: p.firstName,
          last_name: p.lastName,
          city: p.city,
          plan: p.plan,
          ltv: p.ltv,
        }),
      )
      .join('\n');
    const a = await post(`${lines}\n{"broken json\n`, 'application/x-ndjson', '?destinations=sendgrid');
    await readEvents(`${service.url}${a.links.events}`, bearer(write), ended);
    const ndjson = await getRun(a.id);
    expect(ndjson.source).toMatchObject({ kind: 'upload', records: 10, badRows: 1 });
    expect(ndjson.destinations.map((d) => d.destination)).toEqual(['sendgrid']);

    // A large run, canceled at once: it ends canceled, and cancel again is a conflict.
    const big = await post(toCsv(people(3000)));
    const cancel = await api(`${big.links.self}/cancel`, { method: 'POST' });
    expect(cancel.status).toBe(202);
    await readEvents(`${service.url}${big.links.events}`, bearer(write), ended);
    expect((await getRun(big.id)).status).toBe('canceled');
    expect((await api(`${big.links.self}/cancel`, { method: 'POST' })).status).toBe(409);
    const c = await post(undefined, '', '');
    await readEvents(`${service.url}${c.links.events}`, bearer(write), ended);

    const first = (await (await api('/v1/runs?limit=2')).json()) as { items: RunJson[]; nextCursor: string };
    expect(first.items.map((r) => r.id)).toEqual([c.id, big.id]);
    const second = (await (await api(`/v1/runs?limit=2&cursor=${first.nextCursor}`)).json()) as {
      items: RunJson[];
      nextCursor: string | null;
    };
    expect(second.items.map((r) => r.id)).toEqual([a.id]);
    expect(second.nextCursor).toBeNull();
    const canceled = (await (await api('/v1/runs?state=canceled')).json()) as { items: RunJson[] };
    expect(canceled.items.map((r) => r.id)).toEqual([big.id]);

    const retry = await api(`${a.links.self}/retry`, { method: 'POST' });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ rejected: 0, waiting: 0 });
    // Uploads are removed once their run ended.
    await waitFor('uploads removed', () =>
      readdirSync(join(project.dir, '.ferry', 'uploads')).length === 0 ? true : undefined,
    );
  });

  it('lists and verifies destinations', async () => {
    service = await startService(project.dir);
    const list = (await (await api('/v1/destinations')).json()) as {
      items: { name: string; plugin: string; ok: boolean }[];
    };
    expect(list.items.map((d) => [d.name, d.plugin, d.ok])).toEqual([
      ['eloqua', 'eloqua', true],
      ['sendgrid', 'sendgrid', true],
    ]);
    const verified = await api('/v1/destinations/sendgrid/verify', { method: 'POST' });
    expect(await verified.json()).toEqual({ name: 'sendgrid', plugin: 'sendgrid', ok: true, problems: [] });
    expect((await api('/v1/destinations/nope/verify', { method: 'POST' })).status).toBe(404);
  });

  it('finishes a run accepted before a kill -9 of the server after the restart, from its upload', async () => {
    service = await startService(project.dir);
    const run = await post(toCsv(people(600)));
    // Killed once a job settled: jobs planned, the rest of the source read into memory or not yet.
    await waitFor('a job to settle', async () =>
      (await getRun(run.id)).destinations.some((d) => d.exported > 0) ? true : undefined,
    );
    service.cli.child.kill('SIGKILL');
    await service.cli.done;
    expect(existsSync(join(project.dir, '.ferry', 'uploads'))).toBe(true);

    service = await startService(project.dir);
    await waitFor(
      'the run to end',
      async () => ((await getRun(run.id)).finishedAt === null ? undefined : true),
      60_000,
      200,
    );
    const done = await getRun(run.id);
    expect(done.status).toBe('completed');
    expect(done.source).toMatchObject({ records: 600, badRows: 0 });
    expect((await sendgridContacts(sandbox.sendgrid!.url)).size).toBe(600);
    expect((await eloquaContacts(sandbox.eloqua!.url)).size).toBe(600);
    expect(service.cli.stderr()).toContain(`taking over run ${run.id}`);
  });

  it('stops on SIGTERM: refuses new connections, exits 0, and a run left going is finished at the next start', async () => {
    service = await startService(project.dir);
    const run = await post(toCsv(people(600)));
    service.cli.child.kill('SIGTERM');
    const result = await service.cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('ferry serve: stopped');
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    service = await startService(project.dir);
    await waitFor(
      'the run to end',
      async () => ((await getRun(run.id)).finishedAt === null ? undefined : true),
      60_000,
      200,
    );
    const done = await getRun(run.id);
    expect(done.status, JSON.stringify(done.destinations.map((d) => ({ ...d, jobs: d.jobs.length })))).toBe(
      'completed',
    );
    expect(done.source).toMatchObject({ rows: 600, records: 600 });
    expect((await sendgridContacts(sandbox.sendgrid!.url)).size).toBe(600);
    expect((await eloquaContacts(sandbox.eloqua!.url)).size).toBe(600);
  });
});
