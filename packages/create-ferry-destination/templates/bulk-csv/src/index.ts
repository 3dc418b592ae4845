import { defineDestination } from '@ferry/core';
import { encodeBatch, HEADER_BUDGET_BYTES, measureChange } from './mapping.ts';
import { verifyAccount } from './operations/account.ts';
import { createImport, deleteImport, getImport, parseHandle, toHandle, toJobStatus } from './operations/jobs.ts';
import { __IDENT__Options } from './options.ts';

/**
 * The __DISPLAY__ destination: CSV bulk imports. `exportProfiles` uploads one CSV file per job and
 * returns at once with the import's id; `checkStatus` reads the import's status and maps the
 * vendor's rejected rows back to profiles through `members`. A CSV import can only upsert: no
 * deletes, no list changes. Nothing is kept between calls.
 */
export const __IDENT__ = defineDestination({
  name: '__NAME__',
  displayName: '__DISPLAY__',
  options: __IDENT__Options,
  capabilities: { delete: false, lists: false, callbacks: false },
  // The header row is paid once per job, out of a fixed budget (see mapping.ts).
  limits: (options) => ({ ...options.limits, jobOverheadBytes: HEADER_BUDGET_BYTES }),
  measure: (change) => measureChange(change),
  verify: (ctx, request) => verifyAccount(ctx, request),

  exportProfiles: async (ctx, batch) => {
    const { body, records, rejected } = await encodeBatch(ctx.destination, batch);
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
