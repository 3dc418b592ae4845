import { type AsyncSource, defineDestination, type Limits } from '@ferry/core';
import { sendgridExport } from './export-source.ts';
import { parseHandle } from './handle.ts';
import { CSV_HEADER_BUDGET, jsonOverheadBytes, measureCsv, measureJson } from './mapping.ts';
import { checkJobs } from './operations/status.ts';
import { verifyAccount } from './operations/verify.ts';
import { packingPath, sendgridOptions } from './options.ts';
import { exportBatch } from './submit.ts';

/**
 * SendGrid Marketing Contacts: upserts as JSON (`PUT /v3/marketing/contacts`) or CSV imports
 * (`PUT /v3/marketing/contacts/imports` + a gzip upload), deletes by contact id, list additions and
 * removals — each an asynchronous SendGrid job whose error file is mapped back to the profiles.
 * Layout as in plugin-memory: options.ts, auth.ts, client.ts (transport, errors), mapping.ts
 * (validation, encoding, measure), submit.ts (the calls of one job), operations/ (one file per
 * endpoint group), handle.ts, types.ts (wire types). No state of its own besides a short-lived
 * cache of field definitions per context.
 */
export const sendgrid = defineDestination({
  name: 'sendgrid',
  displayName: 'SendGrid',
  options: sendgridOptions,
  capabilities: { delete: true, lists: true, callbacks: false },
  limits: (options): Limits => {
    const shared = {
      maxJobsInFlight: options.maxJobsInFlight,
      ...(options.requestsPerSecond === undefined ? {} : { requestsPerSecond: options.requestsPerSecond }),
    };
    if (packingPath(options) === 'json') {
      return {
        ...shared,
        maxProfilesPerJob: options.json.maxProfilesPerJob,
        maxBytesPerJob: options.json.maxBytesPerJob,
        jobOverheadBytes: jsonOverheadBytes(options),
      };
    }
    return {
      ...shared,
      maxProfilesPerJob: options.csv.maxProfilesPerJob,
      maxBytesPerJob: options.csv.maxBytesPerJob,
      jobOverheadBytes: CSV_HEADER_BUDGET,
    };
  },
  // The runner packs to the limits of the path above, so measure in the same encoding.
  measure: (change, options) =>
    packingPath(options) === 'json' ? measureJson(change, options) : measureCsv(change),
  verify: (ctx, request) => verifyAccount(ctx, request),
  exportProfiles: (ctx, batch) => exportBatch(ctx, batch),
  // Reads only (job statuses and error files), so checking is idempotent.
  checkStatus: async (ctx, job, members) => checkJobs(ctx, parseHandle(ctx, job), members),
  // `ferry reconcile`: a contact export (every contact; the columns are the field names already).
  readBack: {
    source: sendgridExport as unknown as AsyncSource,
    options: (options) => ({
      apiKey: options.apiKey,
      baseUrl: options.baseUrl,
      ...(options.onBehalfOf === undefined ? {} : { onBehalfOf: options.onBehalfOf }),
      fileType: 'json',
    }),
    identityField: () => 'email',
  },
});

export { authHeaders } from './auth.ts';
export { apiError, errorItems, SendgridApiError } from './client.ts';
export { type SendgridExportOptions, sendgridExport, sendgridExportOptions } from './export-source.ts';
export { fieldKind, formatDate, isPlausibleEmail, READ_ONLY_FIELDS, RESERVED_FIELDS } from './fields.ts';
export { MAX_JOBS_PER_HANDLE, parseHandle, type SendgridHandle, toHandle } from './handle.ts';
export {
  CSV_HEADER_BUDGET,
  checkIdentity,
  jsonOverheadBytes,
  measureCsv,
  measureJson,
  toContact,
} from './mapping.ts';
export { classifyError, mapErrorRows } from './operations/status.ts';
export { packingPath, type SendgridOptions, sendgridOptions, VENDOR_LIMITS } from './options.ts';
export type * from './types.ts';
