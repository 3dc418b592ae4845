import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ContactFieldSpec, DEFAULT_CONTACT_FIELDS } from '../src/eloqua/server.ts';
import { csv, type EloquaHarness, FIELDS, startEloqua } from './eloqua-support.ts';

const HOUR = 3_600_000;

describe('eloqua contact fields', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  afterAll(() => eloqua.close());

  it('lists the default field set in the collection envelope', async () => {
    const reply = await eloqua.api('GET', '/contacts/fields');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      totalResults: DEFAULT_CONTACT_FIELDS.length,
      limit: 1000,
      offset: 0,
      count: DEFAULT_CONTACT_FIELDS.length,
      hasMore: false,
    });
    const email = reply.body.items.find((f: { internalName: string }) => f.internalName === 'C_EmailAddress');
    expect(email).toEqual({
      name: 'Email Address',
      internalName: 'C_EmailAddress',
      dataType: 'emailAddress',
      hasReadOnlyConstraint: false,
      hasNotNullConstraint: false,
      hasUniquenessConstraint: true,
      statement: '{{Contact.Field(C_EmailAddress)}}',
      uri: '/contacts/fields/100001',
      createdAt: '1900-01-01T05:00:00.0000000Z',
      updatedAt: '1900-01-01T05:00:00.0000000Z',
    });
    const created = reply.body.items.find(
      (f: { internalName: string }) => f.internalName === 'C_DateCreated',
    );
    expect(created).toMatchObject({ dataType: 'date', hasReadOnlyConstraint: true });
  });

  it('pages with limit and offset, and omits totalResults when asked', async () => {
    const page = await eloqua.api('GET', '/contacts/fields?limit=5&offset=5');
    expect(page.body).toMatchObject({ limit: 5, offset: 5, count: 5, hasMore: true });
    expect(page.body.items[0].internalName).toBe(DEFAULT_CONTACT_FIELDS[5]?.internalName);
    const last = await eloqua.api(
      'GET',
      `/contacts/fields?limit=5&offset=${DEFAULT_CONTACT_FIELDS.length - 2}`,
    );
    expect(last.body).toMatchObject({ count: 2, hasMore: false });
    const noTotal = await eloqua.api('GET', '/contacts/fields?limit=1&totalResults=false');
    expect(noTotal.body.totalResults).toBeUndefined();
    expect(noTotal.body.hasMore).toBe(true);
  });

  it('filters with q (wildcards, quotes) and orders with orderBy', async () => {
    const names = async (query: string) =>
      (await eloqua.api('GET', `/contacts/fields?${query}`)).body.items.map(
        (f: { internalName: string }) => f.internalName,
      );
    expect(await names(`q=${encodeURIComponent('"name=*Name*"')}`)).toEqual([
      'C_FirstName',
      'C_LastName',
      'C_EmailDisplayName',
    ]);
    expect(await names(`q=${encodeURIComponent("internalName='C_City'")}`)).toEqual(['C_City']);
    expect(await names(`q=${encodeURIComponent('dataType=date')}`)).toEqual([
      'C_DateCreated',
      'C_DateModified',
      'C_Last_Purchase_Date1',
    ]);
    const ordered = await names(`orderBy=${encodeURIComponent('internalName DESC')}&limit=2`);
    expect(ordered).toEqual(['C_Zip_Postal', 'C_Title']);
    expect((await eloqua.api('GET', '/contacts/fields?q=%3D%3D')).status).toBe(400);
  });

  it('enforces 1 ≤ limit ≤ 1000 and offset ≥ 0 with a failures body', async () => {
    expect((await eloqua.api('GET', '/contacts/fields?limit=1000')).status).toBe(200);
    for (const query of [
      'limit=1001',
      'limit=0',
      'limit=abc',
      'offset=-1',
      'offset=1.5',
      'totalResults=maybe',
    ]) {
      const reply = await eloqua.api('GET', `/contacts/fields?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.failures[0].field, query).toBe(query.split('=')[0]);
    }
  });

  it('returns one field by id, 404 otherwise', async () => {
    const reply = await eloqua.api('GET', '/contacts/fields/100002');
    expect(reply.body.internalName).toBe('C_FirstName');
    expect((await eloqua.api('GET', '/contacts/fields/1')).status).toBe(404);
    const notFound = await eloqua.api('GET', '/contacts/fields/abc');
    expect(notFound.status).toBe(404);
    expect(notFound.text).toBe('The requested resource was not found.');
  });
});

describe('eloqua import definitions', () => {
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua();
  });
  beforeEach(async () => {
    await eloqua.call('POST', '/__sandbox/reset');
  });
  afterAll(() => eloqua.close());

  it('creates a definition (201) with defaults filled in and optional settings echoed', async () => {
    const reply = await eloqua.api('POST', '/contacts/imports', {
      json: {
        name: 'Destination-Contact-Import',
        fields: { C_EmailAddress: FIELDS.email, C_FirstName: FIELDS.first, C_LastName: FIELDS.last },
        identifierFieldName: 'C_EmailAddress',
        autoDeleteDuration: 'P1D',
        syncActions: [{ action: 'add', destination: '{{ContactList[1001]}}' }],
        uri: '/contacts/imports/999', // read-only: ignored
      },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      name: 'Destination-Contact-Import',
      fields: { C_EmailAddress: FIELDS.email, C_FirstName: FIELDS.first, C_LastName: FIELDS.last },
      identifierFieldName: 'C_EmailAddress',
      isSyncTriggeredOnImport: false,
      dataRetentionDuration: 'P7D',
      autoDeleteDuration: 'P1D',
      syncActions: [{ action: 'add', destination: '{{ContactList[1001]}}' }],
      isUpdatingMultipleMatchedRecords: false,
      uri: '/contacts/imports/1',
      createdBy: 'sandbox.user',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/),
      updatedBy: 'sandbox.user',
      updatedAt: reply.body.createdAt,
    });
  });

  it('gets, lists (paged), updates and deletes definitions', async () => {
    const first = await eloqua.define({ name: 'first' });
    const second = await eloqua.define({ name: 'second' });
    expect((await eloqua.api('GET', first.uri)).body).toEqual(first);
    const list = await eloqua.api('GET', '/contacts/imports?limit=1&offset=1');
    expect(list.body).toMatchObject({ totalResults: 2, count: 1, hasMore: false, items: [second] });
    const byName = await eloqua.api('GET', `/contacts/imports?q=${encodeURIComponent("name='sec*'")}`);
    expect(byName.body.items.map((d: { name: string }) => d.name)).toEqual(['second']);

    const updated = await eloqua.api('PUT', first.uri, {
      json: { ...first, name: 'renamed', isSyncTriggeredOnImport: true, updateRule: 'ifNewIsNotNull' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      name: 'renamed',
      isSyncTriggeredOnImport: true,
      updateRule: 'ifNewIsNotNull',
    });
    expect(updated.body.uri).toBe(first.uri);
    const invalid = await eloqua.api('PUT', first.uri, { json: { ...first, identifierFieldName: 'nope' } });
    expect(invalid.status).toBe(400);
    expect((await eloqua.api('PUT', '/contacts/imports/999', { json: first })).status).toBe(404);

    const deleted = await eloqua.api('DELETE', first.uri);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await eloqua.api('GET', first.uri)).status).toBe(404);
    expect((await eloqua.api('DELETE', first.uri)).status).toBe(404);
    expect((await eloqua.api('GET', '/contacts/imports')).body.totalResults).toBe(1);
  });

  const failuresOf = async (body: unknown) => {
    const reply = await eloqua.api('POST', '/contacts/imports', { json: body });
    expect(reply.status).toBe(400);
    return reply.body.failures as { field: string; value?: string; constraint: string }[];
  };
  const base = { name: 'x', fields: { C_EmailAddress: FIELDS.email }, identifierFieldName: 'C_EmailAddress' };

  it('rejects bad definitions with a failures body naming field, value and constraint', async () => {
    expect(await failuresOf({})).toEqual([
      expect.objectContaining({ field: 'name' }),
      expect.objectContaining({ field: 'fields' }),
      expect.objectContaining({ field: 'identifierFieldName' }),
    ]);
    expect(await failuresOf({ ...base, name: 'n'.repeat(101) })).toEqual([
      {
        field: 'name',
        value: 'n'.repeat(101),
        constraint: 'Must be a string value, at least 1 character and at most 100 characters long.',
      },
    ]);
    expect(
      (await eloqua.api('POST', '/contacts/imports', { json: { ...base, name: 'n'.repeat(100) } })).status,
    ).toBe(201);
    const unknown = await failuresOf({ ...base, fields: { ...base.fields, X: '{{Contact.Field(C_Nope)}}' } });
    expect(unknown).toEqual([
      {
        field: 'fields.X',
        value: '{{Contact.Field(C_Nope)}}',
        constraint: 'Must be a valid field statement referencing an existing contact field.',
      },
    ]);
    for (const statement of [
      'C_FirstName',
      '{{Contact.Field(C_FirstName)',
      '{{Account.Field(M_CompanyName)}}',
      42,
    ]) {
      expect((await failuresOf({ ...base, fields: { ...base.fields, X: statement } }))[0]?.field).toBe(
        'fields.X',
      );
    }
    expect(
      (
        await failuresOf({ ...base, fields: { ...base.fields, Created: '{{Contact.Field(C_DateCreated)}}' } })
      )[0]?.constraint,
    ).toBe('Must not reference a read-only field.');
    expect(
      (await failuresOf({ ...base, fields: { ...base.fields, Again: FIELDS.email } }))[0]?.constraint,
    ).toBe('Must not map the same field more than once.');
    expect(await failuresOf({ ...base, identifierFieldName: 'Email' })).toEqual([
      { field: 'identifierFieldName', value: 'Email', constraint: 'Must be one of the keys of fields.' },
    ]);
    for (const statement of [
      '{{Contact.Field(C_Notes1)}}',
      '{{Contact.Field(C_Last_Purchase_Date1)}}',
      '{{Contact.Field(C_Is_Customer1)}}',
    ]) {
      const failures = await failuresOf({
        ...base,
        fields: { ...base.fields, Id: statement },
        identifierFieldName: 'Id',
      });
      expect(failures[0]?.constraint).toBe('Must not reference a large text, date or boolean field.');
    }
    expect((await failuresOf({ ...base, isUpdatingMultipleMatchedRecords: true }))[0]?.field).toBe(
      'isUpdatingMultipleMatchedRecords',
    );
    expect((await failuresOf({ ...base, isSyncTriggeredOnImport: 'yes' }))[0]?.field).toBe(
      'isSyncTriggeredOnImport',
    );
    expect((await failuresOf({ ...base, updateRule: 'sometimes' }))[0]?.field).toBe('updateRule');
    expect(
      (
        await failuresOf({
          ...base,
          updateRule: 'useFieldRule',
          updateRuleByField: { C_EmailAddress: 'never' },
        })
      )[0]?.field,
    ).toBe('updateRuleByField.C_EmailAddress');
    expect((await failuresOf({ ...base, importPriorityUri: '/nope' }))[0]?.field).toBe('importPriorityUri');
  });

  it('accepts {{Contact.Id}} and non-email identifiers', async () => {
    const byId = await eloqua.define({
      fields: { Id: '{{Contact.Id}}', C_FirstName: FIELDS.first },
      identifierFieldName: 'Id',
    });
    expect(byId.identifierFieldName).toBe('Id');
    const byCrm = await eloqua.define({
      fields: { CrmId: FIELDS.crmId, C_EmailAddress: FIELDS.email },
      identifierFieldName: 'CrmId',
    });
    expect(byCrm.fields.CrmId).toBe(FIELDS.crmId);
  });

  it('limits durations: dataRetentionDuration PT1H..P14D, autoDeleteDuration ≥ PT1H', async () => {
    for (const ok of [
      { dataRetentionDuration: 'PT1H' },
      { dataRetentionDuration: 'P14D' },
      { autoDeleteDuration: 'PT1H' },
      { autoDeleteDuration: 'P365D' },
    ]) {
      expect((await eloqua.api('POST', '/contacts/imports', { json: { ...base, ...ok } })).status).toBe(201);
    }
    for (const [key, value] of [
      ['dataRetentionDuration', 'PT59M'],
      ['dataRetentionDuration', 'P15D'],
      ['dataRetentionDuration', '7 days'],
      ['autoDeleteDuration', 'PT3599S'],
      ['autoDeleteDuration', 'P'],
    ] as const) {
      expect(await failuresOf({ ...base, [key]: value })).toEqual([
        expect.objectContaining({ field: key, value }),
      ]);
    }
  });

  it('validates syncActions: at most 10, known lists, action and status enums', async () => {
    const add = { action: 'add', destination: '{{ContactList[1001]}}' };
    expect(
      (await eloqua.api('POST', '/contacts/imports', { json: { ...base, syncActions: Array(10).fill(add) } }))
        .status,
    ).toBe(201);
    expect((await failuresOf({ ...base, syncActions: Array(11).fill(add) }))[0]).toEqual({
      field: 'syncActions',
      value: '11 actions',
      constraint: 'Must be an array of at most 10 sync actions.',
    });
    expect(
      (
        await failuresOf({ ...base, syncActions: [{ action: 'add', destination: '{{ContactList[4242]}}' }] })
      )[0],
    ).toEqual({
      field: 'syncActions[0].destination',
      value: '{{ContactList[4242]}}',
      constraint: 'Must reference an existing contact list.',
    });
    expect(
      (await failuresOf({ ...base, syncActions: [{ action: 'copy', destination: add.destination }] }))[0]
        ?.field,
    ).toBe('syncActions[0].action');
    expect(
      (
        await failuresOf({
          ...base,
          syncActions: [{ action: 'setStatus', destination: '{{GlobalSubscribe}}' }],
        })
      )[0]?.field,
    ).toBe('syncActions[0].status');
    expect(
      (
        await failuresOf({ ...base, syncActions: [{ action: 'remove', destination: '{{EmailGroup[1]}}' }] })
      )[0]?.field,
    ).toBe('syncActions[0].destination');
    const ok = await eloqua.define({
      syncActions: [
        { action: 'remove', destination: '{{ContactList[1002]}}' },
        { action: 'setStatus', destination: '{{GlobalSubscribe}}', status: 'subscribed' },
        { action: 'setStatus', destination: '{{EmailGroup[7]}}', status: 'unsubscribed' },
      ],
    });
    expect(ok.syncActions).toHaveLength(3);
  });

  it('deletes a definition once autoDeleteDuration has passed (sandbox clock)', async () => {
    const definition = await eloqua.define({ autoDeleteDuration: 'PT1H' });
    await eloqua.call('POST', '/__sandbox/clock', { json: { advanceMs: HOUR - 1000 } });
    expect((await eloqua.api('GET', definition.uri)).status).toBe(200);
    await eloqua.call('POST', '/__sandbox/clock', { json: { advanceMs: 1000 } });
    expect((await eloqua.api('GET', definition.uri)).status).toBe(404);
    expect((await eloqua.api('GET', '/contacts/imports')).body.totalResults).toBe(0);
    expect((await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['a@example.com']]))).status).toBe(
      404,
    );
    const sync = await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: definition.uri } });
    expect(sync.status).toBe(400);
  });

  it('drops staged data older than dataRetentionDuration', async () => {
    const definition = await eloqua.define({ dataRetentionDuration: 'PT1H' });
    expect((await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['old@example.com']]))).status).toBe(
      204,
    );
    await eloqua.call('POST', '/__sandbox/clock', { json: { advanceMs: HOUR } });
    expect((await eloqua.upload(definition.uri, csv(['C_EmailAddress'], [['new@example.com']]))).status).toBe(
      204,
    );
    const sync = await eloqua.sync(definition.uri);
    expect((await eloqua.settle(sync.uri)).status).toBe('success');
    expect((await eloqua.call('GET', '/__sandbox/contacts/count')).body.count).toBe(1);
    expect((await eloqua.call('GET', '/__sandbox/contacts?email=new@example.com')).status).toBe(200);
  });
});

describe('eloqua definition field limit', () => {
  const extra: ContactFieldSpec[] = Array.from({ length: 100 }, (_, i) => ({
    id: 200000 + i,
    internalName: `C_Custom_${i}1`,
    name: `Custom ${i}`,
    dataType: 'string',
  }));
  let eloqua: EloquaHarness;
  beforeAll(async () => {
    eloqua = await startEloqua({ fields: [...DEFAULT_CONTACT_FIELDS, ...extra] });
  });
  afterAll(() => eloqua.close());

  const withFields = (count: number) => ({
    name: 'wide',
    fields: Object.fromEntries([
      ['C_EmailAddress', FIELDS.email],
      ...extra.slice(0, count - 1).map((f) => [f.internalName, `{{Contact.Field(${f.internalName})}}`]),
    ]),
    identifierFieldName: 'C_EmailAddress',
  });

  it('accepts 100 fields and rejects 101', async () => {
    expect((await eloqua.api('POST', '/contacts/imports', { json: withFields(100) })).status).toBe(201);
    const over = await eloqua.api('POST', '/contacts/imports', { json: withFields(101) });
    expect(over.status).toBe(400);
    expect(over.body.failures).toEqual([
      { field: 'fields', value: '101 fields', constraint: 'Must contain at least 1 and at most 100 fields.' },
    ]);
    expect((await eloqua.api('GET', '/contacts/fields?limit=1')).body.totalResults).toBe(
      DEFAULT_CONTACT_FIELDS.length + 100,
    );
  });
});
