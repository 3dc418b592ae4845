import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RunningSandbox } from '@ferry/sandbox';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDashboardDir } from '../src/service/dashboard.ts';
import { findChromium, launchChromium, type RunningBrowser } from './helpers/browser.ts';
import { people, person, startE2eSandbox, tempProject, toCsv, waitFor, writeProject } from './helpers/e2e.ts';
import { bearer, createApiToken, type RunningService, startService } from './helpers/service.ts';

/*
 * The dashboard in real headless Chromium against a real `ferry serve` and the vendor emulators:
 * sign-in (a wrong token refused), a sync started by uploading a file with mistakes, its progress
 * moving live, the completion notice while the user is elsewhere, the rejects table equal to
 * GET /v1/runs/{id}/records, the CSV download equal to the API's, retry, and a read-only token that
 * sees no write action. Screenshots of every view go to docs/screenshots/.
 */

const SHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const chromiumPath = findChromium();

const MISTAKES = [
  ',nobody@example.com,No,Id,Oslo,free,1', // missing id
  'p0500,short@example.com,Short', // too few columns
];
/** 240 good profiles, two a vendor refuses, two unreadable rows. */
const uploadCsv = (): string =>
  toCsv(
    [...people(240), person(241, { email: 'not-an-email' }), person(242, { email: 'also wrong' })],
    MISTAKES,
  );

interface RecordJson {
  destination: string;
  profileId: string;
  identity: string;
  code: string | null;
  field: string | null;
  message: string | null;
}

