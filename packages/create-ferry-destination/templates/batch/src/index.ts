import { defineDestination } from '@ferry/core';
import { ENVELOPE_BYTES, encodeBatch, measureChange } from './mapping.ts';
import { verifyAccount } from './operations/account.ts';
import { getBatch, parseHandle, sendBatch, toHandle, toJobStatus } from './operations/batches.ts';
import { __IDENT__Options } from './options.ts';

/**
 * The __DISPLAY__ destination: a synchronous batch endpoint. The vendor applies a batch while the
 * request waits and answers with one result per record, so per-profile outcomes are known at
 * submission (`rejected`, permanent or retryable) and the job is complete once the batch is
 * accepted; `checkStatus` only confirms the vendor still knows the batch. Nothing is kept between calls.
 */
export const __IDENT__ = defineDestination({
  name: '__NAME__',
  displayName: '__DISPLAY__',
  options: __IDENT__Options,
  capabilities: { delete: true, lists: true, callbacks: false },
  // `{"records":[` … `]}` around the records, the commas between them counted in `measure`.
  limits: (options) => ({ ...options.limits, jobOverheadBytes: ENVELOPE_BYTES }),
  measure: (change) => measureChange(change),
  verify: (ctx, request) => verifyAccount(ctx, request),

  exportProfiles: async (ctx, batch) => {
    const { records, members, rejected } = await encodeBatch(batch);
    // Nothing to send (an empty batch, or every profile rejected here): no job, and no vendor call.
    if (records.length === 0) return { job: null, rejected };
    const { batchId, outcomes } = await sendBatch(ctx, records, members);
    ctx.logger.debug('__NAME__ batch applied', { batchId, records: records.length, outcomes: outcomes.length });
    const all = [...rejected, ...outcomes];
    // Every record refused: nothing of this batch is at the vendor, so there is no job to check.
    return { job: outcomes.length === records.length ? null : toHandle(batchId), rejected: all };
  },

  // One read, no writes: the batch was applied at submission; this confirms the vendor has it.
  checkStatus: async (ctx, job) => toJobStatus(await getBatch(ctx, parseHandle(ctx, job))),
});

export default __IDENT__;
export { type __PASCAL__Options, __IDENT__Options } from './options.ts';
