import type { FastifyInstance } from 'fastify';
import { type CommonOptions, jobTimeline } from '../vendor-server.ts';
import { collect, parseCollectionQuery } from './collection.ts';
import { pathId } from './definitions.ts';
import type { FieldRegistry, StatementTarget } from './fields.ts';
import type { ContactStore } from './store.ts';
import { parseIsoDuration } from './validation.ts';
import { describeValue, eloquaTime, type Failure, sendFailures, sendNotFound } from './wire.ts';

/**
 * Contact exports (`/contacts/exports`) and export syncs: a definition names columns → field
 * statements and an optional EML filter; `POST /syncs` with its uri takes a snapshot of the
 * matching contacts, which becomes readable, once the sync has ended, from
 * `GET /syncs/{id}/data?offset&limit` (limit 1–50,000, default 1000) until the definition's
 * `dataRetentionDuration` (PT1H–P14D, default PT12H) has passed since the sync ended.
 * See docs/eloqua.md "Exports" for what is documented and what is a sandbox choice.
 */

export const EXPORT_DEFAULT_RETENTION = 'PT12H';
export const EXPORT_MAX_FIELDS = 250;
export const EXPORT_DATA_MAX_LIMIT = 50_000;
const EXPORT_DATA_DEFAULT_LIMIT = 1000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface ExportInput {
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly filter?: string;
  readonly dataRetentionDuration: string;
  readonly autoDeleteDuration?: string;
}

interface ExportDefinition {
  readonly id: number;
  readonly uri: string;
  readonly input: ExportInput;
  readonly targets: ReadonlyMap<string, StatementTarget>;
  readonly matches: (id: number, values: readonly string[]) => boolean;
  readonly createdAtMs: number;
}

