import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from '../faults.ts';
import { type CommonOptions, jobTimeline } from '../vendor-server.ts';
import { collect, envelope, parseCollectionQuery, parsePageParams } from './collection.ts';
import { type DefinitionRegistry, type ImportDefinition, pathId } from './definitions.ts';
import type { ExportEngine, ExportSync } from './exports.ts';
import type { FieldRegistry } from './fields.ts';
import {
  applyUploads,
  definitionGone,
  type InvalidFieldPolicy,
  type SyncOutcome,
  type SyncReject,
} from './processing.ts';
import type { ContactStore } from './store.ts';
import { fieldValuesOf, type StagedUpload } from './uploads.ts';
import { eloquaTime, type Failure, sendFailures, sendNotFound } from './wire.ts';

/**
 * Syncs (`/syncs`): creation, the pending → active → success|warning|error timetable, applying
 * the staged rows to the contact store, rejects, logs, and `callbackUrl` delivery.
 *
 * A sync takes the definition's staged uploads when it is created and applies them atomically
 * when its timetable says it ends — from a timer, or earlier from any request that finds it due
 * (`settleDue`), so what a client reads is always consistent with the clock.
 */

export type { InvalidFieldPolicy, SyncLog, SyncReject } from './processing.ts';

export type SyncStatus = 'pending' | 'active' | 'success' | 'warning' | 'error';

export interface SyncRecord {
  readonly id: number;
  readonly uri: string;
  readonly definitionId: number;
  readonly syncedInstanceUri: string;
  readonly callbackUrl: string | undefined;
  readonly createdAtMs: number;
  readonly startsAtMs: number;
  readonly endsAtMs: number;
  readonly recordCount: number;
  /** Released when the sync settles; only rejected rows are kept (in `outcome`). */
  uploads: StagedUpload[] | undefined;
  outcome: SyncOutcome | undefined;
  timer: NodeJS.Timeout | undefined;
}

export interface CallbackAttempt {
  readonly at: string;
  readonly syncUri: string;
  readonly url: string;
  readonly status?: number;
  readonly error?: string;
}

export interface SyncEngineDeps {
  readonly now: () => number;
  readonly registry: FieldRegistry;
  readonly store: ContactStore;
  readonly definitions: DefinitionRegistry;
  readonly timing: Pick<CommonOptions, 'startDelayMs' | 'recordsPerSecond'>;
  readonly invalidFieldPolicy: InvalidFieldPolicy;
  readonly callbackTimeoutMs: number;
  readonly createdBy: string;
}

export interface SyncEngine {
  readonly create: (definition: ImportDefinition, callbackUrl: string | undefined) => SyncRecord;
  /** The sync (settled first when due), or undefined. */
  readonly get: (id: number) => SyncRecord | undefined;
  readonly list: () => SyncRecord[];
  readonly settleDue: () => void;
  /** Forgets a sync for good (the `vanish` fault). */
  readonly remove: (id: number) => void;
  /**
   * The sync as the API shows it. `asCreated`: as the creating response shows it — always
   * `pending` (A.3.5), even when zero-delay mode is about to finish it.
   */
  readonly json: (sync: SyncRecord, asCreated?: boolean) => Record<string, unknown>;
  readonly callbacks: () => readonly CallbackAttempt[];
  /** The next id of the one `/syncs/{id}` space import and export syncs share. */
  readonly allocateId: () => number;
  readonly clear: () => void;
}

