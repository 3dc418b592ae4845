import { type AsyncSource, defineDestination } from '@ferry/core';
import { eloquaExport } from './export-source.ts';
import { measureChange } from './mapping.ts';
import { checkJob, cleanupJob, exportJob } from './operations/jobs.ts';
import { verifyConnection } from './operations/verify.ts';
import { eloquaOptions } from './options.ts';

/**
 * Bytes reserved per job for the CSV header row. `limits` cannot see the mapped fields, so this is
 * room for a header of about 100 columns of 40-character names; each upload's real header is counted
 * exactly when the job is split into uploads.
 */
export const HEADER_ALLOWANCE_BYTES = 4096;

/**
 * The Eloqua destination: contacts imported through the Bulk API 2.0 — import definitions, CSV
 * uploads of at most 32 MB, one sync per job — with list membership through sync actions.
 * No later call needs state of its own: the handle carries the sync uris. The only memory is a
 * cache per destination instance (the Bulk base URL, and definitions it may reuse), whose loss
 * costs a call, never a wrong import.
 */
export const eloqua = defineDestination({
  name: 'eloqua',
  displayName: 'Eloqua',
  options: eloquaOptions,
  capabilities: { delete: false, lists: true, callbacks: true },
  limits: (options) => ({
    maxProfilesPerJob: options.limits.maxProfilesPerJob,
    maxBytesPerJob: options.limits.maxBytesPerJob,
    jobOverheadBytes: HEADER_ALLOWANCE_BYTES,
    maxJobsInFlight: options.limits.maxJobsInFlight,
    maxConcurrentRequests: options.limits.maxConcurrentRequests,
  }),
  measure: (change, options) => measureChange(change, options),
  verify: (ctx, request) => verifyConnection(ctx, request),
  exportProfiles: (ctx, batch) => exportJob(ctx, batch),
  // Reads the syncs, their rejects and logs; never starts or changes anything.
  checkStatus: (ctx, job, members) => checkJob(ctx, job, members),
  cleanup: (ctx, job) => cleanupJob(ctx, job),
  // `ferry reconcile`: a contact export of the mapped fields, each column named for its field.
  readBack: {
    source: eloquaExport as unknown as AsyncSource,
    options: (options, fields) => ({
      auth: options.auth,
      loginUrl: options.loginUrl,
      fields: Object.fromEntries([options.identifierField, ...fields].map((field) => [field, field])),
    }),
    identityField: (options) => options.identifierField,
  },
});

export { authorizationHeader, BULK_PATH, bulkBaseFromId } from './auth.ts';
export { type EloquaExportOptions, eloquaExport, eloquaExportOptions } from './export-source.ts';
export {
  columnsOf,
  encodeNumber,
  encodeValue,
  fieldStatement,
  identityKey,
  listStatement,
  MAX_GROUPS_PER_JOB,
  measureChange,
  prepareJob,
  rowValues,
} from './mapping.ts';
export { DEFINITION_PREFIX, definitionName } from './operations/definitions.ts';
export type { EloquaHandle } from './operations/jobs.ts';
export { type EloquaAuth, type EloquaOptions, eloquaOptions } from './options.ts';
export type * from './types.ts';
