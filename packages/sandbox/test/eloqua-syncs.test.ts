import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { csv, type EloquaHarness, FIELDS, sleep, startEloqua, startReceiver } from './eloqua-support.ts';

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;

describe('eloqua sync timetable', () => {
  let eloqua: EloquaHarness;
  let now = Date.UTC(2025, 0, 1);
  beforeAll(async () => {
    eloqua = await startEloqua({ startDelayMs: 300, recordsPerSecond: 10, clock: () => now });
  });
  afterAll(() => eloqua.close());

  it('goes pending → active → success on the configured timetable, applying rows at the end', async () => {
    const definition = await eloqua.define();
    const rows = Array.from({ length: 5 }, (_, i) => [`t${i}@example.com`, `T${i}`, 'Time']);
    await eloqua.upload(definition.uri, csv(['C_EmailAddress', 'C_FirstName', 'C_LastName'], rows));
    const created = await eloqua.sync(definition.uri);
    expect(created).toEqual({
      syncedInstanceUri: definition.uri,
      status: 'pending',
      createdAt: '2025-01-01T00:00:00.0000000Z',
      createdBy: 'sandbox.user',
      uri: '/syncs/1',
    });

    now += 299;
    expect((await eloqua.api('GET', created.uri)).body.status).toBe('pending');
    now += 1;
    const active = (await eloqua.api('GET', created.uri)).body;
    expect(active).toMatchObject({ status: 'active', syncStartedAt: '2025-01-01T00:00:00.3000000Z' });
    expect(active.syncEndedAt).toBeUndefined();
    // 5 rows at 10 rows/s: 500 ms of processing; nothing is visible before the end.
    now += 499;
    expect((await eloqua.api('GET', created.uri)).body.status).toBe('active');
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
    expect((await eloqua.api('GET', `${created.uri}/rejects`)).body).toMatchObject({
      items: [],
      totalResults: 0,
    });
    now += 1;
    // Any read settles a due sync, the contacts inspection included.
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(5);
    expect((await eloqua.api('GET', created.uri)).body).toEqual({
      syncedInstanceUri: definition.uri,
      syncStartedAt: '2025-01-01T00:00:00.3000000Z',
      syncEndedAt: '2025-01-01T00:00:00.8000000Z',
      status: 'success',
      createdAt: '2025-01-01T00:00:00.0000000Z',
      createdBy: 'sandbox.user',
      uri: '/syncs/1',
    });
  });

  it('ends a sync in error when its definition is deleted before it runs', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['gone@example.com']]));
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.api('DELETE', definition.uri)).status).toBe(204);
    now += 10_000;
    expect((await eloqua.api('GET', sync.uri)).body.status).toBe('error');
    const logs = (await eloqua.api('GET', `${sync.uri}/logs`)).body.items;
    expect(logs.map((l: { statusCode: string }) => l.statusCode)).toEqual(['ELQ-00122', 'ELQ-00101']);
    expect(logs[0]).toMatchObject({ severity: 'error', count: 1, syncUri: sync.uri });
    expect((await eloqua.call('GET', '/__sandbox/contacts?email=gone@example.com')).status).toBe(404);
  });
});

