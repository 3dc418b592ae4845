import {
  createSourceContext,
  EXPORT_EXPIRED,
  type ExportHandle,
  type ExportPart,
  PermanentError,
} from '@ferry/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eloquaExport } from '../src/index.ts';
import { type EloquaSandbox, SANDBOX_AUTH, startEloquaSandbox } from './sandbox-support.ts';

/*
 * The Eloqua export source against the sandbox over HTTP: start → handle; check until ready; the
 * data read in pages of `pageSize`, with the sandbox counting the pages; a read resumed from a
 * checkpoint fetches only the rest; expired data is EXPORT_EXPIRED; cleanup deletes the definition.
 */

let sandbox: EloquaSandbox;
beforeAll(async () => {
  sandbox = await startEloquaSandbox({}, { startDelayMs: 50, recordsPerSecond: 100_000 });
});
afterAll(() => sandbox.close());

const seed = async (count: number) => {
  const contacts = Array.from({ length: count }, (_, i) => ({
    C_EmailAddress: `p${String(i).padStart(4, '0')}@example.com`,
    C_FirstName: `P${i}`,
    C_Country: i % 2 === 0 ? 'DE' : 'FR',
  }));
  const response = await fetch(`${sandbox.url}/__sandbox/contacts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(contacts),
  });
  expect(response.status).toBe(200);
};

const context = (options: Record<string, unknown> = {}) =>
  createSourceContext(eloquaExport, {
    label: 'source',
    options: {
      auth: SANDBOX_AUTH,
      loginUrl: sandbox.url,
      fields: { id: '{{Contact.Id}}', email: 'C_EmailAddress', first: 'C_FirstName' },
      pageSize: 100,
      ...options,
    },
    httpOverrides: { retries: 1, timeoutMs: 5000 },
  });

const ready = async (ctx: ReturnType<typeof context>, handle: ExportHandle) => {
  for (;;) {
    const status = await eloquaExport.check(ctx, handle);
    if (status.state !== 'pending') return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const readPart = async (
  ctx: ReturnType<typeof context>,
  handle: ExportHandle,
  part: ExportPart,
  checkpoint: unknown,
) => {
  const records: Record<string, unknown>[] = [];
  const checkpoints: unknown[] = [];
  for await (const page of eloquaExport.read(ctx, handle, part, checkpoint as never)) {
    records.push(...page.records);
    checkpoints.push(page.checkpoint);
  }
  return { records, checkpoints };
};

const dataPages = async () => (await sandbox.stats()).requests['eloqua.syncData'] ?? 0;

describe('eloqua export source', () => {
  beforeEach(() => sandbox.reset());

  it('exports every contact in pages, and a read from a checkpoint fetches only the rest', async () => {
    await seed(250);
    const ctx = context();
    const handle = await eloquaExport.start(ctx);
    expect(Object.keys(handle).sort()).toEqual(['base', 'definitionUri', 'syncUri']);
    expect(JSON.stringify(handle).length).toBeLessThan(300);
    const status = await ready(ctx, handle);
    expect(status).toMatchObject({ state: 'ready', total: 250 });
    if (status.state !== 'ready') throw new Error('not ready');
    expect(Date.parse(status.expiresAt ?? '')).toBeGreaterThan(Date.now() + 11 * 3_600_000);
    const [part] = status.parts;
    if (part === undefined) throw new Error('no part');
    const before = await dataPages();
    const all = await readPart(ctx, handle, part, null);
    expect(all.records).toHaveLength(250);
    expect(all.records[0]).toEqual({ id: '1', email: 'p0000@example.com', first: 'P0' });
    expect(all.checkpoints).toEqual([{ offset: 100 }, { offset: 200 }, { offset: 250 }]);
    expect((await dataPages()) - before).toBe(3);

    const rest = await readPart(ctx, handle, part, { offset: 200 });
    expect(rest.records.map((r) => r.email)).toEqual(all.records.slice(200).map((r) => r.email));
    expect((await dataPages()) - before).toBe(4);
  });

  it('honours the filter; an empty export is ready with no parts', async () => {
    await seed(10);
    const ctx = context({ filter: "'{{Contact.Field(C_Country)}}' = 'DE'" });
    const handle = await eloquaExport.start(ctx);
    const status = await ready(ctx, handle);
    if (status.state !== 'ready' || status.parts[0] === undefined) throw new Error('not ready');
    expect((await readPart(ctx, handle, status.parts[0], null)).records).toHaveLength(5);
    const none = context({ filter: "'{{Contact.Field(C_Country)}}' = 'XX'" });
    const empty = await ready(none, await eloquaExport.start(none));
    expect(empty).toMatchObject({ state: 'ready', total: 0, parts: [] });
  });

  it('reports expired data as EXPORT_EXPIRED, and cleanup deletes the definition', async () => {
    await seed(30);
    const ctx = context({ dataRetentionDuration: 'PT1H' });
    const handle = await eloquaExport.start(ctx);
    const status = await ready(ctx, handle);
    if (status.state !== 'ready' || status.parts[0] === undefined) throw new Error('not ready');
    await fetch(`${sandbox.url}/__sandbox/clock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ advanceMs: 3_600_000 }),
    });
    const failure = await readPart(ctx, handle, status.parts[0], { offset: 0 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as PermanentError).code).toBe(EXPORT_EXPIRED);
    expect(await eloquaExport.check(ctx, handle)).toMatchObject({ state: 'failed', code: EXPORT_EXPIRED });
    await eloquaExport.cleanup?.(ctx, handle);
    const definition = await fetch(`${sandbox.url}/api/bulk/2.0${String(handle.definitionUri)}`, {
      headers: {
        authorization: `Basic ${Buffer.from('FerrySandbox\\sandbox.user:sandbox-password').toString('base64')}`,
      },
    });
    expect(definition.status).toBe(404);
  });

  it('refuses bad options by key, and keeps the password out of errors', async () => {
    expect(() => context({ fields: {} })).toThrow(
      /\[source\] invalid options: fields: expected 1 to 250 fields/,
    );
    expect(() => context({ pageSize: 50_001 })).toThrow(/pageSize/);
    const wrong = context({ auth: { ...SANDBOX_AUTH, password: 'wrong-password-xyz' } });
    const failure = await eloquaExport.start(wrong).catch((e: unknown) => e);
    expect(String(failure)).toMatch(/\[ferry\] \[source\]/);
    expect(String(failure)).not.toContain('wrong-password-xyz');
  });
});
