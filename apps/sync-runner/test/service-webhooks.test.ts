import type { RunningSandbox } from '@ferry/sandbox';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  people,
  person,
  resetSandbox,
  startE2eSandbox,
  tempProject,
  toCsv,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';
import { bearer, createApiToken, type RunningService, startService } from './helpers/service.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

/*
 * Completion webhooks from `ferry serve` to a local receiver: signed in the Standard Webhooks
 * format (verified with the standardwebhooks package), retried with the same webhook-id while the
 * receiver fails, across a kill -9 of the server, and an endpoint answering 410 disabled.
 */

describe('ferry serve: completion webhooks (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService | undefined;
  let receiver: Receiver;
  let write: string;

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    await resetSandbox(sandbox);
    project = tempProject('ferry-serve-hooks-');
    writeProject(project.dir, sandbox, people(5), { sendgrid: false });
    write = await createApiToken(project.dir, 'write');
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

  const serve = () =>
    startService(project.dir, ['--allow-private-webhooks', '--webhook-retries', '300,300,300']);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, { ...init, headers: { ...bearer(write), ...init.headers } });
  const addEndpoint = async (url: string) => {
    const response = await api('/v1/webhook-endpoints', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url }),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; secret: string };
  };
  const postRun = async (csv: string) => {
    const response = await api('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: csv,
    });
    expect(response.status).toBe(202);
    return ((await response.json()) as { id: string }).id;
  };
  const deliveries = async (runId: string) =>
    (
      (await (await api(`/v1/runs/${runId}/deliveries`)).json()) as {
        items: { id: string; state: string; attempts: { status: number | null }[] }[];
      }
    ).items;

  it('signs the completion callback: the standardwebhooks package verifies it, forged or stale ones fail', async () => {
    service = await serve();
    const endpoint = await addEndpoint(receiver.url);
    expect(endpoint.secret).toMatch(/^whsec_/);
    const listed = await (await api('/v1/webhook-endpoints')).text();
    expect(listed).toContain(endpoint.id);
    expect(listed).not.toContain(endpoint.secret.slice(6));

    const runId = await postRun(
      toCsv([...people(10), person(11, { email: 'not-an-email' })], [',x@example.com,No,Id,Oslo,free,1']),
    );
    const hook = await waitFor('the callback', () => receiver.received[0]);
    const headers = hook.headers as Record<string, string>;
    const payload = new Webhook(endpoint.secret).verify(hook.body, headers) as {
      type: string;
      data: { runId: string; status: string; counts: Record<string, number>; links: { records: string } };
    };
    expect(payload).toMatchObject({
      type: 'run.completed_with_errors',
      data: {
        runId,
        status: 'completed_with_errors',
        counts: { records: 11, badRows: 1, exported: 10, rejected: 1 },
      },
    });
    expect(headers['webhook-id']).toMatch(/^msg_/);
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    // Forged body, wrong secret, stale timestamp: refused.
    expect(() => new Webhook(endpoint.secret).verify(hook.body.replace('11', '12'), headers)).toThrow();
    expect(() =>
      new Webhook(`whsec_${Buffer.from('x'.repeat(24)).toString('base64')}`).verify(hook.body, headers),
    ).toThrow();
    const stale = String(Number(headers['webhook-timestamp']) - 3600);
    expect(() =>
      new Webhook(endpoint.secret).verify(hook.body, { ...headers, 'webhook-timestamp': stale }),
    ).toThrow();
    expect(await deliveries(runId)).toMatchObject([
      { id: headers['webhook-id'], state: 'delivered', attempts: [{ status: 204 }] },
    ]);
  });

  it('retries a failing receiver with the same webhook-id, across a kill -9 of the server', async () => {
    service = await serve();
    await addEndpoint(receiver.url);
    receiver.answers.push(503, 500, 500, 500, 500);
    const runId = await postRun(toCsv(people(10)));
    // Recorded, not only received: a kill between the answer and its record would lose the attempt.
    await waitFor('two failed attempts', async () =>
      ((await deliveries(runId))[0]?.attempts.length ?? 0) >= 2 ? true : undefined,
    );
    service.cli.child.kill('SIGKILL');
    await service.cli.done;
    receiver.answers.length = 0;
    service = await serve();
    const ok = await waitFor('the delivery', async () => {
      const [delivery] = await deliveries(runId);
      return delivery?.state === 'delivered' ? delivery : undefined;
    });
    const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    expect(ids).toEqual(new Set([ok.id]));
    expect(ok.attempts.map((a) => a.status).slice(0, 2)).toEqual([503, 500]);
    expect(ok.attempts.at(-1)?.status).toBe(204);
  });

  it('disables an endpoint that answers 410 and refuses private addresses unless allowed', async () => {
    service = await serve();
    const endpoint = await addEndpoint(receiver.url);
    receiver.answers.push(410);
    const first = await postRun(toCsv(people(3)));
    await waitFor('the 410', async () =>
      (await deliveries(first))[0]?.state === 'failed' ? true : undefined,
    );
    const listed = (await (await api('/v1/webhook-endpoints')).json()) as {
      items: { id: string; disabledAt: string | null }[];
    };
    expect(listed.items.find((e) => e.id === endpoint.id)?.disabledAt).not.toBeNull();
    const second = await postRun(toCsv(people(4)));
    await waitFor('the second run', async () => {
      const run = (await (await api(`/v1/runs/${second}`)).json()) as { finishedAt: string | null };
      return run.finishedAt === null ? undefined : true;
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await deliveries(second)).toEqual([]);
    expect(receiver.received).toHaveLength(1);

    service.cli.child.kill('SIGKILL');
    await service.cli.done;
    service = await startService(project.dir);
    for (const url of [
      receiver.url,
      'http://localhost:1/x',
      'http://169.254.169.254/latest',
      'ftp://example.com/x',
    ]) {
      const refused = await api('/v1/webhook-endpoints', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url }),
      });
      expect(refused.status, url).toBe(400);
      expect(((await refused.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('body/url');
    }
  });
});
