import { defineDestination } from '@ferry/core';
import { encodeBatch, measureChange } from './mapping.ts';
import { verifyAccount } from './operations/account.ts';
import { createImport, deleteImport, getImport, parseHandle, toHandle, toJobStatus } from './operations/jobs.ts';
import { __IDENT__Options } from './options.ts';

/**
 * The __DISPLAY__ destination: NDJSON bulk imports. `exportProfiles` uploads one import per job and
 * returns at once with its id; `checkStatus` reads the import's status and maps the vendor's
 * per-record rejects back to profiles through `members`. Nothing is kept between calls: every method
 * works from `ctx`, its arguments and the vendor (a restarted process checks the same handle).
 */
export const __IDENT__ = defineDestination({
  name: '__NAME__',
  displayName: '__DISPLAY__',
  options: __IDENT__Options,
  capabilities: { delete: true, lists: true, callbacks: false },
  // NDJSON has no envelope, so a job costs exactly the sum of its lines.
  limits: (options) => ({ ...options.limits, jobOverheadBytes: 0 }),
  measure: (change) => measureChange(change),
  verify: (ctx, request) => verifyAccount(ctx, request),

  exportProfiles: async (ctx, batch) => {
    const { body, records, rejected } = await encodeBatch(batch);
    // Nothing to send (an empty batch, or every profile rejected here): no job, and no vendor call.
    if (records === 0) return { job: null, rejected };
    const importId = await createImport(ctx, body);
    ctx.logger.debug('__NAME__ import created', { importId, records, rejected: rejected.length });
    return { job: toHandle(importId), rejected };
  },

  // One read, no writes: checking is idempotent, whatever the state of the import.
  checkStatus: async (ctx, job, members) => toJobStatus(await getImport(ctx, parseHandle(ctx, job)), members),

  cleanup: async (ctx, job) => deleteImport(ctx, parseHandle(ctx, job)),
});

export default __IDENT__;
export { type __PASCAL__Options, __IDENT__Options } from './options.ts';
