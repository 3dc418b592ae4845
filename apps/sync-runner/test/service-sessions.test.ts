import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
import { bearer, createApiToken, type RunningService, startService } from './helpers/service.ts';

/*
 * What the dashboard added to `ferry serve`'s API, over real loopback HTTP: sign-in sessions (the
 * cookie's attributes, CSRF on cookie writes, sign-out, a revoked token ends its sessions, only a
 * hash stored), the run trigger, the destination filter on runs, runs over time, the record filters, the
 * destinations' details, GET /v1/profiles/{id}, and /ui/ served with a strict CSP.
 */

interface RunJson {
  id: string;
  status: string;
  trigger: string;
  createdAt: string;
  finishedAt: string | null;
  destinations: { destination: string; rejected: number }[];
  links: { self: string; records: string };
}

describe('ferry serve: dashboard sessions and the API it reads (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService | undefined;
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
    project = tempProject('ferry-serve-sessions-');
    writeProject(project.dir, sandbox, people(5));
    write = await createApiToken(project.dir, 'write');
    read = await createApiToken(project.dir, 'read');
    service = await startService(project.dir);
  });
  afterEach(async () => {
    if (service !== undefined && service.cli.child.exitCode === null) {
      service.cli.child.kill('SIGKILL');
      await service.cli.done;
    }
    service = undefined;
    project.remove();
  });

  const url = (path: string) => `${service!.url}${path}`;
  const signIn = async (token: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url('/v1/sessions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ token }),
    });
    return response;
  };
  const sessionOf = async (token: string) => {
    const response = await signIn(token);
    expect(response.status, await response.clone().text()).toBe(201);
    const setCookie = response.headers.get('set-cookie')!;
    const body = (await response.json()) as { session: { csrfToken: string }; token: { scope: string } };
    return { setCookie, cookie: setCookie.split(';')[0]!, csrf: body.session.csrfToken, body };
  };
  const waitEnded = (id: string, headers: Record<string, string>) =>
    waitFor('the run to end', async () => {
      const run = (await (await fetch(url(`/v1/runs/${id}`), { headers })).json()) as RunJson;
      return run.finishedAt === null ? undefined : run;
    });

  it('trades a token for an httpOnly SameSite=Strict cookie, wants the CSRF header on writes, and signs out', async () => {
    const wrong = await signIn('ferry_000000000000_not-a-real-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect((await signIn(write, { origin: 'https://evil.example' })).status).toBe(403);

    const { setCookie, cookie, csrf, body } = await sessionOf(write);
    expect(body.token.scope).toBe('write');
    expect(setCookie).toMatch(/^ferry_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Expires=/);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP on loopback; set over HTTPS

    const current = await fetch(url('/v1/sessions/current'), { headers: { cookie } });
    expect(current.status).toBe(200);
    expect(((await current.json()) as { session: { csrfToken: string } }).session.csrfToken).toBe(csrf);
    expect((await fetch(url('/v1/runs'), { headers: { cookie } })).status).toBe(200);

    const start = (headers: Record<string, string>) =>
      fetch(url('/v1/runs'), {
        method: 'POST',
        headers: { cookie, 'content-type': 'text/csv', ...headers },
        body: toCsv(people(3)),
      });
    const noCsrf = await start({});
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { detail: string }).detail).toContain('x-ferry-csrf');
    expect((await start({ 'x-ferry-csrf': `${csrf}x` })).status).toBe(403);
    expect((await start({ 'x-ferry-csrf': csrf, origin: 'https://evil.example' })).status).toBe(403);
    const started = await start({ 'x-ferry-csrf': csrf, origin: service!.url });
    expect(started.status, await started.clone().text()).toBe(202);
    const run = (await started.json()) as RunJson;
    expect(run.trigger).toBe('dashboard');
    await waitEnded(run.id, bearer(read));

    // Only the SHA-256 of the session id is stored.
    const value = cookie.split('=')[1]!;
    const storeDir = join(project.dir, '.ferry');
    for (const file of readdirSync(storeDir).filter((name) => !name.endsWith('uploads')))
      expect(readFileSync(join(storeDir, file)).includes(value)).toBe(false);

    const out = await fetch(url('/v1/sessions/current'), {
      method: 'DELETE',
      headers: { cookie, 'x-ferry-csrf': csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/ferry_session=;/);
    expect((await fetch(url('/v1/runs'), { headers: { cookie } })).status).toBe(401);
  });

  it('gives a read token a session that cannot write, and ends sessions when their token is revoked', async () => {
    const { cookie, csrf, body } = await sessionOf(read);
    expect(body.token.scope).toBe('read');
    const verify = await fetch(url('/v1/destinations/sendgrid/verify'), {
      method: 'POST',
      headers: { cookie, 'x-ferry-csrf': csrf },
    });
    expect(verify.status).toBe(403);
    expect((await fetch(url('/v1/destinations'), { headers: { cookie } })).status).toBe(200);

    const listed = await runCli(project.dir, ['tokens', 'list', '--json']);
    const tokens = (JSON.parse(listed.stdout) as { tokens: { id: string; scope: string }[] }).tokens;
    const readId = tokens.find((t) => t.scope === 'read')!.id;
    expect((await runCli(project.dir, ['tokens', 'revoke', readId])).code).toBe(0);
    expect((await fetch(url('/v1/destinations'), { headers: { cookie } })).status).toBe(401);
  });

  it('says who started a run, filters runs by destination and records by code, field and text, shows a profile', async () => {
    const csv = toCsv([...people(4), person(4, { email: 'not-an-email' })]);
    const response = await fetch(url('/v1/runs?destinations=sendgrid'), {
      method: 'POST',
      headers: { ...bearer(write), 'content-type': 'text/csv' },
      body: csv,
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as RunJson;
    expect(accepted.trigger).toBe('api');
    const run = await waitEnded(accepted.id, bearer(read));
    expect(run.destinations.map((d) => d.destination)).toEqual(['sendgrid']);

    const list = async (query: string) =>
      (
        (await (await fetch(url(`/v1/runs${query}`), { headers: bearer(read) })).json()) as {
          items: RunJson[];
        }
      ).items.map((r) => r.id);
    expect(await list('?destination=sendgrid')).toContain(run.id);
    expect(await list('?destination=eloqua')).not.toContain(run.id);

    const records = async (query: string) =>
      (
        (await (await fetch(url(`${run.links.records}${query}`), { headers: bearer(read) })).json()) as {
          items: { profileId: string; code: string | null; field: string | null }[];
        }
      ).items;
    const all = await records('');
    expect(all.map((r) => r.profileId)).toEqual(['p0004']);
    const { code, field } = all[0]!;
    expect(await records(`?code=${encodeURIComponent(code!)}`)).toHaveLength(1);
    expect(await records('?code=no-such-code')).toHaveLength(0);
    if (field !== null) expect(await records(`?field=${encodeURIComponent(field)}`)).toHaveLength(1);
    expect(await records('?q=NOT-AN-EMAIL')).toHaveLength(1);
    expect(await records('?q=p0001')).toHaveLength(0);

    // Runs over time: this run counted in its minute, by state, with its profiles.
    const stats = async (query: string) => {
      const response = await fetch(url(`/v1/stats/runs${query}`), { headers: bearer(read) });
      return {
        status: response.status,
        body: (await response.json()) as { items: Record<string, unknown>[] },
      };
    };
    const minute = new Date(Math.floor(Date.parse(run.createdAt) / 60_000) * 60_000).toISOString();
    expect((await stats('?bucket=minute')).body.items).toEqual([
      { start: minute, runs: 1, states: { completed_with_errors: 1 }, exported: 4, rejected: 1, badRows: 0 },
    ]);
    expect((await stats('?bucket=day&destination=eloqua')).body.items).toEqual([]);
    expect(
      (await stats(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.items,
    ).toEqual([]);
    expect((await stats('?since=yesterday')).status).toBe(400);

    const profile = async (id: string) => fetch(url(`/v1/profiles/${id}`), { headers: bearer(read) });
    const rejected = (await (await profile('p0004')).json()) as {
      destinations: { destination: string; status: string; runId: string; code: string; inSync: boolean }[];
    };
    expect(rejected.destinations).toEqual([
      expect.objectContaining({
        destination: 'sendgrid',
        status: 'rejected',
        runId: run.id,
        code,
        inSync: false,
      }),
    ]);
    const exported = (await (await profile('p0001')).json()) as {
      destinations: { status: string; inSync: boolean }[];
    };
    expect(exported.destinations).toEqual([expect.objectContaining({ status: 'exported', inSync: true })]);
    expect((await profile('p9999')).status).toBe(404);

    const destinations = (await (await fetch(url('/v1/destinations'), { headers: bearer(read) })).json()) as {
      items: {
        name: string;
        version: string | null;
        capabilities: Record<string, boolean>;
        limits: Record<string, number>;
      }[];
    };
    const sendgrid = destinations.items.find((d) => d.name === 'sendgrid')!;
    expect(sendgrid.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(sendgrid.capabilities).toEqual({
      delete: expect.any(Boolean),
      lists: expect.any(Boolean),
      callbacks: expect.any(Boolean),
    });
    expect(sendgrid.limits.maxProfilesPerJob).toBe(100);
  });

  it('serves the dashboard under /ui/ without a token, with a strict CSP', async () => {
    const root = await fetch(url('/'), { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const page = await fetch(url('/ui/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    expect(html).toContain('/ui/app.js');
    expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
    const script = await fetch(url('/ui/app.js'));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(url('/ui/../ferry.config.json'))).status).toBe(404);
    expect((await fetch(url('/ui/nothing.js'))).status).toBe(404);
  });
});
