import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eloquaTime } from '../src/eloqua/wire.ts';
import { csv, type EloquaHarness, FIELDS, startEloqua, USER } from './eloqua-support.ts';

/** A clock that never moves: everything created in a test shares one timestamp. */
const FROZEN_MS = Date.parse('2024-05-06T07:08:09.123Z');

describe('eloqua contact lists (GET /contacts/lists, /contacts/lists/{id})', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua({ clock: () => FROZEN_MS });
  });
  beforeEach(async () => {
    await eloqua.call('POST', '/__sandbox/reset');
  });
  afterAll(() => eloqua.close());

  const listA = {
    name: 'Ferry Sandbox List A',
    count: 0,
    statement: '{{ContactList[1001]}}',
    uri: '/contacts/lists/1001',
    createdAt: eloquaTime(FROZEN_MS),
    createdBy: USER,
    updatedAt: eloquaTime(FROZEN_MS),
    updatedBy: USER,
  };

  it('lists the instance lists in the collection envelope, with statement and uri', async () => {
    const reply = await eloqua.api('GET', '/contacts/lists');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toContain('application/json');
    expect(reply.body).toEqual({
      items: [
        listA,
        {
          ...listA,
          name: 'Ferry Sandbox List B',
          statement: '{{ContactList[1002]}}',
          uri: '/contacts/lists/1002',
        },
      ],
      totalResults: 2,
      limit: 1000,
      offset: 0,
      count: 2,
      hasMore: false,
    });
    // Both casings of the Bulk base, like every other route.
    expect((await eloqua.call('GET', '/API/Bulk/2.0/contacts/lists')).body.totalResults).toBe(2);
  });

  it('pages, filters with q and orders with orderBy like the other collections', async () => {
    await eloqua.call('POST', '/__sandbox/lists', { json: { id: 2001, name: 'Webinar attendees' } });
    const page = await eloqua.api('GET', '/contacts/lists?limit=2&offset=1');
    expect(page.body).toMatchObject({ totalResults: 3, limit: 2, offset: 1, count: 2, hasMore: false });
    expect(page.body.items.map((list: { uri: string }) => list.uri)).toEqual([
      '/contacts/lists/1002',
      '/contacts/lists/2001',
    ]);
    const first = await eloqua.api('GET', '/contacts/lists?limit=1&totalResults=false');
    expect(first.body.totalResults).toBeUndefined();
    expect(first.body.hasMore).toBe(true);
    const found = await eloqua.api('GET', `/contacts/lists?q=${encodeURIComponent('"name=*webinar*"')}`);
    expect(found.body.items).toEqual([
      expect.objectContaining({ name: 'Webinar attendees', statement: '{{ContactList[2001]}}' }),
    ]);
    const ordered = await eloqua.api('GET', `/contacts/lists?orderBy=${encodeURIComponent('name DESC')}`);
    expect(ordered.body.items.map((list: { name: string }) => list.name)).toEqual([
      'Webinar attendees',
      'Ferry Sandbox List B',
      'Ferry Sandbox List A',
    ]);
    expect((await eloqua.api('GET', '/contacts/lists?limit=0')).status).toBe(400);
  });

  it('returns one list by id with its member count, 404 otherwise', async () => {
    expect((await eloqua.api('GET', '/contacts/lists/1001')).body).toEqual(listA);
    const definition = await eloqua.define({
      syncActions: [{ action: 'add', destination: '{{ContactList[1002]}}' }],
    });
    await eloqua.upload(
      definition.uri,
      csv(
        ['C_EmailAddress', 'C_FirstName', 'C_LastName'],
        [
          ['m1@example.com', 'A', 'B'],
          ['m2@example.com', 'C', 'D'],
        ],
      ),
    );
    await eloqua.settle((await eloqua.sync(definition.uri)).uri);
    expect((await eloqua.api('GET', '/contacts/lists/1002')).body).toMatchObject({
      name: 'Ferry Sandbox List B',
      count: 2,
      statement: '{{ContactList[1002]}}',
    });
    for (const id of ['4242', 'abc', '0']) {
      const missing = await eloqua.api('GET', `/contacts/lists/${id}`);
      expect(missing.status, id).toBe(404);
      expect(missing.text).toBe('The requested resource was not found.');
    }
    // A list made at run time is there at once, and its statement works in sync actions.
    await eloqua.call('POST', '/__sandbox/lists', { json: { id: 3001, name: 'Late list' } });
    expect((await eloqua.api('GET', '/contacts/lists/3001')).body.statement).toBe('{{ContactList[3001]}}');
    const withLate = await eloqua.api('POST', '/contacts/imports', {
      json: {
        name: 'late',
        fields: { C_EmailAddress: FIELDS.email },
        identifierFieldName: 'C_EmailAddress',
        syncActions: [{ action: 'add', destination: '{{ContactList[3001]}}' }],
      },
    });
    expect(withLate.status).toBe(201);
  });

  it('requires credentials, takes faults by its endpoint ids, and counts calls', async () => {
    expect((await eloqua.api('GET', '/contacts/lists', { auth: false })).status).toBe(401);
    expect((await eloqua.api('GET', '/contacts/lists/1001', { auth: false })).status).toBe(401);
    await eloqua.call('PUT', '/__sandbox/faults', {
      json: {
        faults: [
          { endpoint: 'eloqua.lists', kind: 'unavailable', count: 1 },
          { endpoint: 'eloqua.list', kind: 'server_error', count: 1 },
        ],
      },
    });
    expect((await eloqua.api('GET', '/contacts/lists')).status).toBe(503);
    expect((await eloqua.api('GET', '/contacts/lists/1001')).status).toBe(500);
    expect((await eloqua.api('GET', '/contacts/lists')).status).toBe(200);
    expect((await eloqua.api('GET', '/contacts/lists/1001')).status).toBe(200);
    const stats = (await eloqua.call('GET', '/__sandbox/stats')).body;
    // The 401, the faulted and the answered call each.
    expect(stats.requests).toMatchObject({ 'eloqua.lists': 3, 'eloqua.list': 3 });
  });
});

