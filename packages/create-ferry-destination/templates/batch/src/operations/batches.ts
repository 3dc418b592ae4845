import {
  JOB_NOT_FOUND,
  type JobHandle,
  type JobMember,
  type JobStatus,
  PermanentError,
  type ProfileOutcome,
} from '@ferry/core';
import { z } from 'zod';
import { type __PASCAL__Context, vendorApi } from '../client.ts';
import { encodeBody } from '../mapping.ts';
import type { VendorBatch, VendorBatchResponse, WireRecord } from '../types.ts';

/** The batch endpoints (`POST contacts/batch`, `GET batches/:id`) and what their answers mean. */

const handleSchema = z.object({ v: z.literal(1), batchId: z.string().min(1) });

export const toHandle = (batchId: string): JobHandle => ({ v: 1, batchId });

export const parseHandle = (ctx: __PASCAL__Context, job: JobHandle): string => {
  const parsed = handleSchema.safeParse(job);
  if (!parsed.success) throw new PermanentError(ctx.destination, 'unreadable job handle (not from this destination?)');
  return parsed.data.batchId;
};

/**
 * Sends the records; the vendor applies them and answers per record. A whole-batch refusal comes
 * back as core's typed errors: TransientError for a 5xx (the runner sends the batch again),
 * PermanentError for a 4xx (the runner rejects the profiles with its message).
 */
export const sendBatch = async (
  ctx: __PASCAL__Context,
  records: readonly WireRecord[],
  members: readonly JobMember[],
): Promise<{ readonly batchId: string; readonly outcomes: ProfileOutcome[] }> => {
  const { data } = await vendorApi(ctx).request<VendorBatchResponse>({
    method: 'POST',
    url: 'contacts/batch',
    body: encodeBody(records),
    headers: { 'content-type': 'application/json' },
    operation: 'send batch',
  });
  const outcomes: ProfileOutcome[] = [];
  for (const result of data.results) {
    const member = members[result.index];
    if (member === undefined || result.status === 'ok') continue;
    const message = result.message ?? `the vendor answered ${result.status}`;
    outcomes.push(
      result.status === 'retry'
        ? {
            profileId: member.profileId,
            status: 'retryable',
            ...(result.code === undefined ? {} : { code: result.code }),
            message,
            ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
          }
        : {
            profileId: member.profileId,
            status: 'rejected',
            code: result.code ?? 'rejected',
            message,
            ...(result.field === undefined ? {} : { field: result.field }),
          },
    );
  }
  return { batchId: data.batchId, outcomes };
};

export const getBatch = async (ctx: __PASCAL__Context, batchId: string): Promise<VendorBatch | undefined> => {
  const response = await vendorApi(ctx).request<VendorBatch>({
    method: 'GET',
    url: `batches/${encodeURIComponent(batchId)}`,
    accept: [404],
    operation: 'get batch',
  });
  // 429 and 5xx never get here: the client throws, and the runner retries the check.
  return response.status === 404 ? undefined : response.data;
};

export const toJobStatus = (found: VendorBatch | undefined): JobStatus =>
  found === undefined
    ? { state: 'failed', retryable: true, code: JOB_NOT_FOUND, message: 'the vendor no longer knows this batch' }
    : { state: 'completed', outcomes: [] };
