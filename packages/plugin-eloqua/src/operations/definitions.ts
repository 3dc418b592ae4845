import { createHash, randomBytes } from 'node:crypto';
import { PermanentError } from '@ferry/core';
import type { EloquaContext } from '../auth.ts';
import { type Bulk, sendBulk } from '../client.ts';
import { fieldStatement, type PreparedGroup } from '../mapping.ts';
import { parseIsoDuration } from '../options.ts';
import type { Collection, ImportDefinition, ImportDefinitionRequest, Sync } from '../types.ts';

/**
 * Contact import definitions (`/contacts/imports`, A.3.2–A.3.3).
 *
 * One definition per (columns, list actions, settings), named after a hash of its content, so any
 * process finds the same one by name. Oracle's best practice (E10) is to reuse a definition only while
 * no sync on it is active; a busy one is left alone and another with the same content is created, so
 * concurrent jobs end up with a small pool of identical definitions. `autoDeleteDuration` removes
 * idle ones, so nothing is left behind.
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

/** `ferry-contacts-<16 hex>`: the same content always gets the same name (and stays under 100 chars). */
export const definitionName = (body: Omit<ImportDefinitionRequest, 'name'>): string =>
  DEFINITION_PREFIX + createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);

/**
 * Definitions this process is uploading to, until their sync exists (then Eloqua shows the sync as
 * pending/active, which keeps other jobs away). Only a way to keep two concurrent jobs of this
 * process off one definition: nothing in it is needed by a later call, and losing it loses nothing.
 */
const leases = new Set<string>();

export interface AcquiredDefinition {
  readonly uri: string;
  /** Created for this job only (`reuseDefinitions: false`): `cleanup` deletes it. */
  readonly owned: boolean;
  /** Lets other jobs of this process consider the definition again. Idempotent. */
  readonly release: () => void;
}

const lease = (bulk: Bulk, uri: string, owned: boolean): AcquiredDefinition | undefined => {
  const key = bulk.base + uri;
  if (leases.has(key)) return undefined;
  leases.add(key);
  return { uri, owned, release: () => leases.delete(key) };
};

const ACTIVE: ReadonlySet<string> = new Set(['pending', 'active']);

/**
 * Whether a sync on the definition is still pending or active. Asks for the definition's latest
 * syncs; they are also filtered here, in case an instance ignores the `q` term. An instance that
 * refuses the query (400) gets the safe answer: busy, so a new definition is made.
 */
export const hasActiveSync = async (ctx: EloquaContext, bulk: Bulk, uri: string): Promise<boolean> => {
  const response = await sendBulk<Collection<Sync>>(ctx, bulk, {
    method: 'GET',
    url: '/syncs',
    query: { q: `syncedInstanceUri='${uri}'`, orderBy: 'createdAt DESC', limit: 10 },
    accept: [400],
    operation: 'list syncs of an import definition',
  });
  if (response.status === 400) return true;
  return (response.data?.items ?? []).some(
    (sync) => sync.syncedInstanceUri === uri && ACTIVE.has(sync.status),
  );
};

const idOf = (uri: string): number => Number(/(\d+)$/.exec(uri)?.[1] ?? Number.NaN);

/**
 * Whether a definition has most of its `autoDeleteDuration` ahead of it. One past half of it is not
 * reused: Eloqua may delete it under a running job, so it is left to expire and a new one is made.
 */
const freshEnough = (ctx: EloquaContext, definition: ImportDefinition, now: number): boolean => {
  const since = Date.parse(definition.updatedAt ?? definition.createdAt ?? '');
  const lifetime = parseIsoDuration(ctx.options.autoDeleteDuration) ?? 0;
  return Number.isNaN(since) || now - since < lifetime / 2;
};

/** Definitions with exactly this name, oldest first; none when the instance refuses the query. */
const findByName = async (ctx: EloquaContext, bulk: Bulk, name: string): Promise<ImportDefinition[]> => {
  const response = await sendBulk<Collection<ImportDefinition>>(ctx, bulk, {
    method: 'GET',
    url: '/contacts/imports',
    query: { q: `name='${name}'`, limit: 100 },
    accept: [400],
    operation: 'find import definitions',
  });
  if (response.status === 400) return [];
  const now = Date.now();
  return (response.data?.items ?? [])
    .filter(
      (definition) =>
        definition.name === name && typeof definition.uri === 'string' && freshEnough(ctx, definition, now),
    )
    .sort((a, b) => idOf(a.uri) - idOf(b.uri));
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

/** Drops data staged on a definition and never synced. `false` when the definition is gone (404). */
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
 * An import definition for the group that no sync is using and no other job of this process is
 * uploading to: an idle one with the same content (its stale staged data dropped first, so a crashed
 * job's rows cannot ride along), or a new one.
 */
export const acquireDefinition = async (
  ctx: EloquaContext,
  bulk: Bulk,
  group: Pick<PreparedGroup, 'columns' | 'actions'>,
): Promise<AcquiredDefinition> => {
  const body = definitionBody(group, ctx);
  const name = definitionName(body);
  if (ctx.options.reuseDefinitions) {
    for (const candidate of await findByName(ctx, bulk, name)) {
      if (leases.has(bulk.base + candidate.uri)) continue;
      if (await hasActiveSync(ctx, bulk, candidate.uri)) continue;
      // Checked again: another job of this process may have taken it while we asked.
      const acquired = lease(bulk, candidate.uri, false);
      if (acquired === undefined) continue;
      try {
        if (await clearStagedData(ctx, bulk, candidate.uri)) return acquired;
      } catch (error) {
        acquired.release();
        throw error;
      }
      acquired.release();
    }
  }
  const owned = !ctx.options.reuseDefinitions;
  // A job's own definition gets a name no reusing instance looks for, so nobody else uploads to it.
  const uri = await createDefinition(ctx, bulk, {
    name: owned ? `${name}-${randomBytes(4).toString('hex')}` : name,
    ...body,
  });
  // A brand-new uri cannot be leased already.
  return lease(bulk, uri, owned) ?? { uri, owned, release: () => {} };
};
