import type { FastifyInstance } from 'fastify';
import { collect, parseCollectionQuery } from './collection.ts';
import type { FieldRegistry } from './fields.ts';
import type { ContactStore } from './store.ts';
import type { StagedUpload } from './uploads.ts';
import {
  type DefinitionInput,
  type DefinitionLimits,
  parseIsoDuration,
  validateDefinition,
} from './validation.ts';
import { eloquaTime, sendFailures, sendNotFound } from './wire.ts';

/**
 * Contact import definitions (`/contacts/imports`): CRUD, staged uploads per definition, and the
 * two clocks a definition carries — `autoDeleteDuration` (the definition itself disappears) and
 * `dataRetentionDuration` (staged, not yet synced uploads disappear). Both are checked lazily
 * against the sandbox clock on every request, so a test can jump the clock instead of waiting.
 */

export interface ImportDefinition {
  readonly id: number;
  readonly uri: string;
  input: DefinitionInput;
  readonly createdAtMs: number;
  updatedAtMs: number;
  /** When `autoDeleteDuration` removes the definition (counted from the last create/update). */
  deleteAtMs: number | undefined;
  /** Uploads posted since the last sync took them (or since `DELETE .../data`). */
  uploads: StagedUpload[];
}

export interface DefinitionRegistry {
  /** The definition if it exists at `atMs` (autoDelete honoured). */
  readonly get: (id: number, atMs: number) => ImportDefinition | undefined;
  readonly list: (nowMs: number) => ImportDefinition[];
  readonly create: (input: DefinitionInput, nowMs: number) => ImportDefinition;
  readonly update: (definition: ImportDefinition, input: DefinitionInput, nowMs: number) => void;
  readonly remove: (id: number) => boolean;
  /** The definition's staged-uploads array, after dropping uploads past `dataRetentionDuration`. */
  readonly liveUploads: (definition: ImportDefinition, nowMs: number) => StagedUpload[];
  /** Removes auto-deleted definitions so their staged data is freed. */
  readonly sweep: (nowMs: number) => void;
  readonly clear: () => void;
}

export const createDefinitionRegistry = (firstId = 1): DefinitionRegistry => {
  let byId = new Map<number, ImportDefinition>();
  let nextId = firstId;
  const deleteAt = (input: DefinitionInput, fromMs: number): number | undefined => {
    const ms =
      input.autoDeleteDuration === undefined ? undefined : parseIsoDuration(input.autoDeleteDuration);
    return ms === undefined ? undefined : fromMs + ms;
  };
  const alive = (definition: ImportDefinition, atMs: number) =>
    definition.deleteAtMs === undefined || atMs < definition.deleteAtMs;
  return {
    get: (id, atMs) => {
      const definition = byId.get(id);
      return definition !== undefined && alive(definition, atMs) ? definition : undefined;
    },
    list: (nowMs) => [...byId.values()].filter((d) => alive(d, nowMs)),
    create: (input, nowMs) => {
      const id = nextId;
      nextId += 1;
      const definition: ImportDefinition = {
        id,
        uri: `/contacts/imports/${id}`,
        input,
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
        deleteAtMs: deleteAt(input, nowMs),
        uploads: [],
      };
      byId.set(id, definition);
      return definition;
    },
    update: (definition, input, nowMs) => {
      definition.input = input;
      definition.updatedAtMs = nowMs;
      definition.deleteAtMs = deleteAt(input, nowMs);
    },
    remove: (id) => byId.delete(id),
    liveUploads: (definition, nowMs) => {
      const retention = parseIsoDuration(definition.input.dataRetentionDuration) ?? Number.POSITIVE_INFINITY;
      const live = definition.uploads.filter((upload) => nowMs - upload.stagedAtMs < retention);
      if (live.length !== definition.uploads.length) definition.uploads = live;
      return definition.uploads;
    },
    sweep: (nowMs) => {
      for (const [id, definition] of byId) if (!alive(definition, nowMs)) byId.delete(id);
    },
    clear: () => {
      byId = new Map();
      nextId = firstId;
    },
  };
};

