import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FaultRule, parseFaultSpec } from '../src/faults.ts';
import { csv, type EloquaHarness, startEloqua } from './eloqua-support.ts';

describe('eloqua fault injection', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  beforeEach(async () => {
    await eloqua.call('POST', '/__sandbox/reset');
  });
  afterAll(() => eloqua.close());

  const setFaults = async (faults: FaultRule[]) => {
    const reply = await eloqua.call('PUT', '/__sandbox/faults', { json: { faults } });
    expect(reply.status, reply.text).toBe(200);
  };
  /** A finished sync with one rejected row, for the status/rejects/logs routes. */
  const finishedSync = async () => {
    const definition = await eloqua.define();
    await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['ok@example.com'], ['bad']]));
    const sync = await eloqua.sync(definition.uri);
    await eloqua.settle(sync.uri);
    return sync.uri as string;
  };

  it('rate_limit: 429 with no rate-limit headers at all (Oracle documents none)', async () => {
    await setFaults([{ endpoint: 'eloqua.fields', kind: 'rate_limit', count: 1, retryAfterSeconds: 7 }]);
    const limited = await eloqua.api('GET', '/contacts/fields');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.headers.get('x-ratelimit-limit')).toBeNull();
    expect(limited.text).toBe('Too Many Requests');
    expect((await eloqua.api('GET', '/contacts/fields')).status).toBe(200);
  });

  it('rate_limit: Retry-After only when asked to (retryAfterHeader)', async () => {
    const withHeader = await startEloqua({
      retryAfterHeader: true,
      faults: [{ endpoint: 'eloqua.fields', kind: 'rate_limit', count: 1, retryAfterSeconds: 7 }],
    });
    try {
      const limited = await withHeader.api('GET', '/contacts/fields');
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('7');
    } finally {
      await withHeader.close();
    }
  });

  it('server_error and unavailable: 500 / 503, and the request has no effect', async () => {
    await setFaults([
      { endpoint: 'eloqua.definitionCreate', kind: 'server_error', count: 1 },
      { endpoint: 'eloqua.upload', kind: 'unavailable', count: 1 },
    ]);
    const failed = await eloqua.api('POST', '/contacts/imports', {
      json: { name: 'x', fields: { E: '{{Contact.Field(C_EmailAddress)}}' }, identifierFieldName: 'E' },
    });
    expect(failed.status).toBe(500);
    expect(failed.text).toBe('The service has encountered an internal server error.');
    expect((await eloqua.api('GET', '/contacts/imports')).body.totalResults).toBe(0);

    const definition = await eloqua.define();
    const unavailable = await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['a@example.com']]));
    expect(unavailable.status).toBe(503);
    expect(unavailable.text).toBe('Service Unavailable');
    const defs = (await eloqua.call('GET', '/__sandbox/definitions')).body.definitions;
    expect(defs[0].stagedUploads).toBe(0);
    expect((await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['a@example.com']]))).status).toBe(
      204,
    );
  });

  it('reset: the connection drops before any response byte', async () => {
    const definition = await eloqua.define();
    await setFaults([{ endpoint: 'eloqua.syncCreate', kind: 'reset', count: 1 }]);
    await expect(
      eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } }),
    ).rejects.toThrow();
    expect((await eloqua.api('GET', '/syncs')).body.totalResults).toBe(0);
    expect((await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } })).status).toBe(
      201,
    );
    // The dropped request is logged (status 0) and counted, once, like any other.
    const { requests } = (await eloqua.call('GET', '/__sandbox/requests')).body;
    expect(
      requests
        .filter((entry: { endpoint: string }) => entry.endpoint === 'eloqua.syncCreate')
        .map((entry: { status: number; fault?: string }) => [entry.status, entry.fault]),
    ).toEqual([
      [0, 'reset'],
      [201, undefined],
    ]);
    const stats = (await eloqua.call('GET', '/__sandbox/stats')).body;
    expect(stats.requests['eloqua.syncCreate']).toBe(2);
    expect(stats.total).toBe(requests.length);
    expect(stats.faultsFired).toEqual({ 'eloqua.syncCreate reset': 1 });
  });

  it('slow: the response is held for delayMs', async () => {
    const uri = await finishedSync();
    await setFaults([{ endpoint: 'eloqua.syncStatus', kind: 'slow', delayMs: 250, count: 1 }]);
    const started = performance.now();
    const reply = await eloqua.api('GET', uri);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(reply.status).toBe(200);
    const log = (await eloqua.call('GET', '/__sandbox/requests')).body.requests;
    expect(log.at(-1)).toMatchObject({ endpoint: 'eloqua.syncStatus', status: 200, fault: 'slow' });
  });

  it('vanish on eloqua.syncStatus: the sync is forgotten for good (404 from then on)', async () => {
    const uri = await finishedSync();
    await setFaults([{ endpoint: 'eloqua.syncStatus', kind: 'vanish', count: 1 }]);
    expect((await eloqua.api('GET', uri)).status).toBe(404);
    expect((await eloqua.api('GET', uri)).status).toBe(404);
    expect((await eloqua.api('GET', `${uri}/rejects`)).status).toBe(404);
    expect((await eloqua.api('GET', `${uri}/logs`)).status).toBe(404);
    expect((await eloqua.api('GET', '/syncs')).body.totalResults).toBe(0);
    const stats = (await eloqua.call('GET', '/__sandbox/stats')).body;
    expect(stats.faultsFired).toEqual({ 'eloqua.syncStatus vanish': 1 });
    const log = (await eloqua.call('GET', '/__sandbox/requests')).body.requests;
    expect(log.find((entry: { fault?: string }) => entry.fault === 'vanish')).toMatchObject({
      endpoint: 'eloqua.syncStatus',
      status: 404,
    });
  });

  it('vanish on eloqua.rejects and eloqua.logs (after skip)', async () => {
    const uri = await finishedSync();
    await setFaults([{ endpoint: 'eloqua.rejects', kind: 'vanish', skip: 1 }]);
    expect((await eloqua.api('GET', `${uri}/rejects`)).status).toBe(200);
    expect((await eloqua.api('GET', `${uri}/rejects`)).status).toBe(404);
    expect((await eloqua.api('GET', uri)).status).toBe(404);

    const other = await finishedSync();
    await setFaults([{ endpoint: 'eloqua.logs', kind: 'vanish' }]);
    expect((await eloqua.api('GET', `${other}/logs`)).status).toBe(404);
    expect((await eloqua.api('GET', other)).status).toBe(404);
  });

  it('`*` and `eloqua.*` rules hit vendor routes, /id included, but never /__sandbox routes', async () => {
    await setFaults([{ endpoint: '*', kind: 'unavailable' }]);
    expect((await eloqua.call('GET', '/id')).status).toBe(503);
    expect((await eloqua.api('GET', '/syncs')).status).toBe(503);
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).status).toBe(200);
    expect((await eloqua.call('GET', '/__sandbox/stats')).status).toBe(200);
    expect((await eloqua.call('POST', '/__sandbox/reset')).status).toBe(200);
    await setFaults([{ endpoint: 'eloqua.*', kind: 'rate_limit' }]);
    expect((await eloqua.call('GET', '/id')).status).toBe(429);
    expect((await eloqua.api('GET', '/contacts/imports')).status).toBe(429);
    await setFaults([]);
    expect((await eloqua.call('GET', '/id')).status).toBe(200);
  });

  it('rejects malformed rules on PUT /__sandbox/faults', async () => {
    const reply = await eloqua.call('PUT', '/__sandbox/faults', {
      json: { faults: [{ endpoint: 'eloqua.id', kind: 'boom' }] },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error).toContain('kind');
  });
});

describe('eloqua faults from options and the CLI form', () => {
  it('applies rules given at start, with seeded, reproducible dice', async () => {
    const faults = [{ endpoint: 'eloqua.fields', kind: 'server_error', probability: 0.5 }] as const;
    const pattern = async (seed: number) => {
      const eloqua = await startEloqua({ faults, seed });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 20; i += 1)
          statuses.push((await eloqua.api('GET', '/contacts/fields?limit=1')).status);
        return statuses;
      } finally {
        await eloqua.close();
      }
    };
    const first = await pattern(7);
    expect(first).toContain(500);
    expect(first).toContain(200);
    expect(await pattern(7)).toEqual(first);
  });

  it('parses endpoint:kind[:probability[:count]] specs', () => {
    expect(parseFaultSpec('eloqua.syncStatus:vanish')).toEqual({
      endpoint: 'eloqua.syncStatus',
      kind: 'vanish',
    });
    expect(parseFaultSpec('eloqua.upload:rate_limit:0.25:3')).toEqual({
      endpoint: 'eloqua.upload',
      kind: 'rate_limit',
      probability: 0.25,
      count: 3,
    });
    expect(parseFaultSpec('eloqua.upload:explode')).toContain('kind');
  });
});