describe('eloqua orderBy with equal values', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua({ clock: () => FROZEN_MS });
  });
  afterAll(() => eloqua.close());

  const uris = async (path: string, orderBy: string, page = ''): Promise<string[]> =>
    (await eloqua.api('GET', `${path}?orderBy=${encodeURIComponent(orderBy)}${page}`)).body.items.map(
      (item: { uri: string }) => item.uri,
    );

  it('orders ties by id: ascending for ASC, descending for DESC, stable across pages', async () => {
    const definitions = [];
    for (let n = 0; n < 3; n += 1) definitions.push(await eloqua.define({ name: `tie ${n}` }));
    const createdAt = new Set(definitions.map((definition) => definition.createdAt));
    expect(createdAt.size).toBe(1);

    expect(await uris('/contacts/imports', 'createdAt ASC')).toEqual([
      '/contacts/imports/1',
      '/contacts/imports/2',
      '/contacts/imports/3',
    ]);
    expect(await uris('/contacts/imports', 'createdAt DESC')).toEqual([
      '/contacts/imports/3',
      '/contacts/imports/2',
      '/contacts/imports/1',
    ]);
    expect(await uris('/contacts/imports', 'createdAt DESC', '&limit=1&offset=1')).toEqual([
      '/contacts/imports/2',
    ]);

    for (const definition of definitions) {
      await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['tie@example.com']]));
      await eloqua.sync(definition.uri);
    }
    expect(await uris('/syncs', 'createdAt DESC')).toEqual(['/syncs/3', '/syncs/2', '/syncs/1']);
    expect(await uris('/syncs', 'createdAt ASC')).toEqual(['/syncs/1', '/syncs/2', '/syncs/3']);
    // Seeded lists share their creation time too.
    expect(await uris('/contacts/lists', 'createdAt DESC')).toEqual([
      '/contacts/lists/1002',
      '/contacts/lists/1001',
    ]);
    // Fields: every stock field has the same date; DESC walks the ids down.
    const fields = await uris('/contacts/fields', 'createdAt DESC', '&limit=2');
    expect(fields).toEqual(['/contacts/fields/100203', '/contacts/fields/100202']);
  });
});
