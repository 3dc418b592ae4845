import {
  JOB_NOT_FOUND,
  type JobHandle,
  type JobMember,
  type JobStatus,
  PermanentError,
  type ProfileOutcome,
} from '@ferry/core';
import { z } from 'zod';
import { callVendor, callVendorAccepting, type MemoryContext } from '../client.ts';
import { vendorCreateImport, vendorDeleteImport, vendorGetImport } from '../store.ts';
import type { ImportSettings, VendorImport } from '../types.ts';

/**
 * The vendor's import endpoints (`POST /imports`, `GET /imports/:id`, `DELETE /imports/:id`) and
 * the translation of what they say into the contract's job handle and status.
 */

/**
 * The job handle: a version and the vendor's id, nothing else. Everything else the status needs is in
 * `members` (the runner's copy of the batch, in upload order) or at the vendor, so the handle stays a
 * few dozen bytes however large the batch, and any process can check it.
 */
const handleSchema = z.object({ v: z.literal(1), importId: z.string().min(1) });

export const toHandle = (importId: string): JobHandle => ({ v: 1, importId });

export const parseHandle = (ctx: MemoryContext, job: JobHandle): string => {
  const parsed = handleSchema.safeParse(job);
  // Not retryable: the same handle will never become readable.
  if (!parsed.success)
    throw new PermanentError(ctx.destination, 'unreadable job handle (not from this destination?)');
  return parsed.data.importId;
};

const importSettings = (ctx: MemoryContext): ImportSettings => ({
  perJobMs: ctx.options.processing.perJobMs,
  perRecordMs: ctx.options.processing.perProfileMs,
  validateEmails: ctx.options.validation.emails,
  maxFieldLength: ctx.options.validation.maxFieldLength,
});

/** Uploads an NDJSON body as one import and returns its id; the vendor answers before processing. */
export const createImport = async (ctx: MemoryContext, body: string): Promise<string> => {
  const created = await callVendor(ctx, 'create import', (request) =>
    vendorCreateImport(request, { body, settings: importSettings(ctx) }),
  );
  return created.id;
};

/** The import as the vendor reports it, or `undefined` when the vendor does not know it (404). */
export const getImport = async (ctx: MemoryContext, importId: string): Promise<VendorImport | undefined> => {
  const response = await callVendorAccepting(
    ctx,
    'get import',
    (request) => vendorGetImport(request, importId),
    [404],
  );
  return response.ok ? response.body : undefined;
};

/** Drops the import's staged data at the vendor; a 404 means there is nothing left to drop. */
export const deleteImport = async (ctx: MemoryContext, importId: string): Promise<void> => {
  await callVendorAccepting(ctx, 'delete import', (request) => vendorDeleteImport(request, importId), [404]);
};

/**
 * The contract's status for a vendor import. Row numbers in the vendor's rejects are 0-based lines of
 * the body, and the body was written in `members` order, so `members[row]` is the profile.
 */
export const toJobStatus = (found: VendorImport | undefined, members: readonly JobMember[]): JobStatus => {
  if (found === undefined) {
    return {
      state: 'failed',
      retryable: true,
      code: JOB_NOT_FOUND,
      message: 'the vendor no longer knows this import',
    };
  }
  if (found.state === 'processing') {
    // Ask to be checked again around the vendor's estimate, not before 10 ms nor after 5 s.
    const checkAfterMs = Math.min(5_000, Math.max(10, found.etaMs));
    return { state: 'pending', checkAfterMs, progress: { processed: found.processed, total: found.total } };
  }
  if (found.state === 'failed') {
    return {
      state: 'failed',
      retryable: found.error.retryable,
      code: found.error.code,
      message: found.error.message,
    };
  }
  if (found.total !== members.length) {
    // The rows cannot be mapped back safely; resubmitting rebuilds a consistent job.
    return {
      state: 'failed',
      retryable: true,
      code: 'members_mismatch',
      message: `the import has ${found.total} records but the job has ${members.length} members`,
    };
  }
  const outcomes: ProfileOutcome[] = [];
  for (const reject of found.rejects) {
    const member = members[reject.row];
    if (member === undefined) {
      return {
        state: 'failed',
        retryable: true,
        code: 'members_mismatch',
        message: `the vendor rejected row ${reject.row}, beyond the job's ${members.length} members`,
      };
    }
    if (reject.transient === true) {
      // Not the profile's fault: the runner sends it again after a backoff.
      outcomes.push({
        profileId: member.profileId,
        status: 'retryable',
        code: reject.code,
        message: reject.message,
        ...(reject.retryAfterMs === undefined ? {} : { retryAfterMs: reject.retryAfterMs }),
      });
      continue;
    }
    outcomes.push({
      profileId: member.profileId,
      status: 'rejected',
      code: reject.code,
      message: reject.message,
      ...(reject.field === undefined ? {} : { field: reject.field }),
    });
  }
  return { state: 'completed', outcomes };
};
