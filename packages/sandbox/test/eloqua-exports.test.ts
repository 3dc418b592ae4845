import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EloquaHarness, FIELDS, startEloqua } from './eloqua-support.ts';

/*
 * Contact exports against the emulator over HTTP: definition (fields, filter, retention), export
 * sync, the sync's timetable, data pages (limit up to 50,000, hasMore, totalResults), expiry after
 * dataRetentionDuration, deletion, and the 400 an import sync's data gets.
 */

const HOUR = 3_600_000;

describe('eloqua contact exports', () => {
  let eloqua: EloquaHarness;
  let now = Date.UTC(2026, 0, 1);
  beforeAll(async () => {
    eloqua = await startEloqua({ startDelayMs: 100, recordsPerSecond: 1000, clock: () => now });
    const contacts = Array.from({ length: 120 }, (_, i) => ({
      C_EmailAddress: `x${String(i).padStart(3, '0')}@example.com`,
      C_FirstName: `First ${i}`,
      C_Country: i % 3 === 0 ? 'DE' : 'FR',
    }));
    expect((await eloqua.call('POST', '/__sandbox/contacts', { json: contacts })).body).toEqual({
      created: 120,
      updated: 0,
    });
  });
  afterAll(() => eloqua.close());

  const defineExport = async (overrides: Record<string, unknown> = {}) => {
    const reply = await eloqua.api('POST', '/contacts/exports', {
      json: {
        name: 'ferry export',
        fields: { id: '{{Contact.Id}}', email: FIELDS.email, first: FIELDS.first },
        ...overrides,
      },
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.body;
  };

  it('creates a definition with the documented default retention (PT12H) and validates its body', async () => {
    const definition = await defineExport();
    expect(definition).toMatchObject({
      name: 'ferry export',
      dataRetentionDuration: 'PT12H',
      uri: expect.stringMatching(/^\/contacts\/exports\/\d+$/),
    });
    const bad = await eloqua.api('POST', '/contacts/exports', {
      json: {
        name: 'bad',
        fields: { nope: '{{Contact.Field(C_Nope)}}' },
        dataRetentionDuration: 'P15D',
        filter: "'{{Contact.Field(C_Country)}}' LIKE 'DE'",
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.failures.map((f: { field: string }) => f.field).sort()).toEqual([
      'dataRetentionDuration',
      'fields.nope',
      'filter',
    ]);
    const tooMany = Object.fromEntries(Array.from({ length: 251 }, (_, i) => [`c${i}`, FIELDS.email]));
    expect(
      (await eloqua.api('POST', '/contacts/exports', { json: { name: 'x', fields: tooMany } })).status,
    ).toBe(400);
  });

  it('syncs: pending, then active, then success; data pages with hasMore/totalResults; expires after retention', async () => {
    const definition = await defineExport({ dataRetentionDuration: 'PT1H' });
    const created = await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'pending', syncedInstanceUri: definition.uri });
    const uri = created.body.uri as string;
    // Not ended yet: no data.
    expect((await eloqua.api('GET', `${uri}/data`)).body).toMatchObject({ items: [], totalResults: 0 });
    now += 100;
    expect((await eloqua.api('GET', uri)).body.status).toBe('active');
    now += 120; // 120 rows at 1000/s
    expect((await eloqua.api('GET', uri)).body).toMatchObject({ status: 'success' });
    expect((await eloqua.api('GET', `${uri}/logs`)).body.items).toEqual([
      expect.objectContaining({ statusCode: 'ELQ-00102', count: 120 }),
    ]);

    const first = (await eloqua.api('GET', `${uri}/data?limit=50&offset=0`)).body;
    expect(first).toMatchObject({ totalResults: 120, limit: 50, offset: 0, count: 50, hasMore: true });
    expect(first.items[0]).toEqual({ id: '1', email: 'x000@example.com', first: 'First 0' });
    const last = (await eloqua.api('GET', `${uri}/data?limit=50&offset=100`)).body;
    expect(last).toMatchObject({ count: 20, hasMore: false });
    expect(last.items.at(-1)).toEqual({ id: '120', email: 'x119@example.com', first: 'First 119' });
    // The default page is 1000 rows; the largest is 50,000.
    expect((await eloqua.api('GET', `${uri}/data`)).body).toMatchObject({ limit: 1000, count: 120 });
    expect((await eloqua.api('GET', `${uri}/data?limit=50000`)).status).toBe(200);
    const over = await eloqua.api('GET', `${uri}/data?limit=50001`);
    expect(over.status).toBe(400);
    expect(over.body.failures[0]).toMatchObject({ field: 'limit' });

    // The data stays for dataRetentionDuration after the sync ended, then is gone.
    now += HOUR - 1;
    expect((await eloqua.api('GET', `${uri}/data?limit=1`)).status).toBe(200);
    now += 1;
    expect((await eloqua.api('GET', `${uri}/data?limit=1`)).status).toBe(404);
    // The sync itself is still known.
    expect((await eloqua.api('GET', uri)).body.status).toBe('success');
  });

  it('filters with EML conditions, snapshots at sync creation, and drops data with its definition', async () => {
    const definition = await defineExport({ filter: "'{{Contact.Field(C_Country)}}' = 'DE'" });
    const sync = (await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } })).body;
    // A contact edited after the sync was created is exported as it was.
    await eloqua.call('POST', '/__sandbox/contacts', {
      json: [{ C_EmailAddress: 'x000@example.com', C_FirstName: 'Edited later' }],
    });
    now += 10_000;
    const data = (await eloqua.api('GET', `${sync.uri}/data?limit=1000`)).body;
    expect(data.totalResults).toBe(40);
    expect(data.items[0]).toEqual({ id: '1', email: 'x000@example.com', first: 'First 0' });
    expect((await eloqua.api('DELETE', `${definition.uri}/data`)).status).toBe(204);
    expect((await eloqua.api('GET', `${sync.uri}/data`)).status).toBe(404);
    expect((await eloqua.api('DELETE', definition.uri)).status).toBe(204);
    expect((await eloqua.api('GET', definition.uri)).status).toBe(404);
    const again = await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } });
    expect(again.status).toBe(400);
  });

  it('answers 400 for an import sync’s data and 404 for an unknown sync', async () => {
    const definition = await eloqua.define();
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.api('GET', `${sync.uri}/data`)).status).toBe(400);
    expect((await eloqua.api('GET', '/syncs/999999/data')).status).toBe(404);
  });

  it('deletes a contact through the inspection API (drift for tests)', async () => {
    expect((await eloqua.call('DELETE', '/__sandbox/contacts?email=x001@example.com')).status).toBe(204);
    expect((await eloqua.call('GET', '/__sandbox/contacts?email=x001@example.com')).status).toBe(404);
    expect((await eloqua.call('DELETE', '/__sandbox/contacts?email=x001@example.com')).status).toBe(404);
    const definition = await defineExport();
    const sync = (await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } })).body;
    now += 10_000;
    const data = (await eloqua.api('GET', `${sync.uri}/data?limit=1000`)).body;
    expect(data.totalResults).toBe(119);
    expect(data.items.map((item: { email: string }) => item.email)).not.toContain('x001@example.com');
  });
});
