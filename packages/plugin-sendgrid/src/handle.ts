import { type JobHandle, PermanentError } from '@ferry/core';
import { z } from 'zod';
import type { SendgridContext } from './client.ts';

/**
 * The job handle: SendGrid's job ids and nothing else. One Ferry job may be several SendGrid jobs
 * (a group of upserts per distinct set of added lists, a JSON body split at the size limit, delete
 * calls of 100 ids), all checked through `GET /v3/marketing/contacts/imports/{id}`. Per-profile
 * results are mapped back through `members` by e-mail, so the handle never carries the batch.
 */
const handleSchema = z.object({
  v: z.literal(1),
  /** How the upserts went (`mixed`: some groups each way; `none`: deletes only), for logs and reports. */
  path: z.enum(['json', 'csv', 'mixed', 'none']),
  upserts: z.array(z.string().min(1)),
  deletes: z.array(z.string().min(1)),
});

export type SendgridHandle = z.output<typeof handleSchema>;

/**
 * SendGrid job ids are UUIDs (36 characters, 39 in JSON with quotes and comma), so this many keep a
 * handle under 4 KB with room to spare. Submission plans its calls to fit.
 */
export const MAX_JOBS_PER_HANDLE = 80;

export const toHandle = (handle: SendgridHandle): JobHandle => ({
  v: 1,
  path: handle.path,
  upserts: [...handle.upserts],
  deletes: [...handle.deletes],
});

export const parseHandle = (ctx: SendgridContext, job: JobHandle): SendgridHandle => {
  const parsed = handleSchema.safeParse(job);
  // Not retryable: the same handle will never become readable.
  if (!parsed.success)
    throw new PermanentError(ctx.destination, 'unreadable job handle (not from this destination?)');
  return parsed.data;
};