const CALLBACK_LOG_LIMIT = 1000;
/** setTimeout's ceiling; later syncs settle lazily on the first read after they are due. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export const createSyncEngine = (deps: SyncEngineDeps): SyncEngine => {
  let syncs = new Map<number, SyncRecord>();
  let unsettled = new Map<number, SyncRecord>();
  let nextId = 1;
  let callbackLog: CallbackAttempt[] = [];
  const allocateId = (): number => {
    const id = nextId;
    nextId += 1;
    return id;
  };

  const json = (sync: SyncRecord, forcePending = false): Record<string, unknown> => {
    const now = deps.now();
    const status: SyncStatus =
      forcePending || (sync.outcome === undefined && now < sync.startsAtMs)
        ? 'pending'
        : (sync.outcome?.status ?? 'active');
    return {
      syncedInstanceUri: sync.syncedInstanceUri,
      ...(sync.callbackUrl === undefined ? {} : { callbackUrl: sync.callbackUrl }),
      ...(status === 'pending' ? {} : { syncStartedAt: eloquaTime(sync.startsAtMs) }),
      ...(sync.outcome === undefined || forcePending ? {} : { syncEndedAt: eloquaTime(sync.endsAtMs) }),
      status,
      createdAt: eloquaTime(sync.createdAtMs),
      createdBy: deps.createdBy,
      uri: sync.uri,
    };
  };

  const deliverCallback = async (sync: SyncRecord, url: string): Promise<void> => {
    // Method and body are UNVERIFIED (A.7): the sandbox POSTs the sync as GET /syncs/{id} shows it.
    let attempt: CallbackAttempt;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(json(sync)),
        signal: AbortSignal.timeout(deps.callbackTimeoutMs),
      });
      await response.body?.cancel();
      attempt = { at: new Date().toISOString(), syncUri: sync.uri, url, status: response.status };
    } catch (error) {
      attempt = { at: new Date().toISOString(), syncUri: sync.uri, url, error: String(error) };
    }
    callbackLog.push(attempt);
    if (callbackLog.length > CALLBACK_LOG_LIMIT)
      callbackLog.splice(0, callbackLog.length - CALLBACK_LOG_LIMIT);
  };

  const settle = (sync: SyncRecord): void => {
    if (sync.outcome !== undefined) return;
    if (sync.timer !== undefined) clearTimeout(sync.timer);
    sync.timer = undefined;
    unsettled.delete(sync.id);
    const definition = deps.definitions.get(sync.definitionId, sync.endsAtMs);
    sync.outcome =
      definition === undefined
        ? definitionGone(sync)
        : applyUploads(sync, definition, sync.uploads ?? [], { ...deps, nowMs: sync.endsAtMs });
    sync.uploads = undefined;
    if (sync.callbackUrl !== undefined && syncs.has(sync.id)) void deliverCallback(sync, sync.callbackUrl);
  };

  /** Settles at `endsAtMs` by the sandbox clock, which a test may hold still or move ahead. */
  const schedule = (sync: SyncRecord): void => {
    // Even a due sync settles on a later tick: the creating request is answered first.
    const wait = Math.max(0, sync.endsAtMs - deps.now());
    sync.timer = setTimeout(
      () => {
        sync.timer = undefined;
        if (deps.now() >= sync.endsAtMs) settle(sync);
        else schedule(sync);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    sync.timer.unref();
  };

  const settleDue = () => {
    if (unsettled.size === 0) return;
    const now = deps.now();
    const due = [...unsettled.values()].filter((s) => s.endsAtMs <= now);
    due.sort((a, b) => a.endsAtMs - b.endsAtMs || a.id - b.id);
    for (const sync of due) settle(sync);
  };

  return {
    create: (definition, callbackUrl) => {
      const now = deps.now();
      const uploads = deps.definitions.liveUploads(definition, now);
      definition.uploads = [];
      const recordCount = uploads.reduce((sum, upload) => sum + upload.rows.length, 0);
      const timeline = jobTimeline(deps.timing, now, recordCount);
      const id = allocateId();
      const sync: SyncRecord = {
        id,
        uri: `/syncs/${id}`,
        definitionId: definition.id,
        syncedInstanceUri: definition.uri,
        callbackUrl,
        createdAtMs: now,
        startsAtMs: timeline.startsAtMs,
        endsAtMs: timeline.endsAtMs,
        recordCount,
        uploads,
        outcome: undefined,
        timer: undefined,
      };
      syncs.set(id, sync);
      unsettled.set(id, sync);
      schedule(sync);
      return sync;
    },
    get: (id) => {
      settleDue();
      return syncs.get(id);
    },
    list: () => {
      settleDue();
      return [...syncs.values()];
    },
    settleDue,
    remove: (id) => {
      const sync = syncs.get(id);
      if (sync?.timer !== undefined) clearTimeout(sync.timer);
      syncs.delete(id);
      unsettled.delete(id);
    },
    json: (sync, asCreated = false) => json(sync, asCreated),
    callbacks: () => callbackLog,
    allocateId,
    clear: () => {
      for (const sync of syncs.values()) if (sync.timer !== undefined) clearTimeout(sync.timer);
      syncs = new Map();
      unsettled = new Map();
      nextId = 1;
      callbackLog = [];
    },
  };
};

export interface SyncRouteDeps {
  readonly now: () => number;
  readonly definitions: DefinitionRegistry;
  readonly engine: SyncEngine;
  readonly exports: ExportEngine;
  readonly faults: FaultInjector;
}

const IMPORT_URI = /^\/contacts\/imports\/(\d{1,15})$/;

const validateSyncBody = (
  body: unknown,
  deps: SyncRouteDeps,
):
  | { definition: ImportDefinition; callbackUrl: string | undefined }
  | { exportSync: ExportSync }
  | Failure[] => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return [{ field: 'body', constraint: 'Must be a JSON object.' }];
  }
  const { syncedInstanceUri, callbackUrl } = body as Record<string, unknown>;
  const failures: Failure[] = [];
  let definition: ImportDefinition | undefined;
  if (typeof syncedInstanceUri !== 'string' || syncedInstanceUri === '') {
    failures.push({ field: 'syncedInstanceUri', constraint: 'Must be the uri of an import definition.' });
  } else if (syncedInstanceUri.startsWith('/contacts/exports/')) {
    // An export sync: its definition exists or the sync is refused (callbackUrl is ignored for
    // exports in the sandbox — see docs/eloqua.md).
    const exportDefinition = deps.exports.definitionByUri(syncedInstanceUri);
    if (exportDefinition === undefined) {
      failures.push({
        field: 'syncedInstanceUri',
        value: syncedInstanceUri,
        constraint: 'Must reference an existing export definition.',
      });
      return failures;
    }
    return { exportSync: deps.exports.createSync(exportDefinition) };
  } else {
    const match = IMPORT_URI.exec(syncedInstanceUri);
    definition = match?.[1] === undefined ? undefined : deps.definitions.get(Number(match[1]), deps.now());
    if (definition === undefined) {
      failures.push({
        field: 'syncedInstanceUri',
        value: syncedInstanceUri,
        constraint:
          match === null
            ? 'Must reference a contact import (/contacts/imports/{id}) or export (/contacts/exports/{id}) definition; the sandbox emulates contacts only.'
            : 'Must reference an existing import definition.',
      });
    }
  }
  if (callbackUrl !== undefined && (typeof callbackUrl !== 'string' || !isHttpUrl(callbackUrl))) {
    failures.push({
      field: 'callbackUrl',
      value: String(callbackUrl),
      constraint: 'Must be an absolute http(s) URL.',
    });
  }
  if (failures.length > 0 || definition === undefined) return failures;
  return { definition, callbackUrl: callbackUrl as string | undefined };
};

const isHttpUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
};

export const rejectJson = (reject: SyncReject): Record<string, unknown> => ({
  fieldValues: fieldValuesOf(reject.columns, reject.row),
  message: reject.message,
  statusCode: reject.statusCode,
  recordIndex: reject.recordIndex,
  invalidFields: reject.invalidFields,
});

export const registerSyncRoutes = (scope: FastifyInstance, deps: SyncRouteDeps): void => {
  const { engine } = deps;
  /** The sync for a status/rejects/logs request, after giving the `vanish` fault its chance. */
  const findSync = (request: { params: unknown; ferryFault?: string }, endpoint: string) => {
    const id = pathId(request.params);
    const sync = id === undefined ? undefined : engine.get(id);
    if (sync === undefined) return undefined;
    if (deps.faults.draw(endpoint, ['vanish']) !== undefined) {
      engine.remove(sync.id);
      request.ferryFault = 'vanish';
      return undefined;
    }
    return sync;
  };

  scope.post('/syncs', { config: { endpoint: 'eloqua.syncCreate' } }, async (request, reply) => {
    const result = validateSyncBody(request.body, deps);
    if (Array.isArray(result)) return sendFailures(reply, result);
    if ('exportSync' in result) return reply.code(201).send(deps.exports.syncJson(result.exportSync, true));
    const sync = engine.create(result.definition, result.callbackUrl);
    return reply.code(201).send(engine.json(sync, true));
  });

  scope.get('/syncs', { config: { endpoint: 'eloqua.syncList' } }, async (request, reply) => {
    const query = parseCollectionQuery(request.query as Record<string, string>);
    if (Array.isArray(query)) return sendFailures(reply, query);
    return collect(
      [
        ...engine.list().map((sync) => engine.json(sync)),
        ...deps.exports.syncs().map((sync) => deps.exports.syncJson(sync)),
      ],
      query,
    );
  });

  /** An export sync by path id (faults apply to import syncs, whose status Ferry polls). */
  const exportSync = (params: unknown): ExportSync | undefined => {
    const id = pathId(params);
    return id === undefined ? undefined : deps.exports.sync(id);
  };

  scope.get('/syncs/:id', { config: { endpoint: 'eloqua.syncStatus' } }, async (request, reply) => {
    const exported = exportSync(request.params);
    if (exported !== undefined) return deps.exports.syncJson(exported);
    const sync = findSync(request, 'eloqua.syncStatus');
    return sync === undefined ? sendNotFound(reply) : engine.json(sync);
  });

  scope.get('/syncs/:id/rejects', { config: { endpoint: 'eloqua.rejects' } }, async (request, reply) => {
    const params = parsePageParams(request.query as Record<string, string>);
    if (Array.isArray(params)) return sendFailures(reply, params);
    if (exportSync(request.params) !== undefined) return envelope([], params);
    const sync = findSync(request, 'eloqua.rejects');
    if (sync === undefined) return sendNotFound(reply);
    const page = envelope(sync.outcome?.rejects ?? [], params);
    return { ...page, items: page.items.map(rejectJson) };
  });

  scope.get('/syncs/:id/logs', { config: { endpoint: 'eloqua.logs' } }, async (request, reply) => {
    const params = parsePageParams(request.query as Record<string, string>);
    if (Array.isArray(params)) return sendFailures(reply, params);
    const exported = exportSync(request.params);
    if (exported !== undefined) return envelope(deps.exports.logs(exported), params);
    const sync = findSync(request, 'eloqua.logs');
    if (sync === undefined) return sendNotFound(reply);
    const createdAt = eloquaTime(sync.endsAtMs);
    const logs = (sync.outcome?.logs ?? []).map((log) => ({ syncUri: sync.uri, ...log, createdAt }));
    return envelope(logs, params);
  });
};
