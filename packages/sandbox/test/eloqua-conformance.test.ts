import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { csv, type EloquaHarness, FIELDS, type Reply, startEloqua } from './eloqua-support.ts';

/**
 * The emulator's answers checked against the vendor's own descriptions:
 * - the Eloqua OpenAPI file (vendor-specs/): every status code we send must be one the operation
 *   documents, every JSON body must match the operation's response schema, and — since the
 *   converter stripped the response schemas down to `type: object` — definition and sync bodies
 *   must also match the *request* schemas of the same objects, whose read-only properties
 *   (`uri`, `createdAt`, `status`, `syncStartedAt`...) describe what the responses carry;
 * - the JSON examples in vendor-apis.md (test/fixtures/eloqua-doc-examples.json): same keys,
 *   same value types.
 */

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked freely
type Doc = any;

const spec: Doc = parse(
  readFileSync(new URL('../vendor-specs/eloqua-openapi-2021.08.12.yaml', import.meta.url), 'utf8'),
);
const examples = JSON.parse(
  readFileSync(new URL('./fixtures/eloqua-doc-examples.json', import.meta.url), 'utf8'),
) as Record<string, { section: string; body: Json }>;

const ajv = new Ajv.default({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ components: spec.components }, 'eloqua');

/** Resolves `$ref`s into the registered document so a sub-schema compiles on its own. */
const rebase = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(rebase);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' ? `eloqua${value}` : rebase(value);
  }
  return out;
};

/**
 * The request schema of an object, made strict. The converter typed three map/array-of-object
 * properties as arrays of strings; vendor-apis.md (A.3.2, from Oracle's op pages) says they are
 * objects, and it wins (vendor-specs/README).
 */
const strictRequestSchema = (path: string): Json => {
  const schema = structuredClone(spec.paths[path].post.requestBody.content['application/json'].schema);
  const properties = schema.properties as Json;
  if ('fields' in properties) {
    properties.fields = { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 };
    properties.syncActions = {
      type: 'array',
      items: {
        type: 'object',
        required: ['action', 'destination'],
        properties: {
          action: { enum: ['add', 'remove', 'setStatus'] },
          destination: { type: 'string' },
          status: { type: 'string' },
        },
        additionalProperties: false,
      },
    };
    properties.updateRuleByField = {
      type: 'object',
      additionalProperties: { $ref: '#/components/schemas/RuleType' },
    };
  }
  return rebase({ ...schema, additionalProperties: false }) as Json;
};
const validateDefinition = ajv.compile(strictRequestSchema('/api/bulk/2.0/contacts/imports'));
const validateSync = ajv.compile(strictRequestSchema('/api/bulk/2.0/syncs'));
const validateExportDefinition = ajv.compile(strictRequestSchema('/api/bulk/2.0/contacts/exports'));
const validateDataType = ajv.compile(rebase({ $ref: '#/components/schemas/DataType' }) as Json);

const expectValid = (validate: ReturnType<typeof ajv.compile>, body: unknown, what: string) => {
  const ok = validate(body);
  expect(ok, `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`).toBe(true);
};

/** Checks one exchange against the OpenAPI operation (path as the spec spells it). */
const expectDocumented = (method: string, specPath: string, reply: Reply) => {
  const operation = spec.paths[specPath]?.[method.toLowerCase()];
  expect(operation, `${method} ${specPath} is not in the spec`).toBeDefined();
  // 429 is in Oracle's list of Eloqua status codes (A.5) though no operation lists it.
  if (reply.status !== 429) {
    expect(Object.keys(operation.responses), `${method} ${specPath} ${reply.status}`).toContain(
      String(reply.status),
    );
  }
  const schema = operation.responses[String(reply.status)]?.content?.['application/json']?.schema;
  if (schema !== undefined) {
    expect(reply.headers.get('content-type')).toContain('application/json');
    expectValid(ajv.compile(rebase(schema) as Json), reply.body, `${method} ${specPath} ${reply.status}`);
  }
};