describe.skipIf(chromiumPath === undefined)('the dashboard in headless Chromium (e2e)', () => {
  let sandbox: RunningSandbox;
  let project: ReturnType<typeof tempProject>;
  let service: RunningService;
  let browser: RunningBrowser;
  let page: Page;
  let write: string;
  let read: string;
  let runId: string;
  /** Every request the page made, method and path, to check it used only the documented API. */
  const requests: { method: string; path: string }[] = [];
  /** Script errors and CSP refusals in the page: there must be none. */
  const pageProblems: string[] = [];

  beforeAll(async () => {
    if (findDashboardDir() === undefined)
      throw new Error('the dashboard is not built: run `pnpm build:dashboard` (pnpm test does it first)');
    // Slow vendors, small jobs: the run lasts long enough to watch it move.
    sandbox = await startE2eSandbox({ startDelayMs: 250, recordsPerSecond: 400 });
    project = tempProject('ferry-dashboard-');
    writeProject(project.dir, sandbox, people(3), { perJob: 20, inFlight: 1 });
    write = await createApiToken(project.dir, 'write');
    read = await createApiToken(project.dir, 'read');
    service = await startService(project.dir);
    browser = await launchChromium(chromiumPath!);
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageProblems.push(`error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) pageProblems.push(message.text());
    });
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === service.url) requests.push({ method: request.method(), path: url.pathname });
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (service !== undefined && service.cli.child.exitCode === null) {
      service.cli.child.kill('SIGTERM');
      await service.cli.done;
    }
    await sandbox?.close();
    project?.remove();
  });

  const api = async <T>(path: string, token = read): Promise<T> => {
    const response = await fetch(`${service.url}${path}`, { headers: bearer(token) });
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  };
  const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
  const signIn = async (token: string) => {
    await page.goto(`${service.url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  it('refuses a wrong token and sets no cookie (signing in by keyboard alone)', async () => {
    await page.goto(`${service.url}/`);
    await page.getByLabel('API token').waitFor();
    // The token field has focus: type and press Enter, no mouse. (Page code naming browser globals
    // is a string: this package is typed for Node, without the DOM.)
    expect(await page.evaluate('document.activeElement?.id')).toBe('token');
    await page.keyboard.type('ferry_0123456789ab_this-is-not-a-token');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('unknown or revoked');
    expect(await browser.context.cookies()).toEqual([]);
    await shot('sign-in');
  });

  it('signs in with a write token: an httpOnly session cookie, the runs page and the write actions', async () => {
    await signIn(write);
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    const cookies = await browser.context.cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'ferry_session', httpOnly: true, sameSite: 'Strict' }),
    ]);
    await page.getByText('No runs yet.').waitFor();
    expect(await page.getByRole('link', { name: 'New sync' }).count()).toBeGreaterThan(0);
    // The token is not kept by the page: only the cookie, which scripts cannot read.
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }))).not.toContain(
      'ferry_',
    );
  });

  it('starts a sync from an uploaded file with mistakes, answers at once, and the progress moves live', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New sync' }).click();
    await page.getByLabel('File (CSV or JSONL)').setInputFiles({
      name: 'people.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(uploadCsv()),
    });
    await shot('new-sync');
    await page.getByRole('button', { name: 'Start sync' }).click();
    const follow = page.getByRole('link', { name: 'Follow it live' });
    await follow.waitFor({ timeout: 5000 });
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Sync scheduled' }).count()).toBe(1);
    runId = (await follow.getAttribute('data-run-id'))!;
    await shot('new-sync-scheduled');

    await follow.click();
    const bar = page.locator('#run-progress');
    await bar.waitFor();
    // 242 good records to two destinations: 484 outcomes in all. Values strictly between 0 and 484 are
    // the bar moving mid-run, whatever the machine's load.
    const total = 242 * 2;
    const seen = new Set<number>();
    await waitFor(
      'the progress bar to move through several values mid-run',
      async () => {
        const done = Number((await bar.getAttribute('data-done')) ?? 0);
        if (done > 0 && done < total) seen.add(done);
        return seen.size >= 2 ? true : undefined;
      },
      60_000,
      25,
    );
    await page.getByTestId('rate').filter({ hasText: 'profiles/s' }).waitFor();
    await shot('run-live');
  });

  it('tells the user when the run is done while they are on another page, with a link to the results', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click();
    await page.getByRole('heading', { name: 'sendgrid' }).waitFor();
    await page.getByRole('button', { name: 'Test connection' }).first().click();
    await page.getByText('Connection OK').first().waitFor();
    const notice = page.locator('.notice').filter({ hasText: 'has ended' });
    await notice.waitFor({ timeout: 60_000 });
    expect(await notice.textContent()).toContain('completed with errors');
    await shot('destinations');
    await notice.getByRole('link', { name: 'See the results' }).click();
    await page.waitForURL(new RegExp(`#/runs/${runId}$`));
    await page.locator('table.records tbody tr').first().waitFor();
    await shot('run-detail');
  });

  it('shows the rejects exactly as GET /v1/runs/{id}/records, and downloads them as the same CSV', async () => {
    const expected = await api<{ items: RecordJson[] }>(`/v1/runs/${runId}/records?limit=1000`);
    expect(expected.items.length).toBeGreaterThanOrEqual(2);
    const rows = await page
      .locator('table.records tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
    expect(
      rows.map(([destination, profileId, identity, , code, field, message]) => ({
        destination,
        profileId,
        identity,
        code,
        field,
        message,
      })),
    ).toEqual(
      expected.items.map((r) => ({
        destination: r.destination,
        profileId: r.profileId,
        identity: r.identity,
        code: r.code ?? '—',
        field: r.field ?? '—',
        message: r.message ?? '—',
      })),
    );
    // Bad rows with their row numbers.
    const bad = await page.locator('table.bad-rows tbody tr td:first-child').allTextContents();
    const badApi = await api<{ items: { row: number }[] }>(`/v1/runs/${runId}/bad-rows`);
    expect(bad).toEqual(badApi.items.map((r) => String(r.row)));
    expect(bad).toHaveLength(2);

    // Filtering by code narrows the table to what the API gives for that code.
    const code = expected.items[0]!.code!;
    await page.getByLabel('Code').fill(code);
    await expect
      .poll(async () => page.locator('table.records tbody tr').count())
      .toBe(expected.items.filter((r) => r.code === code).length);

    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV' }).click();
    const download = await downloading;
    const file = readFileSync((await download.path())!);
    const csv = await fetch(`${service.url}/v1/runs/${runId}/records?code=${encodeURIComponent(code)}`, {
      headers: { ...bearer(read), accept: 'text/csv' },
    });
    expect(file.equals(Buffer.from(await csv.arrayBuffer()))).toBe(true);
    expect(file.toString('utf8').split('\r\n')[0]).toContain('kind,destination');
    expect(file.toString('utf8').trimEnd().split('\r\n')).toHaveLength(
      1 + expected.items.filter((r) => r.code === code).length,
    );
    await page.getByLabel('Code').fill('');
  });

  it('retries the rejected profiles with the Retry button', async () => {
    const before = await api<{ items: RecordJson[] }>(`/v1/runs/${runId}/records?limit=1000&status=rejected`);
    await page.getByRole('button', { name: 'Retry rejected' }).click();
    const status = page.locator('.actions [role=status]');
    await expect
      .poll(() => status.textContent())
      .toContain(`Retry asked: ${before.items.length} rejected profiles`);
    // Retried: the next sync of the same file sends exactly the rejected profiles again.
    const again = await fetch(`${service.url}/v1/runs`, {
      method: 'POST',
      headers: { ...bearer(write), 'content-type': 'text/csv' },
      body: uploadCsv(),
    });
    expect(again.status).toBe(202);
    const { id } = (await again.json()) as { id: string };
    const next = await waitFor('the next run to end', async () => {
      const run = await api<{
        finishedAt: string | null;
        destinations: { destination: string; sent: number }[];
      }>(`/v1/runs/${id}`);
      return run.finishedAt === null ? undefined : run;
    });
    for (const d of next.destinations)
      expect(d.sent, d.destination).toBe(before.items.filter((r) => r.destination === d.destination).length);
  });

  it('cancels a running sync with the Cancel button', async () => {
    const started = await fetch(`${service.url}/v1/runs`, {
      method: 'POST',
      headers: { ...bearer(write), 'content-type': 'text/csv' },
      body: toCsv(people(3000, 1000)),
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    await page.goto(`${service.url}/ui/#/runs/${id}`);
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await expect.poll(() => page.locator('.actions [role=status]').textContent()).toContain('Cancel asked');
    const ended = await waitFor(
      'the run to end canceled',
      async () => {
        const run = await api<{ status: string; finishedAt: string | null }>(`/v1/runs/${id}`);
        return run.finishedAt === null ? undefined : run;
      },
      60_000,
      200,
    );
    expect(ended.status).toBe('canceled');
    // The page follows: the run's badge says canceled and the Cancel button is gone.
    await page.locator('.title-row .badge[data-state="canceled"]').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
  });

  it('lists the runs with their trigger and a chart, and shows a profile', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runs' }).click();
    const link = page.locator(`a[data-run-id="${runId}"]`);
    await link.waitFor();
    const row = page.locator('table.runs tbody tr').filter({ has: link });
    expect(await row.locator('td').nth(2).textContent()).toBe('dashboard');
    await page.locator('.chart canvas').first().waitFor();
    // The notices so far can be dismissed (by keyboard too: they are buttons).
    const dismiss = page.getByRole('button', { name: 'Dismiss notice' });
    while ((await dismiss.count()) > 0) await dismiss.first().click();
    expect(await page.locator('.notice').count()).toBe(0);
    await shot('runs');

    await page.goto(`${service.url}/ui/#/profiles/p0241`);
    await page.getByRole('heading', { name: 'Profile p0241' }).waitFor();
    await page.locator('table tbody tr').first().waitFor();
    expect(await page.locator('table tbody tr').count()).toBe(2);
    await shot('profile');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${service.url}/ui/#/runs`);
    await page.locator('table.runs').waitFor();
    // Nothing wider than the phone's screen but the tables, which scroll inside their own box.
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await shot('runs-phone');
    await page.goto(`${service.url}/ui/#/runs/${runId}`);
    await page.locator('table.records').waitFor();
    await shot('run-detail-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('signs out, and a read-only token sees no write action (and its cookie cannot write)', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await browser.context.cookies()).toEqual([]);

    await signIn(read);
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    expect(await page.getByText('read only').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'New sync' }).count()).toBe(0);
    await page.goto(`${service.url}/ui/#/runs/${runId}`);
    await page.locator('table.records, .empty').first().waitFor();
    expect(await page.getByRole('button', { name: /Retry|Cancel/ }).count()).toBe(0);
    await page.goto(`${service.url}/ui/#/destinations`);
    await page.getByRole('heading', { name: 'sendgrid' }).waitFor();
    expect(await page.getByRole('button', { name: 'Test connection' }).count()).toBe(0);
    // The error state: a run that does not exist says so, with a way to try again.
    await page.goto(`${service.url}/ui/#/runs/run_that_never_was`);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('There is no run run_that_never_was');
    expect(await page.getByRole('button', { name: 'Try again' }).count()).toBe(1);
    await page.goto(`${service.url}/ui/#/destinations`);
    await page.getByRole('heading', { name: 'sendgrid' }).waitFor();
    await shot('destinations-read-only');
    // Even with the CSRF token, the read session's cookie cannot write.
    const status = await page.evaluate(async (id) => {
      const current = (await (await fetch('/v1/sessions/current')).json()) as {
        session: { csrfToken: string };
      };
      const response = await fetch(`/v1/runs/${id}/retry`, {
        method: 'POST',
        headers: { 'x-ferry-csrf': current.session.csrfToken },
      });
      return response.status;
    }, runId);
    expect(status).toBe(403);
  });

  it('used nothing but its own files and the routes of the OpenAPI document, with no script error or CSP refusal', async () => {
    const doc = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([template, methods]) =>
      Object.keys(methods).map((method) => ({
        method: method.toUpperCase(),
        pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      })),
    );
    expect(requests.length).toBeGreaterThan(20);
    const undocumented = requests.filter(
      ({ method, path }) =>
        path !== '/' &&
        !path.startsWith('/ui/') &&
        path !== '/openapi.json' &&
        !routes.some((route) => route.method === method && route.pattern.test(path)),
    );
    expect(undocumented).toEqual([]);
    expect(pageProblems).toEqual([]);
  });
});
