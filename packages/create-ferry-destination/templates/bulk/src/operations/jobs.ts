import { JOB_NOT_FOUND, type JobHandle, type JobMember, type JobStatus, PermanentError, type ProfileOutcome } from '@ferry/core';
import { z } from 'zod';
import { type __PASCAL__Context, vendorApi } from '../client.ts';
import type { VendorImport } from '../types.ts';

/**
 * The import endpoints (`POST imports`, `GET imports/:id`, `DELETE imports/:id`) and the
 * translation of what they say into the contract's handle and status.
 */

/** The handle: a version and the vendor's id. Small, JSON, and enough for any process to check the job. */
const handleSchema = z.object({ v: z.literal(1), importId: z.string().min(1) });

export const toHandle = (importId: string): JobHandle => ({ v: 1, importId });

export const parseHandle = (ctx: __PASCAL__Context, job: JobHandle): string => {
  const parsed = handleSchema.safeParse(job);
  // Not retryable: the same handle will never become readable.
  if (!parsed.success) throw new PermanentError(ctx.destination, 'unreadable job handle (not from this destination?)');
  return parsed.data.importId;
};

export const createImport = async (ctx: __PASCAL__Context, body: string): Promise<string> => {
  const { data } = await vendorApi(ctx).request<{ id: string }>({
    method: 'POST',
    url: 'imports',
    headers: { 'content-type': '__IMPORT_CONTENT_TYPE__' },
    body,
    operation: 'create import',
  });
  return data.id;
};

/** The import, or `undefined` when the vendor no longer knows it (404 is an answer here, not an error). */
export const getImport = async (ctx: __PASCAL__Context, importId: string): Promise<VendorImport | undefined> => {
  const response = await vendorApi(ctx).request<VendorImport>({
    method: 'GET',
    url: `imports/${encodeURIComponent(importId)}`,
    accept: [404],
    operation: 'get import',
  });
  // 429 and 5xx never get here: the client throws RateLimitedError / TransientError, and the runner
  // retries the *check* — a failed status check is never a failed job.
  return response.status === 404 ? undefined : response.data;
};

export const deleteImport = async (ctx: __PASCAL__Context, importId: string): Promise<void> => {
  await vendorApi(ctx).request({
    method: 'DELETE',
    url: `imports/${encodeURIComponent(importId)}`,
    accept: [404],
    responseType: 'text',
    operation: 'delete import',
  });
};

/** The contract's status for an import; `members[row]` is the profile of the vendor's row `row`. */
export const toJobStatus = (found: VendorImport | undefined, members: readonly JobMember[]): JobStatus => {
  if (found === undefined)
    return { state: 'failed', retryable: true, code: JOB_NOT_FOUND, message: 'the vendor no longer knows this import' };
  if (found.state === 'pending') {
    return {
      state: 'pending',
      checkAfterMs: Math.min(5_000, Math.max(10, found.etaMs)),
      progress: { processed: found.processed, total: found.total },
    };
  }
  if (found.state === 'failed') {
    return { state: 'failed', retryable: found.error.retryable, code: found.error.code, message: found.error.message };
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
    outcomes.push(
      reject.transient === true
        ? {
            profileId: member.profileId,
            status: 'retryable',
            code: reject.code,
            message: reject.message,
            ...(reject.retryAfterMs === undefined ? {} : { retryAfterMs: reject.retryAfterMs }),
          }
        : {
            profileId: member.profileId,
            status: 'rejected',
            code: reject.code,
            message: reject.message,
            ...(reject.field === undefined ? {} : { field: reject.field }),
          },
    );
  }
  return { state: 'completed', outcomes };
};