export interface ExportSync {
  readonly id: number;
  readonly uri: string;
  readonly definitionId: number;
  readonly syncedInstanceUri: string;
  readonly createdAtMs: number;
  readonly startsAtMs: number;
  readonly endsAtMs: number;
  /** When the staged data is deleted: sync end + the definition's dataRetentionDuration. */
  readonly expiresAtMs: number;
  /** The snapshot, taken when the sync was created; `undefined` once deleted or expired. */
  rows: Record<string, string>[] | undefined;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `'{{Contact.Field(C_Country)}}' = 'DE' AND '{{Contact.Id}}' > '10'` (the EML subset the sandbox runs). */
const CONDITION = /^\s*'(\{\{[^']+\}\})'\s*(!=|>=|<=|=|>|<)\s*'((?:[^']|'')*)'\s*$/;

const compileFilter = (
  filter: string,
  registry: FieldRegistry,
): ((id: number, values: readonly string[]) => boolean) | string => {
  const tests: ((id: number, values: readonly string[]) => boolean)[] = [];
  for (const part of filter.split(/\s+AND\s+/i)) {
    const match = CONDITION.exec(part);
    const target = match?.[1] === undefined ? undefined : registry.resolve(match[1]);
    if (match === null || target === undefined)
      return `Unsupported or invalid filter condition ${JSON.stringify(part.trim())}: the sandbox runs '{{statement}}' <op> 'value' conditions joined by AND.`;
    const operator = match[2] ?? '=';
    const wanted = (match[3] ?? '').replaceAll("''", "'");
    const pattern = new RegExp(`^${wanted.split('*').map(escapeRegExp).join('.*')}$`, 'is');
    tests.push((id, values) => {
      const actual = target.kind === 'id' ? String(id) : (values[target.slot] ?? '');
      if (operator === '=') return pattern.test(actual);
      if (operator === '!=') return !pattern.test(actual);
      const [a, b] = [Number(actual), Number(wanted)];
      const [x, y] = Number.isNaN(a) || Number.isNaN(b) || actual === '' ? [actual, wanted] : [a, b];
      return operator === '>' ? x > y : operator === '<' ? x < y : operator === '>=' ? x >= y : x <= y;
    });
  }
  return (id, values) => tests.every((test) => test(id, values));
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const validateExport = (
  body: unknown,
  registry: FieldRegistry,
):
  | { input: ExportInput; targets: Map<string, StatementTarget>; matches: ExportDefinition['matches'] }
  | Failure[] => {
  if (!isPlainObject(body)) return [{ field: 'body', constraint: 'Must be a JSON object.' }];
  const failures: Failure[] = [];
  const fail = (field: string, value: unknown, constraint: string) =>
    failures.push({ field, ...(value === undefined ? {} : { value: describeValue(value) }), constraint });
  const { name, fields, filter, autoDeleteDuration } = body;
  if (typeof name !== 'string' || name.length < 1 || name.length > 100)
    fail('name', name, 'Must be a string value, at least 1 character and at most 100 characters long.');
  const targets = new Map<string, StatementTarget>();
  if (!isPlainObject(fields))
    fail('fields', fields, 'Must be an object mapping column names to field statements.');
  else {
    const entries = Object.entries(fields);
    if (entries.length < 1 || entries.length > EXPORT_MAX_FIELDS)
      fail(
        'fields',
        `${entries.length} fields`,
        `Must contain at least 1 and at most ${EXPORT_MAX_FIELDS} fields.`,
      );
    for (const [column, statement] of entries) {
      const target = typeof statement === 'string' ? registry.resolve(statement) : undefined;
      if (target === undefined)
        fail(
          `fields.${column}`,
          statement,
          'Must be a valid field statement referencing an existing contact field.',
        );
      else targets.set(column, target);
    }
  }
  let matches: ExportDefinition['matches'] = () => true;
  if (filter !== undefined && filter !== '') {
    const compiled = typeof filter === 'string' ? compileFilter(filter, registry) : 'Must be a string.';
    if (typeof compiled === 'string') fail('filter', filter, compiled);
    else matches = compiled;
  }
  const retention = body.dataRetentionDuration ?? EXPORT_DEFAULT_RETENTION;
  const retentionMs = typeof retention === 'string' ? parseIsoDuration(retention) : undefined;
  if (retentionMs === undefined || retentionMs < HOUR_MS || retentionMs > 14 * DAY_MS)
    fail('dataRetentionDuration', retention, 'Must be an ISO-8601 duration between PT1H and P14D.');
  if (autoDeleteDuration !== undefined) {
    const ms = typeof autoDeleteDuration === 'string' ? parseIsoDuration(autoDeleteDuration) : undefined;
    if (ms === undefined || ms < HOUR_MS)
      fail('autoDeleteDuration', autoDeleteDuration, 'Must be an ISO-8601 duration of at least PT1H.');
  }
  if (failures.length > 0) return failures;
  const input: ExportInput = {
    name: name as string,
    fields: fields as Record<string, string>,
    ...(typeof filter === 'string' && filter !== '' ? { filter } : {}),
    dataRetentionDuration: retention as string,
    ...(typeof autoDeleteDuration === 'string' ? { autoDeleteDuration } : {}),
  };
  return { input, targets, matches };
};

export interface ExportEngineDeps {
  readonly now: () => number;
  readonly registry: FieldRegistry;
  readonly store: ContactStore;
  readonly timing: Pick<CommonOptions, 'startDelayMs' | 'recordsPerSecond'>;
  readonly createdBy: string;
  /** The sync id counter shared with import syncs (one `/syncs/{id}` space). */
  readonly nextSyncId: () => number;
}

export interface ExportEngine {
  readonly definitionByUri: (uri: string) => ExportDefinition | undefined;
  readonly createSync: (definition: ExportDefinition) => ExportSync;
  readonly sync: (id: number) => ExportSync | undefined;
  readonly syncs: () => ExportSync[];
  readonly syncJson: (sync: ExportSync, asCreated?: boolean) => Record<string, unknown>;
  /** The `ELQ-00102` log of an ended export sync. */
  readonly logs: (sync: ExportSync) => Record<string, unknown>[];
  /** One page of a sync's data; `undefined` when there is none to read (expired, deleted). */
  readonly data: (sync: ExportSync) => readonly Record<string, string>[] | undefined;
  readonly define: (
    input: ExportInput,
    targets: ReadonlyMap<string, StatementTarget>,
    matches: ExportDefinition['matches'],
  ) => ExportDefinition;
  readonly definitions: () => ExportDefinition[];
  /** Deletes a definition and, with it, its syncs' data (a sandbox choice, see docs/eloqua.md). */
  readonly removeDefinition: (id: number) => boolean;
  /** `DELETE /contacts/exports/{id}/data`: the definition stays, its syncs' data goes. */
  readonly removeData: (id: number) => boolean;
  readonly clear: () => void;
}

const EXPORT_URI = /^\/contacts\/exports\/(\d{1,15})$/;

export const createExportEngine = (deps: ExportEngineDeps): ExportEngine => {
  let definitions = new Map<number, ExportDefinition>();
  let syncs = new Map<number, ExportSync>();
  let nextDefinitionId = 1;

  const alive = (definition: ExportDefinition): boolean => {
    const ms =
      definition.input.autoDeleteDuration === undefined
        ? undefined
        : parseIsoDuration(definition.input.autoDeleteDuration);
    return ms === undefined || deps.now() < definition.createdAtMs + ms;
  };
  const live = (sync: ExportSync): boolean => sync.rows !== undefined && deps.now() < sync.expiresAtMs;

  const snapshot = (definition: ExportDefinition): Record<string, string>[] => {
    const rows: Record<string, string>[] = [];
    const { store } = deps;
    for (let offset = 0; ; offset += 1000) {
      const ids = store.page(offset, 1000);
      if (ids.length === 0) break;
      for (const id of ids) {
        const values = store.read(id);
        if (values === undefined || !definition.matches(id, values)) continue;
        const view = store.view(id);
        const row: Record<string, string> = {};
        for (const [column, target] of definition.targets)
          row[column] = target.kind === 'id' ? String(id) : (view?.fields[target.field.internalName] ?? '');
        rows.push(row);
      }
      // `page` skips holes, so a short page is not the end: stop only on an empty one.
    }
    return rows;
  };

  const dropData = (definitionId: number): void => {
    for (const sync of syncs.values()) if (sync.definitionId === definitionId) sync.rows = undefined;
  };

  return {
    definitionByUri: (uri) => {
      const match = EXPORT_URI.exec(uri);
      const definition = match?.[1] === undefined ? undefined : definitions.get(Number(match[1]));
      return definition !== undefined && alive(definition) ? definition : undefined;
    },
    createSync: (definition) => {
      const now = deps.now();
      const rows = snapshot(definition);
      const timeline = jobTimeline(deps.timing, now, rows.length);
      const id = deps.nextSyncId();
      const retention = parseIsoDuration(definition.input.dataRetentionDuration) ?? 12 * HOUR_MS;
      const sync: ExportSync = {
        id,
        uri: `/syncs/${id}`,
        definitionId: definition.id,
        syncedInstanceUri: definition.uri,
        createdAtMs: now,
        startsAtMs: timeline.startsAtMs,
        endsAtMs: timeline.endsAtMs,
        expiresAtMs: timeline.endsAtMs + retention,
        rows,
      };
      syncs.set(id, sync);
      return sync;
    },
    sync: (id) => syncs.get(id),
    syncs: () => [...syncs.values()],
    syncJson: (sync, asCreated = false) => {
      const now = deps.now();
      const status =
        asCreated || now < sync.startsAtMs ? 'pending' : now < sync.endsAtMs ? 'active' : 'success';
      return {
        syncedInstanceUri: sync.syncedInstanceUri,
        ...(status === 'pending' ? {} : { syncStartedAt: eloquaTime(sync.startsAtMs) }),
        ...(status === 'success' ? { syncEndedAt: eloquaTime(sync.endsAtMs) } : {}),
        status,
        createdAt: eloquaTime(sync.createdAtMs),
        createdBy: deps.createdBy,
        uri: sync.uri,
      };
    },
    logs: (sync) =>
      deps.now() < sync.endsAtMs
        ? []
        : [
            {
              syncUri: sync.uri,
              count: sync.rows?.length ?? 0,
              severity: 'information',
              statusCode: 'ELQ-00102',
              message: 'Successfully exported members to csv file.',
              createdAt: eloquaTime(sync.endsAtMs),
            },
          ],
    data: (sync) => {
      if (deps.now() < sync.endsAtMs) return [];
      if (!live(sync)) {
        sync.rows = undefined;
        return undefined;
      }
      return sync.rows;
    },
    define: (input, targets, matches) => {
      const id = nextDefinitionId;
      nextDefinitionId += 1;
      const definition: ExportDefinition = {
        id,
        uri: `/contacts/exports/${id}`,
        input,
        targets,
        matches,
        createdAtMs: deps.now(),
      };
      definitions.set(id, definition);
      return definition;
    },
    definitions: () => [...definitions.values()].filter(alive),
    removeDefinition: (id) => {
      const definition = definitions.get(id);
      if (definition === undefined || !alive(definition)) return false;
      definitions.delete(id);
      dropData(id);
      return true;
    },
    removeData: (id) => {
      const definition = definitions.get(id);
      if (definition === undefined || !alive(definition)) return false;
      dropData(id);
      return true;
    },
    clear: () => {
      definitions = new Map();
      syncs = new Map();
      nextDefinitionId = 1;
    },
  };
};

const exportJson = (definition: ExportDefinition, createdBy: string): Record<string, unknown> => ({
  name: definition.input.name,
  fields: definition.input.fields,
  ...(definition.input.filter === undefined ? {} : { filter: definition.input.filter }),
  dataRetentionDuration: definition.input.dataRetentionDuration,
  ...(definition.input.autoDeleteDuration === undefined
    ? {}
    : { autoDeleteDuration: definition.input.autoDeleteDuration }),
  areSystemTimestampsInUTC: false,
  uri: definition.uri,
  createdBy,
  createdAt: eloquaTime(definition.createdAtMs),
  updatedBy: createdBy,
  updatedAt: eloquaTime(definition.createdAtMs),
});

/** `limit` 1–50,000 (default 1000) and `offset` ≥ 0, as the export data endpoint documents them. */
const parseDataPage = (
  query: Record<string, string | undefined>,
): { limit: number; offset: number } | Failure[] => {
  const failures: Failure[] = [];
  const limit = query.limit === undefined ? EXPORT_DATA_DEFAULT_LIMIT : Number(query.limit);
  const offset = query.offset === undefined ? 0 : Number(query.offset);
  if (!Number.isInteger(limit) || limit < 1 || limit > EXPORT_DATA_MAX_LIMIT || query.limit === '')
    failures.push({
      field: 'limit',
      value: query.limit ?? '',
      constraint: `Must be an integer between 1 and ${EXPORT_DATA_MAX_LIMIT} inclusive.`,
    });
  if (!Number.isInteger(offset) || offset < 0 || query.offset === '')
    failures.push({
      field: 'offset',
      value: query.offset ?? '',
      constraint: 'Must be a non-negative integer.',
    });
  return failures.length > 0 ? failures : { limit, offset };
};

export const registerExportRoutes = (
  scope: FastifyInstance,
  deps: {
    readonly exports: ExportEngine;
    readonly registry: FieldRegistry;
    readonly createdBy: string;
    readonly isImportSync: (id: number) => boolean;
  },
): void => {
  const { exports } = deps;
  const find = (params: unknown) => {
    const id = pathId(params);
    return id === undefined ? undefined : exports.definitionByUri(`/contacts/exports/${id}`);
  };

  scope.post('/contacts/exports', { config: { endpoint: 'eloqua.exportCreate' } }, async (request, reply) => {
    const result = validateExport(request.body, deps.registry);
    if (Array.isArray(result)) return sendFailures(reply, result);
    const definition = exports.define(result.input, result.targets, result.matches);
    return reply.code(201).send(exportJson(definition, deps.createdBy));
  });
  scope.get('/contacts/exports', { config: { endpoint: 'eloqua.exportList' } }, async (request, reply) => {
    const query = parseCollectionQuery(request.query as Record<string, string>);
    if (Array.isArray(query)) return sendFailures(reply, query);
    return collect(
      exports.definitions().map((d) => exportJson(d, deps.createdBy)),
      query,
    );
  });
  scope.get('/contacts/exports/:id', { config: { endpoint: 'eloqua.exportGet' } }, async (request, reply) => {
    const definition = find(request.params);
    return definition === undefined ? sendNotFound(reply) : exportJson(definition, deps.createdBy);
  });
  scope.delete(
    '/contacts/exports/:id',
    { config: { endpoint: 'eloqua.exportDelete' } },
    async (request, reply) => {
      const id = pathId(request.params);
      if (id === undefined || !exports.removeDefinition(id)) return sendNotFound(reply);
      return reply.code(204).send();
    },
  );
  scope.delete(
    '/contacts/exports/:id/data',
    { config: { endpoint: 'eloqua.exportDataDelete' } },
    async (request, reply) => {
      const id = pathId(request.params);
      if (id === undefined || !exports.removeData(id)) return sendNotFound(reply);
      return reply.code(204).send();
    },
  );

  scope.get('/syncs/:id/data', { config: { endpoint: 'eloqua.syncData' } }, async (request, reply) => {
    const page = parseDataPage(request.query as Record<string, string | undefined>);
    if (Array.isArray(page)) return sendFailures(reply, page);
    const id = pathId(request.params);
    const sync = id === undefined ? undefined : exports.sync(id);
    // An import sync has no data: Oracle answers 400 (the op page says so).
    if (sync === undefined)
      return id !== undefined && deps.isImportSync(id)
        ? sendFailures(reply, [
            { field: 'id', value: String(id), constraint: 'Must be the id of an export sync.' },
          ])
        : sendNotFound(reply);
    const rows = exports.data(sync);
    if (rows === undefined) return sendNotFound(reply);
    const items = rows.slice(page.offset, page.offset + page.limit);
    return {
      totalResults: rows.length,
      limit: page.limit,
      offset: page.offset,
      count: items.length,
      hasMore: page.offset + items.length < rows.length,
      items,
    };
  });
};