/** The definition as the API returns it (A.3.2 response: defaults filled, optional keys echoed). */
export const definitionJson = (definition: ImportDefinition, createdBy: string): Record<string, unknown> => {
  const { input } = definition;
  return {
    name: input.name,
    fields: input.fields,
    identifierFieldName: input.identifierFieldName,
    isSyncTriggeredOnImport: input.isSyncTriggeredOnImport,
    dataRetentionDuration: input.dataRetentionDuration,
    ...(input.autoDeleteDuration === undefined ? {} : { autoDeleteDuration: input.autoDeleteDuration }),
    ...(input.syncActions === undefined
      ? {}
      : {
          syncActions: input.syncActions.map((action) =>
            action.action === 'setStatus'
              ? { action: action.action, destination: action.destination, status: action.status }
              : { action: action.action, destination: action.destination },
          ),
        }),
    ...(input.updateRule === undefined ? {} : { updateRule: input.updateRule }),
    ...(input.updateRuleByField === undefined ? {} : { updateRuleByField: input.updateRuleByField }),
    isUpdatingMultipleMatchedRecords: input.isUpdatingMultipleMatchedRecords,
    ...(input.nullIdentifierFieldName === undefined
      ? {}
      : { nullIdentifierFieldName: input.nullIdentifierFieldName }),
    ...(input.importPriorityUri === undefined ? {} : { importPriorityUri: input.importPriorityUri }),
    ...(input.externalSystemId === undefined ? {} : { externalSystemId: input.externalSystemId }),
    uri: definition.uri,
    createdBy,
    createdAt: eloquaTime(definition.createdAtMs),
    updatedBy: createdBy,
    updatedAt: eloquaTime(definition.updatedAtMs),
  };
};

export interface DefinitionRouteDeps {
  readonly now: () => number;
  readonly registry: FieldRegistry;
  readonly store: ContactStore;
  readonly definitions: DefinitionRegistry;
  readonly limits: DefinitionLimits;
  readonly createdBy: string;
}

/** Numeric path id, or undefined (non-numeric ids are simply not found). */
export const pathId = (params: unknown): number | undefined => {
  const raw = (params as { id?: string }).id ?? '';
  return /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
};

export const registerDefinitionRoutes = (scope: FastifyInstance, deps: DefinitionRouteDeps): void => {
  const { definitions } = deps;
  const validate = (body: unknown) =>
    validateDefinition(body, {
      registry: deps.registry,
      limits: deps.limits,
      listExists: (id) => deps.store.lists.has(id),
    });
  const find = (params: unknown) => {
    const id = pathId(params);
    return id === undefined ? undefined : definitions.get(id, deps.now());
  };

  scope.post(
    '/contacts/imports',
    { config: { endpoint: 'eloqua.definitionCreate' } },
    async (request, reply) => {
      const result = validate(request.body);
      if ('failures' in result) return sendFailures(reply, result.failures);
      const definition = definitions.create(result.input, deps.now());
      return reply.code(201).send(definitionJson(definition, deps.createdBy));
    },
  );

  scope.get(
    '/contacts/imports',
    { config: { endpoint: 'eloqua.definitionList' } },
    async (request, reply) => {
      const query = parseCollectionQuery(request.query as Record<string, string>);
      if (Array.isArray(query)) return sendFailures(reply, query);
      return collect(
        definitions.list(deps.now()).map((d) => definitionJson(d, deps.createdBy)),
        query,
      );
    },
  );

  scope.get(
    '/contacts/imports/:id',
    { config: { endpoint: 'eloqua.definitionGet' } },
    async (request, reply) => {
      const definition = find(request.params);
      if (definition === undefined) return sendNotFound(reply);
      return definitionJson(definition, deps.createdBy);
    },
  );

  scope.put(
    '/contacts/imports/:id',
    { config: { endpoint: 'eloqua.definitionUpdate' } },
    async (request, reply) => {
      const definition = find(request.params);
      if (definition === undefined) return sendNotFound(reply);
      const result = validate(request.body);
      if ('failures' in result) return sendFailures(reply, result.failures);
      definitions.update(definition, result.input, deps.now());
      return definitionJson(definition, deps.createdBy);
    },
  );

  scope.delete(
    '/contacts/imports/:id',
    { config: { endpoint: 'eloqua.definitionDelete' } },
    async (request, reply) => {
      const definition = find(request.params);
      if (definition === undefined) return sendNotFound(reply);
      definitions.remove(definition.id);
      return reply.code(204).send();
    },
  );
};
