import { createHash, randomBytes } from 'node:crypto';
import { PermanentError } from '@ferry/core';
import type { EloquaContext } from '../auth.ts';
import { type Bulk, sendBulk } from '../client.ts';
import { fieldStatement, type PreparedGroup } from '../mapping.ts';
import { parseIsoDuration } from '../options.ts';
import type { ImportDefinition, ImportDefinitionRequest } from '../types.ts';

/**
 * Contact import definitions (`/contacts/imports`, A.3.2–A.3.3).
 *
 * A definition is made for one (columns, list actions, settings) and then reused by later jobs of
 * the same destination instance (Oracle's best practice, E10), from an in-memory pool: no lookup and
 * no check of Eloqua's syncs per job. Each definition is private to the process that created it — its
 * name carries a random suffix and nothing ever looks definitions up by name — so two processes (two
 * state databases against one Eloqua instance) never share one, and the pool alone knows whether one is
 * in use. `autoDeleteDuration` removes them once their process is gone.
 */

/** Name prefix of every definition this plugin creates; the rest is a content hash. */
export const DEFINITION_PREFIX = 'ferry-contacts-';

export const definitionBody = (
  group: Pick<PreparedGroup, 'columns' | 'actions'>,
  ctx: EloquaContext,
): Omit<ImportDefinitionRequest, 'name'> => {
  const { options } = ctx;
  const fields: Record<string, string> = {};
  for (const column of group.columns) fields[column] = fieldStatement(column);
  return {
    fields,
    identifierFieldName: options.identifierField,
    isSyncTriggeredOnImport: false,
    isUpdatingMultipleMatchedRecords: false,
    dataRetentionDuration: options.dataRetentionDuration,
    autoDeleteDuration: options.autoDeleteDuration,
    updateRule: options.updateRule,
    ...(group.actions.length === 0 ? {} : { syncActions: group.actions }),
  };
};

/**
 * `ferry-contacts-<16 hex>`: a hash of the content, so a definition's name says what it imports. The
 * plugin adds a random suffix when it creates one (see `acquireDefinition`).
 */
export const definitionName = (body: Omit<ImportDefinitionRequest, 'name'>): string =>
  DEFINITION_PREFIX + createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);

/**
 * A definition this process created, as the pool remembers it. `busy` from the moment a job takes
 * it until a status check of this process sees the sync started on it end; a definition whose sync
 * was never seen to end (the job was left, or checked by another process) is never handed out again.
 */
interface PooledDefinition {
  /** Base URL and definition name: what a job must match to reuse it. */
  readonly key: string;
  readonly uri: string;
  /** This process's clock when Eloqua created it: `autoDeleteDuration` counts from about then. */
  readonly createdAtMs: number;
  busy: boolean;
  /** The sync the current job started on it, once it has one. */
  sync: string | undefined;
}

/**
 * Pools per destination instance, keyed like the base-URL cache in `auth.ts`: `ctx.options` is built
 * once per instance (the runner's per-job contexts are copies sharing it), and a dropped instance
 * takes its pool with it. Only a cache: losing it costs one definition creation, never a wrong
 * import, because nothing outside this process ever learns about a pooled definition.
 */
const pools = new WeakMap<object, Map<string, PooledDefinition>>();

const poolOf = (ctx: EloquaContext): Map<string, PooledDefinition> => {
  let pool = pools.get(ctx.options);
  if (pool === undefined) {
    pool = new Map();
    pools.set(ctx.options, pool);
  }
  return pool;
};

/**
 * Whether a pooled definition has most of its `autoDeleteDuration` ahead of it. One past half of it is
 * not reused: Eloqua may delete it under a running job (whether the clock restarts on use is not
 * documented, so it is counted from creation), and a new one costs a single call.
 */
const freshEnough = (ctx: EloquaContext, definition: PooledDefinition, now: number): boolean => {
  const lifetime = parseIsoDuration(ctx.options.autoDeleteDuration) ?? 0;
  return now - definition.createdAtMs < lifetime / 2;
};

/**
 * Takes an idle pooled definition for `key`, marking it busy before anything is awaited, so two
 * concurrent jobs of this process can never take the same one. Stale ones are dropped on the way.
 */
const takeIdle = (ctx: EloquaContext, key: string): PooledDefinition | undefined => {
  const pool = poolOf(ctx);
  const now = Date.now();
  for (const [id, definition] of pool) {
    if (definition.key !== key || definition.busy) continue;
    if (!freshEnough(ctx, definition, now)) {
      pool.delete(id);
      continue;
    }
    definition.busy = true;
    definition.sync = undefined;
    return definition;
  }
  return undefined;
};

const poolId = (base: string, uri: string): string => `${base} ${uri}`;

/**
 * A status check of this process saw `sync` end (success, warning or error): its definition may serve
 * the next job. Only the sync last started on the definition frees it, so a late check of an older
 * job cannot free a definition another job is using. In-memory only: `checkStatus` still changes
 * nothing at Eloqua.
 */
export const syncEnded = (ctx: EloquaContext, base: string, definitionUri: string, sync: string): void => {
  const definition = pools.get(ctx.options)?.get(poolId(base, definitionUri));
  if (definition?.busy === true && definition.sync === sync) definition.busy = false;
};

