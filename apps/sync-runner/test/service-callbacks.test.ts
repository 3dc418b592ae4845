import type { RunningSandbox } from '@ferry/sandbox';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../src/service/verify-webhook.ts';
import {
  people,
  person,
  resetSandbox,
  runCli,
  startE2eSandbox,
  tempProject,
  toCsv,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';
import {
  bearer,
  createApiToken,
  createCallbackSecret,
  type RunningService,
  startService,
} from './helpers/service.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

/*
 * Per-run completion callbacks (`Ferry-Async-Callback-Url`) over real loopback HTTP: the whole flow
 * from a CSV with mistakes to a signed callback (verified with standardwebhooks and Ferry's own
 * helper) and the rejects equal to `ferry errors --csv`; the header's checks; redelivery; a
 * receiver that is down for a while; a kill -9 of the server mid-run.
 */

const HEADER = 'Ferry-Async-Callback-Url';

interface DeliveryJson {
  id: string;
  source: string;
  url: string;
  type: string;
  state: string;
  attempts: { status: number | null; error: string | null; redelivery: boolean }[];
}

interface CallbackBody {
  type: string;
  data: { runId: string; status: string; counts: Record<string, number>; links: Record<string, string> };
}

const mistakes = () =>
  toCsv([...people(10), person(11, { email: 'not-an-email' })], [',x@example.com,No,Id,Oslo,free,1']);

describe('ferry serve: per-run callbacks (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService | undefined;
  let receiver: Receiver;
  let write: string;
  let read: string;

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    await resetSandbox(sandbox);
    project = tempProject('ferry-serve-callbacks-');
    writeProject(project.dir, sandbox, people(5), { perJob: 50, inFlight: 1 });
    write = await createApiToken(project.dir, 'write');
    read = await createApiToken(project.dir, 'read');
    receiver = await startReceiver();
  });
  afterEach(async () => {
    if (service !== undefined && service.cli.child.exitCode === null) {
      service.cli.child.kill('SIGKILL');
      await service.cli.done;
    }
    service = undefined;
    await receiver.close();
    project.remove();
  });

  const serve = (retries = '300,300,300') =>
    startService(project.dir, ['--allow-private-webhooks', '--webhook-retries', retries]);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, { ...init, headers: { ...bearer(write), ...init.headers } });
  const postRun = (csv: string, headers: Record<string, string> = {}) =>
    api('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'text/csv', [HEADER]: receiver.url, ...headers },
      body: csv,
    });
  const started = async (response: Response) => {
    expect(response.status, await response.clone().text()).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const deliveries = async (runId: string) =>
    ((await (await api(`/v1/runs/${runId}/deliveries`)).json()) as { items: DeliveryJson[] }).items;
  const delivered = (runId: string, attempts = 1) =>
    waitFor(
      'the delivery',
      async () => {
        const [delivery] = await deliveries(runId);
        return delivery?.state === 'delivered' && delivery.attempts.length >= attempts ? delivery : undefined;
      },
      60_000,
      100,
    );

  it('whole flow: a CSV with mistakes, the signed callback verified, the rejects equal to ferry errors --csv', async () => {
    const secret = await createCallbackSecret(project.dir);
    expect(secret).toMatch(/^whsec_/);
    const again = await runCli(project.dir, ['webhooks', 'secret']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--rotate');
    expect(again.stderr + again.stdout).not.toContain(secret.slice(6));

    service = await serve();
    const csv = mistakes();
    const runId = await started(await postRun(csv, { 'idempotency-key': 'import-1' }));
    // The callback URL is part of the request: the same key replays, another URL is a conflict.
    const replayed = await postRun(csv, { 'idempotency-key': 'import-1' });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(((await replayed.json()) as { id: string }).id).toBe(runId);
    const other = await postRun(csv, { 'idempotency-key': 'import-1', [HEADER]: `${receiver.url}/other` });
    expect(other.status).toBe(422);

    const hook = await waitFor('the callback', () => receiver.received[0], 60_000);
    const headers = hook.headers as Record<string, string>;
    const byPackage = new Webhook(secret).verify(hook.body, headers) as CallbackBody;
    const byHelper = verifyWebhook<CallbackBody>(secret, hook.headers, hook.body);
    expect(byHelper).toEqual(byPackage);
    expect(byHelper).toMatchObject({
      type: 'run.completed_with_errors',
      data: { runId, status: 'completed_with_errors', counts: { records: 11, badRows: 1, rejected: 2 } },
    });
    expect(() => verifyWebhook(secret, hook.headers, hook.body.replace('11', '12'))).toThrow(/signature/);

    const [delivery] = await deliveries(runId);
    expect(delivery).toMatchObject({
      id: headers['webhook-id'],
      source: 'callback',
      url: receiver.url,
      state: 'delivered',
      attempts: [{ status: 204, redelivery: false }],
    });
    // The per-run callback is not a standing endpoint.
    expect(((await (await api('/v1/webhook-endpoints')).json()) as { items: unknown[] }).items).toEqual([]);

    const download = async (path: string) =>
      Buffer.from(
        await (await api(path, { headers: { ...bearer(read), accept: 'text/csv' } })).arrayBuffer(),
      ).toString('utf8');
    const records = await download(byHelper.data.links.records!);
    const [, ...badLines] = (await download(byHelper.data.links.badRows!))
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    const cli = await runCli(project.dir, ['errors', '--csv', '--run', runId]);
    expect(`${records}${badLines.map((line) => `${line}\r\n`).join('')}`).toBe(cli.stdout);
    expect(records).toContain('not-an-email');

    const seen = `${service.cli.stderr()}${service.cli.stdout()}${JSON.stringify(await deliveries(runId))}`;
    expect(seen).not.toContain(secret.slice(6));
  });

  it('refuses a bad callback URL as a 400 naming the header, and a 409 until a signing secret exists', async () => {
    service = await startService(project.dir);
    for (const url of [receiver.url, 'http://169.254.169.254/x', 'ftp://example.com/x', 'not a url']) {
      const refused = await postRun(toCsv(people(3)), { [HEADER]: url });
      expect(refused.status, url).toBe(400);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await refused.json()) as { detail: string; errors: { field: string }[] };
      expect(problem.errors[0]!.field).toBe('headers/ferry-async-callback-url');
      expect(problem.detail).toContain(HEADER);
    }
    service.cli.child.kill('SIGKILL');
    await service.cli.done;

    service = await serve();
    const unsigned = await postRun(toCsv(people(3)));
    expect(unsigned.status).toBe(409);
    expect(((await unsigned.json()) as { detail: string }).detail).toContain('ferry webhooks secret');
    expect(((await (await api('/v1/runs')).json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('redelivers on request with the same webhook-id, write tokens only, recorded as attempts', async () => {
    await createCallbackSecret(project.dir);
    service = await serve();
    const runId = await started(await postRun(toCsv(people(4))));
    const first = await delivered(runId);

    const forbidden = await api(`/v1/runs/${runId}/deliveries/redeliver`, {
      method: 'POST',
      headers: bearer(read),
    });
    expect(forbidden.status).toBe(403);
    const again = await api(`/v1/runs/${runId}/deliveries/redeliver`, { method: 'POST' });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { items: { id: string }[] }).items.map((d) => d.id)).toEqual([first.id]);
    const second = await delivered(runId, 2);
    expect(second.attempts.map((a) => [a.status, a.redelivery])).toEqual([
      [204, false],
      [204, true],
    ]);

    const one = await api(`/v1/runs/${runId}/deliveries/${first.id}/redeliver`, { method: 'POST' });
    expect(one.status).toBe(202);
    await delivered(runId, 3);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([first.id, first.id, first.id]);
    expect((await api(`/v1/runs/${runId}/deliveries/msg_nope/redeliver`, { method: 'POST' })).status).toBe(
      404,
    );
    expect((await api('/v1/runs/run_nope/deliveries/redeliver', { method: 'POST' })).status).toBe(404);
  });

  it('delivers to a receiver that was down for a while, later, with the same webhook-id', async () => {
    await createCallbackSecret(project.dir);
    service = await serve('300,300,300,300,300,300,300,300,1000,1000,1000');
    await receiver.down();
    const runId = await started(await postRun(toCsv(people(6))));
    await waitFor('two refused attempts', async () =>
      ((await deliveries(runId))[0]?.attempts.length ?? 0) >= 2 ? true : undefined,
    );
    await receiver.up();
    const delivery = await delivered(runId);
    expect(delivery.attempts.slice(0, -1).every((a) => a.status === null && a.error !== null)).toBe(true);
    expect(delivery.attempts.at(-1)?.status).toBe(204);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id']))).toEqual(new Set([delivery.id]));
  });

  it('kill -9 of the server mid-run: the run finishes after the restart and its callback arrives', async () => {
    const secret = await createCallbackSecret(project.dir);
    service = await serve();
    const runId = await started(await postRun(toCsv(people(600))));
    await waitFor('a job to settle', async () => {
      const run = (await (await api(`/v1/runs/${runId}`)).json()) as {
        destinations: { exported: number }[];
      };
      return run.destinations.some((d) => d.exported > 0) ? true : undefined;
    });
    service.cli.child.kill('SIGKILL');
    await service.cli.done;
    expect(receiver.received).toEqual([]);

    service = await serve();
    const hook = await waitFor('the callback', () => receiver.received[0], 90_000, 100);
    const body = verifyWebhook<CallbackBody>(secret, hook.headers, hook.body);
    expect(body).toMatchObject({
      type: 'run.completed',
      data: { runId, status: 'completed', counts: { records: 600, exported: 1200 } },
    });
    expect(await delivered(runId)).toMatchObject({ id: hook.headers['webhook-id'], source: 'callback' });
  });
});