/** Value types, recursively; arrays by their first element; `opaque` keys only as "object". */
const shape = (value: unknown, opaque: readonly string[] = []): unknown => {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0], opaque)];
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.fromEntries(
    Object.entries(value)
      .map(([key, v]) => [key, opaque.includes(key) ? 'object' : shape(v, opaque)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
};
const expectSameShape = (ours: unknown, name: string, opaque: readonly string[] = []) => {
  const example = examples[name];
  expect(example, name).toBeDefined();
  expect(shape(ours, opaque), `${name} (vendor-apis.md ${example?.section})`).toEqual(
    shape(example?.body, opaque),
  );
};

describe('eloqua responses against the OpenAPI file and the documented examples', () => {
  let eloqua: EloquaHarness;
  let definition: Json;
  let syncUri: string;
  beforeAll(async () => {
    eloqua = await startEloqua();
    // A definition shaped like the documented 201 (A.3.2 response), and a sync with a reject.
    const reply = await eloqua.api('POST', '/contacts/imports', {
      json: {
        name: 'Test Import',
        fields: { C_FirstName: FIELDS.first, C_LastName: FIELDS.last, C_EmailAddress: FIELDS.email },
        identifierFieldName: 'C_EmailAddress',
        isSyncTriggeredOnImport: false,
        dataRetentionDuration: 'P7D',
      },
    });
    expectDocumented('POST', '/api/bulk/2.0/contacts/imports', reply);
    definition = reply.body;
    await eloqua.upload(
      definition.uri as string,
      csv(
        ['C_FirstName', 'C_LastName', 'C_EmailAddress'],
        [
          ['Weldon_Wintheiser60', 'Vanuatu', 'Polar bear'],
          ['Ann', 'Lee', 'ann@example.com'],
        ],
      ),
    );
    const sync = await eloqua.sync(definition.uri as string);
    syncUri = sync.uri;
    await eloqua.settle(syncUri);
  });
  afterAll(() => eloqua.close());

  it('GET /id matches the documented body', async () => {
    const reply = await eloqua.call('GET', '/id');
    expectSameShape(reply.body, 'id');
  });

  it('contact fields: documented codes, envelope and item shape, DataType enum', async () => {
    const list = await eloqua.api('GET', '/contacts/fields?limit=1');
    expectDocumented('GET', '/api/bulk/2.0/contacts/fields', list);
    expectSameShape(list.body, 'fields');
    const all = await eloqua.api('GET', '/contacts/fields');
    for (const field of all.body.items) expectValid(validateDataType, field.dataType, field.internalName);
    expectDocumented(
      'GET',
      '/api/bulk/2.0/contacts/fields/{id}',
      await eloqua.api('GET', '/contacts/fields/100001'),
    );
    expectDocumented(
      'GET',
      '/api/bulk/2.0/contacts/fields/{id}',
      await eloqua.api('GET', '/contacts/fields/7'),
    );
    expectDocumented(
      'GET',
      '/api/bulk/2.0/contacts/fields',
      await eloqua.api('GET', '/contacts/fields?limit=5000'),
    );
  });

  it("contact lists: documented codes; items carry the keys of Oracle's ContactListIndividualResponse", async () => {
    const collection = '/api/bulk/2.0/contacts/lists';
    const list = await eloqua.api('GET', '/contacts/lists?limit=1');
    expectDocumented('GET', collection, list);
    expectSameShape({ ...list.body, items: [] }, 'collectionEnvelope');
    // The OpenAPI file reduces the body to `type: object`; Oracle's operation page lists these.
    const keys = ['count', 'createdAt', 'createdBy', 'name', 'statement', 'updatedAt', 'updatedBy', 'uri'];
    expect(Object.keys(list.body.items[0]).sort()).toEqual(keys);
    const one = await eloqua.api('GET', '/contacts/lists/1001');
    expectDocumented('GET', `${collection}/{id}`, one);
    expect(Object.keys(one.body).sort()).toEqual(keys);
    expect(one.body).toMatchObject({ statement: '{{ContactList[1001]}}', uri: '/contacts/lists/1001' });
    expect(one.body.createdAt).toMatch(/\.\d{7}Z$/);
    expectDocumented('GET', `${collection}/{id}`, await eloqua.api('GET', '/contacts/lists/4242'));
    expectDocumented('GET', collection, await eloqua.api('GET', '/contacts/lists?offset=-1'));
    expectDocumented('GET', collection, await eloqua.api('GET', '/contacts/lists', { auth: false }));
  });

  it('import definitions: the documented 201 body; every variant valid against the object schema', async () => {
    expectSameShape(definition, 'definitionCreated', ['fields']);
    expect(Object.keys(definition).sort()).toEqual(
      Object.keys(examples.definitionCreated?.body ?? {}).sort(),
    );
    expectValid(validateDefinition, definition, 'definition');
    const full = await eloqua.api('POST', '/contacts/imports', {
      json: {
        ...examples.definitionRequest?.body,
        syncActions: [
          { action: 'add', destination: '{{ContactList[1001]}}' },
          { action: 'setStatus', destination: '{{GlobalSubscribe}}', status: 'subscribed' },
        ],
        updateRule: 'useFieldRule',
        updateRuleByField: { C_FirstName: 'ifNewIsNotNull' },
        nullIdentifierFieldName: false,
        importPriorityUri: '/imports/priorities/1',
      },
    });
    expectDocumented('POST', '/api/bulk/2.0/contacts/imports', full);
    expectValid(validateDefinition, full.body, 'full definition');
    const uri = `/api/bulk/2.0/contacts/imports/{id}`;
    expectDocumented('GET', uri, await eloqua.api('GET', full.body.uri));
    const put = await eloqua.api('PUT', full.body.uri, { json: { ...full.body, name: 'renamed' } });
    expectDocumented('PUT', uri, put);
    expectValid(validateDefinition, put.body, 'updated definition');
    const list = await eloqua.api('GET', '/contacts/imports');
    expectDocumented('GET', '/api/bulk/2.0/contacts/imports', list);
    expectSameShape({ ...list.body, items: [] }, 'collectionEnvelope');
    for (const item of list.body.items) expectValid(validateDefinition, item, 'listed definition');
    expectDocumented('DELETE', uri, await eloqua.api('DELETE', full.body.uri));
    expectDocumented('GET', uri, await eloqua.api('GET', full.body.uri));
    expectDocumented('PUT', uri, await eloqua.api('PUT', full.body.uri, { json: full.body }));
    expectDocumented('DELETE', uri, await eloqua.api('DELETE', full.body.uri));
  });

  it('validation errors use the documented failures body', async () => {
    const reply = await eloqua.api('POST', '/contacts/imports', {
      json: { name: 'x', fields: { a: '{{Contact.Field(C_Nope)}}' }, identifierFieldName: 'a' },
    });
    expectDocumented('POST', '/api/bulk/2.0/contacts/imports', reply);
    expectSameShape(reply.body, 'failures');
    const sync = await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: '/contacts/imports/999' } });
    expectDocumented('POST', '/api/bulk/2.0/syncs', sync);
    expectSameShape(sync.body, 'failures');
  });

  it('uploads: 204, 201 with a sync, 400, 404 — all documented for the operation', async () => {
    const data = '/api/bulk/2.0/contacts/imports/{id}/data';
    expectDocumented(
      'POST',
      data,
      await eloqua.upload(definition.uri as string, csv(['C_EmailAddress'], [['x@example.com']])),
    );
    expectDocumented(
      'POST',
      data,
      await eloqua.upload('/contacts/imports/999', csv(['C_EmailAddress'], [['x@example.com']])),
    );
    expectDocumented(
      'POST',
      data,
      await eloqua.api('POST', `${definition.uri}/data`, {
        raw: '[1,',
        headers: { 'content-type': 'application/json' },
      }),
    );
    expectDocumented('DELETE', data, await eloqua.api('DELETE', `${definition.uri}/data`));
    const auto = await eloqua.define({ isSyncTriggeredOnImport: true });
    const created = await eloqua.upload(auto.uri, csv(['C_EmailAddress'], [['auto@example.com']]));
    expect(created.status).toBe(201);
    expectDocumented('POST', data, created);
    expectValid(validateSync, created.body, 'sync from upload');
    const { callbackUrl: _unused, ...documented } = examples.syncCreated?.body ?? {};
    expect(shape(created.body)).toEqual(shape(documented));
  });

  it('syncs: the documented 201 and finished bodies, valid against the sync schema', async () => {
    await eloqua.upload(definition.uri as string, csv(['C_EmailAddress'], [['s@example.com']]));
    const created = await eloqua.api('POST', '/syncs', {
      json: { syncedInstanceUri: definition.uri, callbackUrl: 'http://127.0.0.1:9/callback' },
    });
    expectDocumented('POST', '/api/bulk/2.0/syncs', created);
    expectSameShape(created.body, 'syncCreated');
    expectValid(validateSync, created.body, 'created sync');

    const finished = await eloqua.api('GET', syncUri);
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}', finished);
    expectSameShape(finished.body, 'syncStatus');
    expectValid(validateSync, finished.body, 'finished sync');
    expect(finished.body.syncEndedAt).toMatch(/\.\d{7}Z$/);
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}', await eloqua.api('GET', '/syncs/999'));

    const list = await eloqua.api('GET', '/syncs');
    expectDocumented('GET', '/api/bulk/2.0/syncs', list);
    for (const item of list.body.items) expectValid(validateSync, item, 'listed sync');
  });

  it('rejects and logs: documented envelope and item shapes, severity enum', async () => {
    const rejects = await eloqua.api('GET', `${syncUri}/rejects?limit=1`);
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}/rejects', rejects);
    expectSameShape(rejects.body, 'rejects', ['fieldValues']);
    // The documented reject, re-created row for row by the upload in beforeAll.
    expect(rejects.body.items[0]).toEqual((examples.rejects?.body.items as unknown[] | undefined)?.[0]);

    const logs = await eloqua.api('GET', `${syncUri}/logs`);
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}/logs', logs);
    expectSameShape(logs.body, 'logs');
    for (const log of logs.body.items) {
      expect(['information', 'warning', 'error']).toContain(log.severity);
      expect(log.statusCode).toMatch(/^ELQ-\d{5}$/);
      expect(Object.keys(log).sort()).toEqual([
        'count',
        'createdAt',
        'message',
        'severity',
        'statusCode',
        'syncUri',
      ]);
    }
    expectDocumented(
      'GET',
      '/api/bulk/2.0/syncs/{id}/rejects',
      await eloqua.api('GET', `${syncUri}/rejects?limit=0`),
    );
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}/logs', await eloqua.api('GET', '/syncs/999/logs'));
  });

  it('contact exports: definition, export sync, data pages and their errors are documented', async () => {
    const created = await eloqua.api('POST', '/contacts/exports', {
      json: {
        name: 'Conformance export',
        fields: { email: FIELDS.email, id: '{{Contact.Id}}' },
        filter: "'{{Contact.Field(C_EmailAddress)}}' = '*@example.com'",
        dataRetentionDuration: 'PT2H',
      },
    });
    expectDocumented('POST', '/api/bulk/2.0/contacts/exports', created);
    expectValid(validateExportDefinition, created.body, 'export definition');
    const uri = created.body.uri as string;
    expectDocumented('GET', '/api/bulk/2.0/contacts/exports/{id}', await eloqua.api('GET', uri));
    expectDocumented('GET', '/api/bulk/2.0/contacts/exports', await eloqua.api('GET', '/contacts/exports'));
    expectDocumented(
      'POST',
      '/api/bulk/2.0/contacts/exports',
      await eloqua.api('POST', '/contacts/exports', { json: { name: '' } }),
    );
    const sync = await eloqua.api('POST', '/syncs', { json: { syncedInstanceUri: uri } });
    expectDocumented('POST', '/api/bulk/2.0/syncs', sync);
    expectValid(validateSync, sync.body, 'export sync');
    const ended = await eloqua.settle(sync.body.uri);
    expect(ended.status).toBe('success');
    const data = await eloqua.api('GET', `${sync.body.uri}/data?limit=50000`);
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}/data', data);
    expect(Object.keys(data.body).sort()).toEqual([
      'count',
      'hasMore',
      'items',
      'limit',
      'offset',
      'totalResults',
    ]);
    expect(data.body.items.length).toBeGreaterThan(0);
    for (const item of data.body.items) expect(Object.keys(item).sort()).toEqual(['email', 'id']);
    expectDocumented(
      'GET',
      '/api/bulk/2.0/syncs/{id}/data',
      await eloqua.api('GET', `${sync.body.uri}/data?limit=50001`),
    );
    expectDocumented('GET', '/api/bulk/2.0/syncs/{id}/data', await eloqua.api('GET', '/syncs/9999/data'));
    expectDocumented(
      'DELETE',
      '/api/bulk/2.0/contacts/exports/{id}/data',
      await eloqua.api('DELETE', `${uri}/data`),
    );
    expectDocumented('DELETE', '/api/bulk/2.0/contacts/exports/{id}', await eloqua.api('DELETE', uri));
    expectDocumented('DELETE', '/api/bulk/2.0/contacts/exports/{id}', await eloqua.api('DELETE', uri));
  });

  it('auth and fault statuses are documented too (401, 500, 503; 429 per A.5)', async () => {
    expectDocumented('GET', '/api/bulk/2.0/syncs', await eloqua.api('GET', '/syncs', { auth: false }));
    for (const kind of ['rate_limit', 'server_error', 'unavailable'] as const) {
      await eloqua.call('PUT', '/__sandbox/faults', {
        json: { faults: [{ endpoint: 'eloqua.syncList', kind }] },
      });
      const reply = await eloqua.api('GET', '/syncs');
      expect(reply.status).toBe({ rate_limit: 429, server_error: 500, unavailable: 503 }[kind]);
      expectDocumented('GET', '/api/bulk/2.0/syncs', reply);
    }
    await eloqua.call('PUT', '/__sandbox/faults', { json: { faults: [] } });
  });
});