/** Eloqua no longer knows the sync (404): what happened on its definition is unknown, so forget it. */
export const syncLost = (ctx: EloquaContext, base: string, definitionUri: string, sync: string): void => {
  const pool = pools.get(ctx.options);
  if (pool?.get(poolId(base, definitionUri))?.sync === sync) pool?.delete(poolId(base, definitionUri));
};

export interface AcquiredDefinition {
  readonly uri: string;
  /** Created for this job only (`reuseDefinitions: false`): `cleanup` deletes it. */
  readonly owned: boolean;
  /** The job's sync was created on it: it stays this job's until a status check sees `sync` end. */
  readonly started: (sync: string) => void;
  /**
   * The job failed before its sync was surely created (or the definition answered 404): never hand
   * the definition out again, since it may hold staged rows or a sync nobody will see end. Idempotent.
   */
  readonly discard: () => void;
}

const handOut = (ctx: EloquaContext, definition: PooledDefinition, base: string): AcquiredDefinition => {
  const id = poolId(base, definition.uri);
  return {
    uri: definition.uri,
    owned: false,
    started: (sync) => {
      definition.sync = sync;
    },
    discard: () => {
      const pool = pools.get(ctx.options);
      if (pool?.get(id) === definition) pool.delete(id);
    },
  };
};

const createDefinition = async (ctx: EloquaContext, bulk: Bulk, request: ImportDefinitionRequest) => {
  const response = await sendBulk<ImportDefinition>(ctx, bulk, {
    method: 'POST',
    url: '/contacts/imports',
    json: request,
    operation: 'create import definition',
  });
  const uri = response.data?.uri;
  if (typeof uri !== 'string' || !/^\/contacts\/imports\/\d+$/.test(uri)) {
    throw new PermanentError(
      ctx.destination,
      'create import definition: Eloqua answered without a definition uri',
      {
        status: response.status,
        code: 'invalid_response',
      },
    );
  }
  return uri;
};

/** Drops data staged on a definition and not synced. `false` when the definition is gone (404). */
export const clearStagedData = async (ctx: EloquaContext, bulk: Bulk, uri: string): Promise<boolean> => {
  const response = await sendBulk(ctx, bulk, {
    method: 'DELETE',
    url: `${uri}/data`,
    accept: [404],
    operation: 'clear staged data',
  });
  return response.status !== 404;
};

export const deleteDefinition = async (ctx: EloquaContext, bulk: Bulk, uri: string): Promise<void> => {
  await sendBulk(ctx, bulk, {
    method: 'DELETE',
    url: uri,
    accept: [404],
    operation: 'delete import definition',
  });
};

/**
 * An import definition for the group that nothing else is using: one from this process's pool whose
 * last sync this process saw end, or a new one. Reusing costs one call, the same as creating:
 *
 * - The pooled definition's staged data is cleared first. Oracle describes `dataRetentionDuration` as
 *   how long "unsync'd data" stays in the staging area (E1), which suggests a sync consumes what it
 *   imported, but no Oracle page says so — UNVERIFIED — and if it did not, the next sync would import
 *   the previous job's rows again and reject this job's newer rows for the same contacts as
 *   duplicates. Creating is never preceded by a clear: a new definition has nothing staged.
 * - There is no lookup by name and no check of Eloqua's syncs: only this process knows the
 *   definition (random name suffix), and the pool says whether its sync ended. A job that finds no
 *   idle one — the first, or one running while others are in flight — creates one, which joins the
 *   pool; so it holds at most about `maxJobsInFlight` definitions per group.
 * - A pooled definition deleted meanwhile (auto-delete, a person) answers the clear with 404: it is
 *   forgotten and the next idle one, or a new one, is used.
 */
export const acquireDefinition = async (
  ctx: EloquaContext,
  bulk: Bulk,
  group: Pick<PreparedGroup, 'columns' | 'actions'>,
): Promise<AcquiredDefinition> => {
  const body = definitionBody(group, ctx);
  const name = definitionName(body);
  // The suffix keeps other processes (and older versions of this plugin, which looked definitions up
  // by the bare name) from ever finding this one; the name stays under Eloqua's 100 characters.
  const request = { name: `${name}-${randomBytes(4).toString('hex')}`, ...body };
  if (!ctx.options.reuseDefinitions) {
    const uri = await createDefinition(ctx, bulk, request);
    return { uri, owned: true, started: () => {}, discard: () => {} };
  }
  const key = `${bulk.base} ${name}`;
  const pool = poolOf(ctx);
  for (let definition = takeIdle(ctx, key); definition !== undefined; definition = takeIdle(ctx, key)) {
    let cleared: boolean;
    try {
      cleared = await clearStagedData(ctx, bulk, definition.uri);
    } catch (error) {
      // The definition is as it was (a clear is idempotent): idle again, for a later job to clear.
      definition.busy = false;
      throw error;
    }
    if (cleared) return handOut(ctx, definition, bulk.base);
    pool.delete(poolId(bulk.base, definition.uri));
  }
  const createdAtMs = Date.now();
  const uri = await createDefinition(ctx, bulk, request);
  const definition: PooledDefinition = { key, uri, createdAtMs, busy: true, sync: undefined };
  pool.set(poolId(bulk.base, uri), definition);
  return handOut(ctx, definition, bulk.base);
};
