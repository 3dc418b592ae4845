import { PermanentError } from '@ferry/core';
import type { EloquaContext } from '../auth.ts';
import { type Bulk, readAllPages, sendBulk } from '../client.ts';
import type { Sync, SyncLog, SyncReject, SyncStatus } from '../types.ts';

/**
 * Syncs (`/syncs`, A.3.5–A.3.8): start one for a definition's staged data, read its status, its
 * rejected rows and its logs. Reads only: nothing here changes a sync once it exists.
 */

const SYNC_URI = /^\/syncs\/\d+$/;
const STATUSES: ReadonlySet<string> = new Set(['pending', 'active', 'success', 'warning', 'error']);

/**
 * Starts the sync that imports what was uploaded. `callbackUrl` (the runner's listener, when it has
 * one) makes Eloqua call back when the sync ends; the runner only takes that as a nudge to check.
 */
export const createSync = async (
  ctx: EloquaContext,
  bulk: Bulk,
  definitionUri: string,
  callbackUrl: string | undefined,
): Promise<string> => {
  const response = await sendBulk<Sync>(ctx, bulk, {
    method: 'POST',
    url: '/syncs',
    json: { syncedInstanceUri: definitionUri, ...(callbackUrl === undefined ? {} : { callbackUrl }) },
    operation: 'create sync',
  });
  const uri = response.data?.uri;
  if (typeof uri !== 'string' || !SYNC_URI.test(uri)) {
    throw new PermanentError(ctx.destination, 'create sync: Eloqua answered without a sync uri', {
      status: response.status,
      code: 'invalid_response',
    });
  }
  return uri;
};

/** The sync's status, or `undefined` when Eloqua does not know the sync (404). */
export const getSyncStatus = async (
  ctx: EloquaContext,
  bulk: Bulk,
  syncUri: string,
): Promise<SyncStatus | undefined> => {
  const response = await sendBulk<Sync>(ctx, bulk, {
    method: 'GET',
    url: syncUri,
    accept: [404],
    operation: 'get sync',
  });
  if (response.status === 404) return undefined;
  const status = response.data?.status;
  // Oracle's prose calls it "errored"; the API says "error". Both mean the same here.
  if (status === ('errored' as SyncStatus)) return 'error';
  if (typeof status !== 'string' || !STATUSES.has(status)) {
    throw new PermanentError(
      ctx.destination,
      `get sync ${syncUri}: unknown status ${JSON.stringify(status)}`,
      {
        code: 'invalid_response',
      },
    );
  }
  return status;
};

/** Feeds every rejected row of a sync to `onPage`, 1000 per request; `false` when the sync is gone. */
export const readRejects = async (
  ctx: EloquaContext,
  bulk: Bulk,
  syncUri: string,
  onPage: (rejects: readonly SyncReject[]) => void,
): Promise<boolean> =>
  (await readAllPages<SyncReject>(
    ctx,
    bulk,
    { url: `${syncUri}/rejects`, operation: 'read sync rejects' },
    onPage,
    { accept404: true },
  )) === 'ok';

/** Every log line of a sync; `undefined` when the sync is gone. */
export const readLogs = async (
  ctx: EloquaContext,
  bulk: Bulk,
  syncUri: string,
): Promise<readonly SyncLog[] | undefined> => {
  const logs: SyncLog[] = [];
  const found = await readAllPages<SyncLog>(
    ctx,
    bulk,
    { url: `${syncUri}/logs`, operation: 'read sync logs' },
    (page) => logs.push(...page),
    { accept404: true },
  );
  return found === 'ok' ? logs : undefined;
};

/**
 * Status codes after which a failed sync is worth resubmitting. Eloqua documents few of the codes
 * above ELQ-00104 (A.3.9): these are the staging and temporary failures, plus a definition that
 * vanished (a resubmission creates it again) and "no data" (staged data expired or was taken by a
 * concurrent sync). Unknown codes are treated as retryable too: resubmitting is safe (imports upsert)
 * and the runner bounds attempts, while a wrong "permanent" would reject every profile for good.
 */
const PERMANENT_SYNC_ERRORS: ReadonlySet<string> = new Set([
  // Multiple matched record limit exceeded: the data itself matches too many contacts.
  'ELQ-00135',
]);

export interface SyncFailure {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** Why a sync ended `error`, from its logs: the error lines, the summary line left out. */
export const describeSyncError = (syncUri: string, logs: readonly SyncLog[]): SyncFailure => {
  const errors = logs.filter((log) => log.severity === 'error' && log.statusCode !== 'ELQ-00101');
  const chosen = errors.length > 0 ? errors : logs.filter((log) => log.severity === 'warning');
  const text = chosen
    .map((log) => `${log.statusCode ?? ''} ${log.message ?? ''}`.trim())
    .filter((line) => line !== '')
    .join('; ');
  const code = chosen.find((log) => log.statusCode !== undefined)?.statusCode ?? 'sync_error';
  return {
    code,
    message: `Eloqua sync ${syncUri} ended in error${text === '' ? '' : `: ${text}`}`,
    retryable: !PERMANENT_SYNC_ERRORS.has(code),
  };
};
