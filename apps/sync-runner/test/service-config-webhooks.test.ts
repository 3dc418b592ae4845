import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../src/service/webhooks.ts';
import {
  people,
  resetSandbox,
  runCli,
  startE2eSandbox,
  tempProject,
  toCsv,
  waitFor,
  writeProject,
} from './helpers/e2e.ts';
import { bearer, createApiToken, type RunningService, startService } from './helpers/service.ts';
import { type Receiver, startReceiver } from './helpers/webhook-receiver.ts';

/*
 * Webhook endpoints from the config (`service.webhooks`, secrets from the environment) next to
 * those of the API: listed without secrets, delivered and verified, filtered by event type,
 * disabled when they leave the config; config mistakes name the key and never print the secret.
 */

describe('ferry serve: webhook endpoints from the config (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService | undefined;
  let receiver: Receiver;
  let write: string;
  const secret = newWebhookSecret();
  const env = { FERRY_HOOK_SECRET: secret };

  beforeAll(async () => {
    sandbox = await startE2eSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });
  beforeEach(async () => {
    await resetSandbox(sandbox);
    project = tempProject('ferry-serve-config-hooks-');
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

  const configFile = () => join(project.dir, 'ferry.config.json');
  const setWebhooks = (webhooks: unknown[]) => {
    const config = JSON.parse(readFileSync(configFile(), 'utf8')) as Record<string, unknown>;
    writeFileSync(configFile(), JSON.stringify({ ...config, service: { webhooks } }, null, 2));
  };
  const serve = () => startService(project.dir, ['--allow-private-webhooks'], env);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service!.url}${path}`, { ...init, headers: { ...bearer(write), ...init.headers } });
  const endpoints = async () =>
    (
      (await (await api('/v1/webhook-endpoints')).json()) as {
        items: {
          id: string;
          source: string;
          url: string;
          events: string[] | null;
          disabledReason: string | null;
        }[];
      }
    ).items;

  it('delivers to config endpoints merged with API ones, filtered by event, and disables those removed', async () => {
    const base = receiver.url.replace(/\/hooks$/, '');
    setWebhooks([
      { url: `${base}/all`, secret: { env: 'FERRY_HOOK_SECRET' } },
      { url: `${base}/failures`, secret: { env: 'FERRY_HOOK_SECRET' }, events: ['run.failed'] },
    ]);
    service = await serve();
    const created = await api('/v1/webhook-endpoints', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${base}/api` }),
    });
    const apiEndpoint = (await created.json()) as { id: string; secret: string };
    const listed = await endpoints();
    expect(listed.map((e) => [e.source, e.url, e.events]).sort()).toEqual([
      ['api', `${base}/api`, null],
      ['config', `${base}/all`, null],
      ['config', `${base}/failures`, ['run.failed']],
    ]);
    expect(JSON.stringify(listed)).not.toContain(secret.slice(6));
    const fromConfig = listed.find((e) => e.url.endsWith('/all'))!;
    expect((await api(`/v1/webhook-endpoints/${fromConfig.id}`, { method: 'DELETE' })).status).toBe(409);

    const posted = await api('/v1/runs', {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: toCsv(people(4)),
    });
    const runId = ((await posted.json()) as { id: string }).id;
    await waitFor('both deliveries', () => (receiver.received.length >= 2 ? true : undefined), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const byPath = new Map(receiver.received.map((r) => [r.path, r]));
    expect([...byPath.keys()].sort()).toEqual(['/all', '/api']);
    const all = byPath.get('/all')!;
    expect(new Webhook(secret).verify(all.body, all.headers as Record<string, string>)).toMatchObject({
      type: 'run.completed',
      data: { runId },
    });
    const apiHook = byPath.get('/api')!;
    expect(() =>
      new Webhook(apiEndpoint.secret).verify(apiHook.body, apiHook.headers as Record<string, string>),
    ).not.toThrow();
    const deliveries = (await (await api(`/v1/runs/${runId}/deliveries`)).json()) as {
      items: { source: string }[];
    };
    expect(deliveries.items.map((d) => d.source).sort()).toEqual(['api', 'config']);

    // Taken out of the config: disabled at the next start, its history kept.
    service.cli.child.kill('SIGTERM');
    await service.cli.done;
    setWebhooks([{ url: `${base}/failures`, secret: { env: 'FERRY_HOOK_SECRET' }, events: ['run.failed'] }]);
    service = await serve();
    expect((await endpoints()).find((e) => e.id === fromConfig.id)?.disabledReason).toBe(
      'removed from the config',
    );
    expect(`${service.cli.stderr()}${service.cli.stdout()}`).not.toContain(secret.slice(6));
  });

  it('names the key of a config mistake and never prints the secret', async () => {
    const check = async (webhooks: unknown[], expected: RegExp, args: string[] = []) => {
      setWebhooks(webhooks);
      const result = await runCli(project.dir, ['serve', '--port', '0', ...args], {
        ...env,
        BAD_SECRET: 'not-a-whsec-secret-but-long-enough',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(expected);
      expect(result.stderr).not.toContain(secret.slice(6));
      expect(result.stderr).not.toContain('not-a-whsec-secret');
      return result.stderr;
    };
    await check(
      [{ url: 'ftp://example.com/x', secret: { env: 'FERRY_HOOK_SECRET' } }],
      /service\.webhooks\.0\.url|service\.webhooks\[0\]\.url/,
    );
    await check(
      [{ url: receiver.url, secret: { env: 'BAD_SECRET' } }],
      /service\.webhooks(\.0\.|\[0\]\.)secret/,
    );
    await check(
      [{ url: receiver.url, secret: { env: 'FERRY_HOOK_SECRET' }, events: ['run.done'] }],
      /service\.webhooks(\.0\.|\[0\]\.)events/,
    );
    await check(
      [{ url: receiver.url, secret: { env: 'FERRY_HOOK_SECRET' } }],
      /service\.webhooks\[0\]\.url: .*loopback/,
    );
    await check(
      [
        { url: receiver.url, secret: { env: 'FERRY_HOOK_SECRET' } },
        { url: receiver.url, secret: { env: 'FERRY_HOOK_SECRET' } },
      ],
      /service\.webhooks\[1\]\.url: the same URL is listed twice/,
      ['--allow-private-webhooks'],
    );
  });
});
