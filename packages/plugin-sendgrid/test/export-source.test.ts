import { createSourceContext, EXPORT_EXPIRED, type ExportHandle, PermanentError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendgridExport } from '../src/index.ts';
import { LIST_NEWSLETTER, SANDBOX_KEY, type Sandbox, startSendgridSandbox } from './sandbox-support.ts';

/*
 * The SendGrid export source against the sandbox over HTTP: start → handle; check until ready
 * with one part per file; gzip'd NDJSON and CSV read to the same flat records; a read resumed from
 * a checkpoint downloads only that file again and gives only the rest; an expired file is
 * EXPORT_EXPIRED; the key stays out of errors.
 */

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSendgridSandbox(
    { exportMaxRowsPerFile: 5 },
    { startDelayMs: 50, recordsPerSecond: 100_000 },
  );
  const contacts = Array.from({ length: 12 }, (_, i) => ({
    email: `e${String(i).padStart(2, '0')}@example.com`,
    first_name: `E${i}`,
  }));
  const upsert = async (body: unknown) => {
    const response = await fetch(`${sandbox.url}/v3/marketing/contacts`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${SANDBOX_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(202);
  };
  await upsert({ contacts });
  await upsert({ list_ids: [LIST_NEWSLETTER], contacts: [{ email: 'e03@example.com' }] });
  for (;;) {
    const count = await sandbox.get<{ count: number }>('/__sandbox/contacts/count');
    const listed = await sandbox.get<{ count: number }>(
      `/__sandbox/contacts/count?list_id=${LIST_NEWSLETTER}`,
    );
    if (count.count === 12 && listed.count === 1) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});
afterAll(() => sandbox.close());

const context = (options: Record<string, unknown> = {}) =>
  createSourceContext(sendgridExport, {
    label: 'source',
    options: { apiKey: SANDBOX_KEY, baseUrl: sandbox.url, pageSize: 2, ...options },
    httpOverrides: { retries: 1, timeoutMs: 5000 },
  });

const ready = async (ctx: ReturnType<typeof context>, handle: ExportHandle) => {
  for (;;) {
    const status = await sendgridExport.check(ctx, handle);
    if (status.state !== 'pending') return status;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const readAll = async (
  ctx: ReturnType<typeof context>,
  handle: ExportHandle,
  parts: readonly { url?: unknown }[],
) => {
  const records: Record<string, unknown>[] = [];
  for (const part of parts)
    for await (const page of sendgridExport.read(ctx, handle, part as never, null))
      records.push(...page.records);
  return records;
};

const downloads = async () => (await sandbox.stats()).requests['sendgrid.exportFile'] ?? 0;

describe('sendgrid export source', () => {
  for (const fileType of ['json', 'csv'] as const) {
    it(`reads every contact from the ${fileType} files, one part per file`, async () => {
      const ctx = context({ fileType });
      const handle = await sendgridExport.start(ctx);
      const status = await ready(ctx, handle);
      if (status.state !== 'ready') throw new Error(`not ready: ${JSON.stringify(status)}`);
      expect(status.parts).toHaveLength(3);
      expect(status.total).toBe(12);
      const records = await readAll(ctx, handle, status.parts);
      expect(records.map((r) => r.email)).toEqual(
        Array.from({ length: 12 }, (_, i) => `e${String(i).padStart(2, '0')}@example.com`),
      );
      expect(records[0]).toMatchObject({
        email: 'e00@example.com',
        first_name: 'E0',
        contact_id: expect.any(String),
      });
    });
  }

  it('exports a list; a read from a checkpoint downloads that file again and gives only the rest', async () => {
    const listed = context({ listIds: [LIST_NEWSLETTER] });
    const listHandle = await sendgridExport.start(listed);
    const listStatus = await ready(listed, listHandle);
    if (listStatus.state !== 'ready') throw new Error('not ready');
    expect((await readAll(listed, listHandle, listStatus.parts)).map((r) => r.email)).toEqual([
      'e03@example.com',
    ]);

    const ctx = context();
    const handle = await sendgridExport.start(ctx);
    const status = await ready(ctx, handle);
    if (status.state !== 'ready' || status.parts[0] === undefined) throw new Error('not ready');
    const pages: { records: number; checkpoint: unknown }[] = [];
    for await (const page of sendgridExport.read(ctx, handle, status.parts[0], null))
      pages.push({ records: page.records.length, checkpoint: page.checkpoint });
    expect(pages).toEqual([
      { records: 2, checkpoint: { records: 2 } },
      { records: 2, checkpoint: { records: 4 } },
      { records: 1, checkpoint: { records: 5 } },
    ]);
    const before = await downloads();
    const rest: unknown[] = [];
    for await (const page of sendgridExport.read(ctx, handle, status.parts[0], { records: 4 }))
      rest.push(...page.records.map((r) => r.email));
    expect(rest).toEqual(['e04@example.com']);
    expect((await downloads()) - before).toBe(1);
  });

  it('reports an expired file as EXPORT_EXPIRED and keeps the key out of errors', async () => {
    const ctx = context();
    const handle = await sendgridExport.start(ctx);
    const status = await ready(ctx, handle);
    if (status.state !== 'ready' || status.parts[0] === undefined) throw new Error('not ready');
    await fetch(`${sandbox.url}/__sandbox/exports/${String(handle.exportId)}/expire`, { method: 'POST' });
    const failure = await readAll(ctx, handle, status.parts).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as PermanentError).code).toBe(EXPORT_EXPIRED);
    expect(await sendgridExport.check(ctx, { exportId: 'no-such-export' })).toMatchObject({
      code: EXPORT_EXPIRED,
    });

    const wrong = context({ apiKey: 'SG.wrong-key-123456' });
    const denied = await sendgridExport.start(wrong).catch((e: unknown) => e);
    expect(String(denied)).toMatch(/^AuthError: \[ferry\] \[source\]/);
    expect(String(denied)).not.toContain('SG.wrong-key-123456');
    expect(() => context({ listIds: ['not-a-uuid'] })).toThrow(/listIds\.0: expected a list id/);
  });
});