describe('eloqua syncs', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  beforeEach(async () => {
    await eloqua.call('POST', '/__sandbox/reset');
  });
  afterAll(() => eloqua.close());

  const header = ['C_EmailAddress', 'C_FirstName', 'C_LastName'];
  const contact = async (email: string) =>
    (await eloqua.call('GET', `/__sandbox/contacts?email=${encodeURIComponent(email)}`)).body;

  it('validates sync creation: definition uri, contact imports only, callbackUrl', async () => {
    const definition = await eloqua.define();
    const failures = async (body: unknown) => {
      const reply = await eloqua.api('POST', '/syncs', { json: body });
      expect(reply.status).toBe(400);
      return reply.body.failures;
    };
    expect(await failures({})).toEqual([
      { field: 'syncedInstanceUri', constraint: 'Must be the uri of an import definition.' },
    ]);
    expect(await failures({ syncedInstanceUri: '/contacts/imports/99' })).toEqual([
      {
        field: 'syncedInstanceUri',
        value: '/contacts/imports/99',
        constraint: 'Must reference an existing import definition.',
      },
    ]);
    expect((await failures({ syncedInstanceUri: '/contacts/exports/1' }))[0].field).toBe('syncedInstanceUri');
    expect(await failures({ syncedInstanceUri: definition.uri, callbackUrl: 'ftp://x' })).toEqual([
      { field: 'callbackUrl', value: 'ftp://x', constraint: 'Must be an absolute http(s) URL.' },
    ]);
    expect((await eloqua.api('GET', '/syncs/99')).status).toBe(404);
    expect((await eloqua.api('GET', '/syncs/99/rejects')).status).toBe(404);
    expect((await eloqua.api('GET', '/syncs/99/logs')).status).toBe(404);
  });

  it('warns when some rows are rejected; recordIndex runs across uploads in upload order', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(
      definition.uri,
      csv(header, [
        ['a@example.com', 'A', 'One'],
        ['not-an-email', 'B', 'Two'],
      ]),
    );
    await eloqua.upload(definition.uri, [
      { C_EmailAddress: 'c@example.com', C_FirstName: 'C' },
      { C_EmailAddress: 'd@@example.com', C_FirstName: 'D' },
      { C_EmailAddress: 'e@example.com' },
    ]);
    await eloqua.upload(
      definition.uri,
      csv(header, [
        ['f@example', 'F', 'Six'],
        ['g@example.com', 'G', 'Seven'],
      ]),
    );
    const sync = await eloqua.sync(definition.uri);
    const done = await eloqua.settle(sync.uri);
    expect(done.status).toBe('warning');
    expect(done.syncEndedAt).toMatch(TIME);

    const rejects = await eloqua.api('GET', `${sync.uri}/rejects`);
    expect(rejects.body).toEqual({
      items: [
        {
          fieldValues: { C_EmailAddress: 'not-an-email', C_FirstName: 'B', C_LastName: 'Two' },
          message: 'Invalid email address.',
          statusCode: 'ELQ-00002',
          recordIndex: 2,
          invalidFields: ['C_EmailAddress'],
        },
        {
          fieldValues: { C_EmailAddress: 'd@@example.com', C_FirstName: 'D' },
          message: 'Invalid email address.',
          statusCode: 'ELQ-00002',
          recordIndex: 4,
          invalidFields: ['C_EmailAddress'],
        },
        {
          fieldValues: { C_EmailAddress: 'f@example', C_FirstName: 'F', C_LastName: 'Six' },
          message: 'Invalid email address.',
          statusCode: 'ELQ-00002',
          recordIndex: 6,
          invalidFields: ['C_EmailAddress'],
        },
      ],
      totalResults: 3,
      limit: 1000,
      offset: 0,
      count: 3,
      hasMore: false,
    });
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(4);

    const logs = (await eloqua.api('GET', `${sync.uri}/logs`)).body;
    expect(logs.items.map((l: { statusCode: string; count: number }) => [l.statusCode, l.count])).toEqual([
      ['ELQ-00001', 7],
      ['ELQ-00004', 4],
      ['ELQ-00002', 3],
      ['ELQ-00060', 3],
      ['ELQ-00101', 0],
    ]);
    expect(logs.items.at(-1)).toEqual({
      syncUri: sync.uri,
      count: 0,
      severity: 'information',
      statusCode: 'ELQ-00101',
      message: 'Sync processed for sync 1, resulting in warning status.',
      createdAt: done.syncEndedAt,
    });
  });

  it('pages rejects past 1000 (limit ≤ 1000 enforced) in recordIndex order', async () => {
    const definition = await eloqua.define();
    const rows = Array.from({ length: 2500 }, (_, i) => [
      i % 25 === 0 ? `ok${i}@example.com` : `bad${i}`,
      'X',
      'Y',
    ]);
    await eloqua.upload(definition.uri, csv(header, rows.slice(0, 1200)));
    await eloqua.upload(definition.uri, csv(header, rows.slice(1200)));
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');

    const first = (await eloqua.api('GET', `${sync.uri}/rejects`)).body;
    expect(first).toMatchObject({ totalResults: 2400, limit: 1000, offset: 0, count: 1000, hasMore: true });
    const indexes: number[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = (await eloqua.api('GET', `${sync.uri}/rejects?limit=1000&offset=${offset}`)).body;
      indexes.push(...page.items.map((r: { recordIndex: number }) => r.recordIndex));
      if (!page.hasMore) {
        expect(page).toMatchObject({ offset: 2000, count: 400 });
        break;
      }
    }
    expect(indexes).toEqual(rows.flatMap((_, i) => (i % 25 === 0 ? [] : [i + 1])));
    const over = await eloqua.api('GET', `${sync.uri}/rejects?limit=1001`);
    expect(over.status).toBe(400);
    expect(over.body.failures[0].field).toBe('limit');
    expect((await eloqua.api('GET', `${sync.uri}/logs?limit=1001`)).status).toBe(400);
    const small = (await eloqua.api('GET', `${sync.uri}/rejects?limit=1&offset=2399&totalResults=false`))
      .body;
    expect(small).toEqual({
      items: [expect.objectContaining({ recordIndex: 2500 })],
      limit: 1,
      offset: 2399,
      count: 1,
      hasMore: false,
    });
  });

  it('ends in error, with logs, when every row is rejected or there is no data', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(
      definition.uri,
      csv(header, [
        ['x', 'A', 'B'],
        ['', 'C', 'D'],
        [',,', '', ''],
      ]),
    );
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('error');
    const logs = (await eloqua.api('GET', `${sync.uri}/logs`)).body.items;
    expect(logs.at(-1)).toMatchObject({
      severity: 'error',
      statusCode: 'ELQ-00101',
      message: 'Sync processed for sync 1, resulting in error status.',
    });
    expect(logs.find((l: { statusCode: string }) => l.statusCode === 'ELQ-00060').count).toBe(3);
    const rejects = (await eloqua.api('GET', `${sync.uri}/rejects`)).body.items;
    expect(rejects.map((r: { statusCode: string }) => r.statusCode)).toEqual([
      'ELQ-00002',
      'ELQ-00061',
      'ELQ-00002',
    ]);

    const empty = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(empty.uri)).status).toBe('error');
    const emptyLogs = (await eloqua.api('GET', `${empty.uri}/logs`)).body.items;
    expect(emptyLogs.map((l: { statusCode: string }) => l.statusCode)).toEqual([
      'ELQ-00001',
      'ELQ-00124',
      'ELQ-00101',
    ]);
  });

  it('rejects malformed, empty and identifier-less rows with their own codes', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(
      definition.uri,
      'C_EmailAddress,C_FirstName,C_LastName\r\nm@example.com,too,many,columns\r\n,,\r\n,NoEmail,X\r\nok@example.com,Ok,Fine\r\n',
    );
    await eloqua.upload(definition.uri, [
      { C_EmailAddress: 'n@example.com', C_FirstName: { nested: true } },
      42,
      {},
    ]);
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');
    const rejects = (await eloqua.api('GET', `${sync.uri}/rejects`)).body.items;
    expect(
      rejects.map((r: { recordIndex: number; statusCode: string }) => [r.recordIndex, r.statusCode]),
    ).toEqual([
      [1, 'ELQ-00032'],
      [2, 'ELQ-00059'],
      [3, 'ELQ-00061'],
      [5, 'ELQ-00032'],
      [6, 'ELQ-00032'],
      [7, 'ELQ-00059'],
    ]);
    expect(rejects[0].fieldValues).toEqual({
      C_EmailAddress: 'm@example.com',
      C_FirstName: 'too',
      C_LastName: 'many',
    });
    expect(rejects[2].invalidFields).toEqual(['C_EmailAddress']);
  });

  it('imports the first of duplicate identifiers in a sync and rejects the rest (case-insensitive)', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(
      definition.uri,
      csv(header, [
        ['dup@example.com', 'First', 'A'],
        ['DUP@example.com', 'Second', 'B'],
      ]),
    );
    await eloqua.upload(definition.uri, [{ C_EmailAddress: 'dup@example.com', C_FirstName: 'Third' }]);
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');
    const rejects = (await eloqua.api('GET', `${sync.uri}/rejects`)).body.items;
    expect(rejects).toEqual([
      expect.objectContaining({
        recordIndex: 2,
        statusCode: 'ELQ-00011',
        message: 'Duplicate email address.',
      }),
      expect.objectContaining({ recordIndex: 3, statusCode: 'ELQ-00011', invalidFields: ['C_EmailAddress'] }),
    ]);
    expect((await contact('dup@example.com')).fields.C_FirstName).toBe('First');
    const logs = (await eloqua.api('GET', `${sync.uri}/logs`)).body.items;
    expect(logs.find((l: { statusCode: string }) => l.statusCode === 'ELQ-00003').count).toBe(1);
    // A later sync updates the contact: duplicates are per sync.
    await eloqua.upload(definition.uri, csv(header, [['Dup@Example.com', 'Later', 'C']]));
    const next = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(next.uri)).status).toBe('success');
    expect((await contact('dup@example.com')).fields).toMatchObject({
      C_FirstName: 'Later',
      C_EmailAddress: 'Dup@Example.com',
    });
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(1);
  });

  it('holds 100 characters of small text; over that the field is dropped (ELQ-00040) and the rest imported', async () => {
    const definition = await eloqua.define({
      fields: { C_EmailAddress: FIELDS.email, C_Title: FIELDS.title, Employees: FIELDS.employees },
    });
    await eloqua.upload(
      definition.uri,
      csv(
        ['C_EmailAddress', 'C_Title', 'Employees'],
        [
          ['max@example.com', 't'.repeat(100), '12'],
          ['over@example.com', 't'.repeat(101), 'lots'],
        ],
      ),
    );
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');
    expect((await contact('max@example.com')).fields).toMatchObject({
      C_Title: 't'.repeat(100),
      C_Number_of_Employees1: '12',
    });
    const over = await contact('over@example.com');
    expect(over.fields.C_Title).toBeUndefined();
    expect(over.fields.C_Number_of_Employees1).toBeUndefined();
    const rejects = (await eloqua.api('GET', `${sync.uri}/rejects`)).body.items;
    expect(rejects).toEqual([
      expect.objectContaining({
        recordIndex: 2,
        statusCode: 'ELQ-00040',
        invalidFields: ['C_Title', 'Employees'],
      }),
    ]);
  });

  it('rejects the whole record instead with invalidFieldPolicy "rejectRecord"', async () => {
    const strict = await startEloqua({ invalidFieldPolicy: 'rejectRecord' });
    try {
      const definition = await strict.define({
        fields: { C_EmailAddress: FIELDS.email, C_Title: FIELDS.title },
      });
      await strict.upload(
        definition.uri,
        csv(['C_EmailAddress', 'C_Title'], [['over@example.com', 't'.repeat(101)]]),
      );
      const sync = await strict.sync(definition.uri);
      expect((await strict.settle(sync.uri)).status).toBe('error');
      expect((await strict.call('GET', '/__sandbox/contacts/count')).body.count).toBe(0);
      const [reject] = (await strict.api('GET', `${sync.uri}/rejects`)).body.items;
      expect(reject).toMatchObject({ statusCode: 'ELQ-00040', invalidFields: ['C_Title'] });
      expect(reject.message).toContain('100 characters');
    } finally {
      await strict.close();
    }
  });

  it('adds to and removes from contact lists, and records setStatus actions', async () => {
    const seed = await eloqua.define({
      syncActions: [{ action: 'add', destination: '{{ContactList[1002]}}' }],
    });
    await eloqua.upload(
      seed.uri,
      csv(header, [
        ['l1@example.com', 'A', 'B'],
        ['l2@example.com', 'C', 'D'],
      ]),
    );
    await eloqua.settle((await eloqua.sync(seed.uri)).uri);
    expect((await eloqua.call('GET', '/__sandbox/lists/1002')).body.memberCount).toBe(2);

    const move = await eloqua.define({
      syncActions: [
        { action: 'remove', destination: '{{ContactList[1002]}}' },
        { action: 'add', destination: '{{ContactList[1001]}}' },
        { action: 'setStatus', destination: '{{GlobalSubscribe}}', status: 'unsubscribed' },
      ],
    });
    await eloqua.upload(
      move.uri,
      csv(header, [
        ['l1@example.com', 'A', 'B'],
        ['bad', 'x', 'y'],
      ]),
    );
    await eloqua.settle((await eloqua.sync(move.uri)).uri);
    const listA = (await eloqua.call('GET', '/__sandbox/lists/1001')).body;
    expect(listA).toMatchObject({
      id: 1001,
      memberCount: 1,
      members: [{ id: 1, emailAddress: 'l1@example.com' }],
    });
    expect((await eloqua.call('GET', '/__sandbox/lists/1002')).body.members).toEqual([
      { id: 2, emailAddress: 'l2@example.com' },
    ]);
    expect(await contact('l1@example.com')).toMatchObject({
      listIds: [1001],
      statuses: { '{{GlobalSubscribe}}': 'unsubscribed' },
    });
    const lists = (await eloqua.call('GET', '/__sandbox/lists')).body.lists;
    expect(lists).toEqual([
      { id: 1001, name: 'Ferry Sandbox List A', memberCount: 1 },
      { id: 1002, name: 'Ferry Sandbox List B', memberCount: 1 },
    ]);
  });

  it('creates lists through the inspection API; definitions may then target them', async () => {
    const created = await eloqua.call('POST', '/__sandbox/lists', {
      json: { id: 5000, name: 'Made in test' },
    });
    expect(created.status).toBe(201);
    expect(
      (await eloqua.call('POST', '/__sandbox/lists', { json: { id: 5000, name: 'again' } })).status,
    ).toBe(409);
    const definition = await eloqua.define({
      syncActions: [{ action: 'add', destination: '{{ContactList[5000]}}' }],
    });
    await eloqua.upload(definition.uri, csv(header, [['m@example.com', 'M', 'N']]));
    await eloqua.settle((await eloqua.sync(definition.uri)).uri);
    expect((await eloqua.call('GET', '/__sandbox/lists/5000')).body.memberCount).toBe(1);
    await eloqua.call('POST', '/__sandbox/reset');
    expect((await eloqua.call('GET', '/__sandbox/lists/5000')).status).toBe(404);
  });

  it('honours updateRule, per field with useFieldRule', async () => {
    await eloqua.call('POST', '/__sandbox/contacts', {
      json: [{ C_EmailAddress: 'r@example.com', C_FirstName: 'Old', C_LastName: '', C_Title: 'Boss' }],
    });
    const run = async (overrides: Record<string, unknown>, row: string[]) => {
      const definition = await eloqua.define({
        fields: {
          C_EmailAddress: FIELDS.email,
          C_FirstName: FIELDS.first,
          C_LastName: FIELDS.last,
          C_Title: FIELDS.title,
        },
        ...overrides,
      });
      await eloqua.upload(
        definition.uri,
        csv(['C_EmailAddress', 'C_FirstName', 'C_LastName', 'C_Title'], [row]),
      );
      expect((await eloqua.settle((await eloqua.sync(definition.uri)).uri)).status).toBe('success');
      return (await contact('r@example.com')).fields;
    };
    expect(await run({ updateRule: 'ifNewIsNotNull' }, ['r@example.com', '', 'Last', 'Chief'])).toMatchObject(
      {
        C_FirstName: 'Old',
        C_LastName: 'Last',
        C_Title: 'Chief',
      },
    );
    expect(
      await run({ updateRule: 'ifExistingIsNull' }, ['r@example.com', 'New', 'Other', '']),
    ).toMatchObject({
      C_FirstName: 'Old',
      C_LastName: 'Last',
      C_Title: 'Chief',
    });
    const fields = await run(
      { updateRule: 'useFieldRule', updateRuleByField: { C_FirstName: 'always', C_Title: 'ifNewIsNotNull' } },
      ['r@example.com', 'Newest', '', ''],
    );
    expect(fields).toMatchObject({ C_FirstName: 'Newest', C_Title: 'Chief' });
    expect(fields.C_LastName).toBeUndefined(); // C_LastName has no entry: `always`, so blank clears it
  });

  it('matches by {{Contact.Id}}: updates known ids, rejects unknown ones (ELQ-00034)', async () => {
    await eloqua.call('POST', '/__sandbox/contacts', {
      json: [{ C_EmailAddress: 'id@example.com', C_FirstName: 'Before' }],
    });
    const id = (await contact('id@example.com')).id;
    const definition = await eloqua.define({
      fields: { Id: '{{Contact.Id}}', C_FirstName: FIELDS.first },
      identifierFieldName: 'Id',
    });
    await eloqua.upload(
      definition.uri,
      csv(
        ['Id', 'C_FirstName'],
        [
          [String(id), 'After'],
          ['999', 'Nobody'],
        ],
      ),
    );
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');
    expect((await contact('id@example.com')).fields.C_FirstName).toBe('After');
    expect((await eloqua.api('GET', `${sync.uri}/rejects`)).body.items).toEqual([
      expect.objectContaining({ recordIndex: 2, statusCode: 'ELQ-00034', invalidFields: ['Id'] }),
    ]);
  });

  it('matches by another field: updates every match only when isUpdatingMultipleMatchedRecords', async () => {
    await eloqua.call('POST', '/__sandbox/contacts', {
      json: [
        { C_EmailAddress: 'p1@example.com', C_SFDCContactID: 'CRM-1' },
        { C_EmailAddress: 'p2@example.com', C_SFDCContactID: 'CRM-1' },
        { C_EmailAddress: 'p3@example.com', C_SFDCContactID: 'CRM-3' },
      ],
    });
    const single = await eloqua.define({
      fields: { CrmId: FIELDS.crmId, C_EmailAddress: FIELDS.email, C_FirstName: FIELDS.first },
      identifierFieldName: 'CrmId',
    });
    await eloqua.upload(
      single.uri,
      csv(
        ['CrmId', 'C_EmailAddress', 'C_FirstName'],
        [
          ['crm-1', '', 'One'],
          ['CRM-3', 'p1@example.com', 'Taken'],
          ['CRM-9', 'p9@example.com', 'New'],
          ['CRM-10', '', 'NoEmail'],
          ['CRM-9', 'p10@example.com', 'Dup'],
        ],
      ),
    );
    const sync = await eloqua.sync(single.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('warning');
    expect((await contact('p1@example.com')).fields.C_FirstName).toBe('One');
    expect((await contact('p2@example.com')).fields.C_FirstName).toBeUndefined();
    expect((await contact('p9@example.com')).fields.C_SFDCContactID).toBe('CRM-9');
    expect(
      (await eloqua.api('GET', `${sync.uri}/rejects`)).body.items.map(
        (r: { statusCode: string }) => r.statusCode,
      ),
    ).toEqual(['ELQ-00048', 'ELQ-00061', 'ELQ-00026']);

    const multiple = await eloqua.define({
      fields: { CrmId: FIELDS.crmId, C_FirstName: FIELDS.first },
      identifierFieldName: 'CrmId',
      isUpdatingMultipleMatchedRecords: true,
    });
    await eloqua.upload(multiple.uri, csv(['CrmId', 'C_FirstName'], [['CRM-1', 'Both']]));
    await eloqua.settle((await eloqua.sync(multiple.uri)).uri);
    expect((await contact('p1@example.com')).fields.C_FirstName).toBe('Both');
    expect((await contact('p2@example.com')).fields.C_FirstName).toBe('Both');
  });

  it('lists syncs with q and orderBy', async () => {
    const definition = await eloqua.define();
    await eloqua.upload(definition.uri, csv(header, [['s@example.com', 'S', 'T']]));
    await eloqua.settle((await eloqua.sync(definition.uri)).uri);
    await eloqua.settle((await eloqua.sync(definition.uri)).uri);
    const all = (await eloqua.api('GET', '/syncs?orderBy=uri%20DESC')).body;
    expect(all.items.map((s: { uri: string }) => s.uri)).toEqual(['/syncs/2', '/syncs/1']);
    const errors = (await eloqua.api('GET', `/syncs?q=${encodeURIComponent('status=error')}`)).body;
    expect(errors).toMatchObject({ totalResults: 1, items: [{ uri: '/syncs/2', status: 'error' }] });
  });

  it('POSTs the finished sync to callbackUrl, and survives an unreachable one', async () => {
    const receiver = await startReceiver();
    try {
      const definition = await eloqua.define();
      await eloqua.upload(
        definition.uri,
        csv(header, [
          ['cb@example.com', 'C', 'B'],
          ['bad', 'x', 'y'],
        ]),
      );
      const sync = await eloqua.sync(definition.uri, receiver.url);
      expect(sync.callbackUrl).toBe(receiver.url);
      for (let i = 0; i < 200 && receiver.received.length === 0; i += 1) await sleep(10);
      expect(receiver.received).toHaveLength(1);
      const [call] = receiver.received;
      expect(call?.method).toBe('POST');
      expect(call?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(call?.body ?? '')).toEqual((await eloqua.api('GET', sync.uri)).body);
      expect(JSON.parse(call?.body ?? '').status).toBe('warning');

      await eloqua.upload(definition.uri, csv(header, [['cb2@example.com', 'C', 'B']]));
      const unreachable = await eloqua.sync(definition.uri, 'http://127.0.0.1:1/nothing-here');
      await eloqua.settle(unreachable.uri);
      let attempts: { syncUri: string; status?: number; error?: string }[] = [];
      for (let i = 0; i < 200 && attempts.length < 2; i += 1) {
        attempts = (await eloqua.call('GET', '/__sandbox/callbacks')).body.callbacks;
        await sleep(10);
      }
      expect(attempts).toEqual([
        expect.objectContaining({ syncUri: sync.uri, status: 200 }),
        expect.objectContaining({ syncUri: unreachable.uri, error: expect.any(String) }),
      ]);
      expect((await eloqua.api('GET', '/contacts/fields?limit=1')).status).toBe(200);
    } finally {
      await receiver.close();
    }
  });
});

describe('eloqua callbacks with real delays', () => {
  it('calls back without being polled once the timer fires', async () => {
    const eloqua = await startEloqua({ startDelayMs: 30, recordsPerSecond: 100 });
    const receiver = await startReceiver();
    try {
      const definition = await eloqua.define();
      await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['timer@example.com']]));
      const started = Date.now();
      const sync = await eloqua.sync(definition.uri, receiver.url);
      for (let i = 0; i < 300 && receiver.received.length === 0; i += 1) await sleep(10);
      expect(receiver.received).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      expect(JSON.parse(receiver.received[0]?.body ?? '')).toMatchObject({
        uri: sync.uri,
        status: 'success',
      });
    } finally {
      await receiver.close();
      await eloqua.close();
    }
  });
});
