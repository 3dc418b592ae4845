import { defineDestination, PermanentError } from '@ferry/core';
import { encodeBatch, measureChange } from './mapping.ts';
import { verifyAccount } from './operations/account.ts';
import {
  createImport,
  deleteImport,
  getImport,
  parseHandle,
  toHandle,
  toJobStatus,
} from './operations/jobs.ts';
import { memoryOptions } from './options.ts';

/**
 * The memory destination: a complete async destination whose "vendor" lives in this process
 * (store.ts). It is the reference plugin — copy its layout: options.ts (documented schema),
 * client.ts (transport + error mapping), mapping.ts (validation, encoding, measure), operations/
 * (one file per endpoint group), types.ts (wire types). It holds no state of its own: every method
 * works from `ctx`, its arguments and the vendor.
 */
export const memory = defineDestination({
  name: 'memory',
  displayName: 'Memory (in-process)',
  options: memoryOptions,
  capabilities: { delete: true, lists: true, callbacks: false },
  // NDJSON has no envelope, so a job costs exactly the sum of its lines.
  limits: (options) => ({ ...options.limits, jobOverheadBytes: 0 }),
  measure: (change) => measureChange(change),
  verify: (ctx, request) => verifyAccount(ctx, request),

  exportProfiles: async (ctx, batch) => {
    const { body, records, rejected } = await encodeBatch(batch, ctx.options);
    if (records === 0) return { job: null, rejected };
    // measure is exact, so the runner never packs past the limit; if it did, uploading would fail anyway.
    const bytes = Buffer.byteLength(body, 'utf8');
    const { maxBytesPerJob, maxProfilesPerJob } = ctx.options.limits;
    if (bytes > maxBytesPerJob || records > maxProfilesPerJob) {
      throw new PermanentError(
        ctx.destination,
        `batch of ${records} profiles / ${bytes} bytes exceeds the limits (${maxProfilesPerJob} / ${maxBytesPerJob})`,
      );
    }
    const importId = await createImport(ctx, body);
    ctx.logger.debug('memory import created', { importId, records, bytes, rejected: rejected.length });
    return { job: toHandle(importId), rejected };
  },

  // One read, no writes: the vendor advances imports by its own clock, so checking is idempotent.
  checkStatus: async (ctx, job, members) => toJobStatus(await getImport(ctx, parseHandle(ctx, job)), members),

  cleanup: async (ctx, job) => deleteImport(ctx, parseHandle(ctx, job)),
});

export { encodeBatch, measureChange, toWireRecord, validateChange } from './mapping.ts';
export { type MemoryOptions, memoryOptions } from './options.ts';
export {
  forgetMemoryImport,
  injectMemoryFaults,
  type MemoryContact,
  type MemoryImportSnapshot,
  type MemoryStoreSnapshot,
  memoryImportBytes,
  readMemoryProfiles,
  readMemoryStore,
  resetMemoryStore,
  revokeMemoryKeys,
} from './store.ts';
export type { WireRecord, WireValue } from './types.ts';
