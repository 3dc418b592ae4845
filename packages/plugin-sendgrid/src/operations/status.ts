import {
  CsvError,
  type CsvParseItem,
  JOB_NOT_FOUND,
  type JobMember,
  type JobStatus,
  type ProfileOutcome,
  parseCsv,
  TransientError,
} from '@ferry/core';
import { callApi, type SendgridContext, sendgridClients } from '../client.ts';
import { RESERVED_FIELDS } from '../fields.ts';
import type { SendgridHandle } from '../handle.ts';
import { emailKey } from '../mapping.ts';
import type { ContactImport } from '../types.ts';

/**
 * `GET /v3/marketing/contacts/imports/{id}` for every SendGrid job of a handle, and the error file
 * behind `results.errors_url`, read as a stream and mapped back to members by e-mail.
 *
 * Reads only: the status and the file are fetched, never changed, so checking is idempotent.
 */

const FINISHED: ReadonlySet<string> = new Set(['completed', 'errored', 'failed']);
/** Status reads in flight at once for a handle with many jobs (delete batches). */
const STATUS_CONCURRENCY = 4;

/** The job, or `undefined` when SendGrid does not know it (404). */
export const getJob = async (ctx: SendgridContext, id: string): Promise<ContactImport | undefined> => {
  const { status, data } = await callApi<ContactImport>(ctx, {
    method: 'GET',
    url: `/v3/marketing/contacts/imports/${encodeURIComponent(id)}`,
    operation: 'get contacts job',
    answers: [404],
  });
  if (status === 404) return undefined;
  if (typeof data?.status !== 'string') {
    throw new TransientError(ctx.destination, `get contacts job ${id}: the answer has no status`, {
      code: 'invalid_status',
    });
  }
  return data;
};

const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> => {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

/** Member indexes by e-mail; several members may share one (duplicates in a batch). */
export const indexMembers = (members: readonly JobMember[]): Map<string, number[]> => {
  const index = new Map<string, number[]>();
  members.forEach((member, at) => {
    const key = emailKey(member.identity);
    const list = index.get(key);
    if (list === undefined) index.set(key, [at]);
    else list.push(at);
  });
  return index;
};

// `line` (the messenger id) is left out: the word shows up in reasons about file lines.
const RESERVED_NAMES = ['email', ...Object.keys(RESERVED_FIELDS)]
  .filter((name) => name !== 'line')
  .sort((a, b) => b.length - a.length);

/**
 * A code and field from SendGrid's free-text reason (the file has no codes): invalid e-mail,
 * over-long value, or a generic rejection; the field when the text names one.
 */
export const classifyError = (message: string): { readonly code: string; readonly field?: string } => {
  const lower = message.toLowerCase();
  const custom = /custom field ([A-Za-z_][A-Za-z0-9_]*)/i.exec(message)?.[1];
  const field =
    custom ?? RESERVED_NAMES.find((name) => new RegExp(`(^|[^a-z0-9_])${name}($|[^a-z0-9_])`).test(lower));
  const code =
    /\be-?mail\b/.test(lower) && /invalid|not valid|malformed/.test(lower) && field === 'email'
      ? 'invalid_email'
      : /length|too long|exceeds/.test(lower)
        ? 'value_too_long'
        : 'sendgrid_rejected';
  return field === undefined ? { code } : { code, field };
};

/** What one error file said, mapped through the members. */
export interface ErrorFileResult {
  /** Member index → reason, first row wins. */
  readonly rejected: Map<number, string>;
  /** Rows naming an e-mail that is no member's, or unreadable rows. */
  readonly unmapped: number;
  /** Reasons given without any identifier: about the job as a whole. */
  readonly jobMessages: string[];
}

const findColumn = (
  headers: readonly string[],
  exact: readonly string[],
  partial: string,
): string | undefined =>
  headers.find((h) => exact.includes(h.trim().toLowerCase())) ??
  headers.find((h) => h.trim().toLowerCase().includes(partial));

/**
 * Maps error-file rows to members. The layout is undocumented (UNVERIFIED): SendGrid's UI error
 * file "includes the email addresses and error reasons", so the e-mail column is the one named
 * `email` (or containing it) and the reason the one named `error`/`message`/`reason` (or the
 * last). Every member with a row's e-mail gets its reason: members sharing an address were sent as
 * one contact (the last one wins at submission), so none of them is held as sent.
 */
export const mapErrorRows = async (
  items: AsyncIterable<CsvParseItem>,
  index: ReadonlyMap<string, readonly number[]>,
): Promise<ErrorFileResult> => {
  const rejected = new Map<number, string>();
  const jobMessages: string[] = [];
  let unmapped = 0;
  let emailColumn: string | undefined;
  let errorColumn: string | undefined;
  for await (const item of items) {
    if (item.kind === 'invalid') {
      unmapped += 1;
      continue;
    }
    const { record } = item;
    if (emailColumn === undefined || errorColumn === undefined) {
      const headers = Object.keys(record);
      emailColumn = findColumn(headers, ['email', 'e-mail', 'email_address'], 'email') ?? '';
      errorColumn =
        findColumn(headers, ['error', 'errors', 'message', 'reason', 'error_message'], 'error') ??
        headers.at(-1) ??
        '';
    }
    const email = (record[emailColumn] ?? '').trim();
    const reason = (record[errorColumn] ?? '').trim() || 'rejected by SendGrid';
    if (email === '') {
      const identified = Object.entries(record).some(
        ([column, value]) => column !== errorColumn && value.trim() !== '',
      );
      if (identified) unmapped += 1;
      else jobMessages.push(reason);
      continue;
    }
    const at = index.get(emailKey(email));
    if (at === undefined) {
      unmapped += 1;
      continue;
    }
    for (const member of at) if (!rejected.has(member)) rejected.set(member, reason);
  }
  return { rejected, unmapped, jobMessages };
};

type ErrorsRead =
  | { readonly ok: true; readonly result: ErrorFileResult }
  | { readonly ok: false; readonly why: string };

/** Downloads `errors_url` (presigned: no API key) as a stream and maps it. */
const readErrorsFile = async (
  ctx: SendgridContext,
  url: string,
  index: ReadonlyMap<string, readonly number[]>,
): Promise<ErrorsRead> => {
  const response = await sendgridClients(ctx).presigned.request<ReadableStream<Uint8Array> | null>({
    method: 'GET',
    url,
    responseType: 'stream',
    operation: 'download errors file',
    // An expired or missing file is news about the job, not about the API key.
    accept: [403, 404, 410],
  });
  if (response.status >= 300) {
    await response.data?.cancel().catch(() => undefined);
    return { ok: false, why: `the errors file is no longer available (HTTP ${response.status})` };
  }
  if (response.data === null)
    return { ok: true, result: { rejected: new Map(), unmapped: 0, jobMessages: [] } };
  try {
    return { ok: true, result: await mapErrorRows(parseCsv(response.data), index) };
  } catch (error) {
    if (error instanceof CsvError)
      return { ok: false, why: `the errors file is not readable CSV (${error.message})` };
    // The body stopped mid-way (network): the check failed, not the job.
    throw new TransientError(ctx.destination, `download errors file failed: ${String(error)}`, {
      code: 'network',
      cause: error,
    });
  }
};

/** How long until checking again is worthwhile: SendGrid gives no progress, so it goes by size. */
const checkAfterMs = (members: number): number => Math.min(30_000, 1_000 + Math.ceil(members / 10));

const retryableFailure = (code: string, message: string): JobStatus => ({
  state: 'failed',
  retryable: true,
  code,
  message,
});

/**
 * The contract's status for a handle:
 * - any SendGrid job unknown (404) → failed, JOB_NOT_FOUND, retryable (resubmitting is safe);
 * - any still pending → pending, with a size-based hint and the finished jobs' counts as progress;
 * - all finished → the rows of their error files as rejections of the members with those e-mails;
 *   a job that failed without naming any contact → failed (retryable: the runner's attempt budget
 *   bounds it), as are error files that cannot be read or mapped (no guessing).
 */
export const checkJobs = async (
  ctx: SendgridContext,
  handle: SendgridHandle,
  members: readonly JobMember[],
): Promise<JobStatus> => {
  const ids = [...handle.upserts, ...handle.deletes];
  if (ids.length === 0) return { state: 'completed', outcomes: [] };
  const jobs = await mapLimit(ids, STATUS_CONCURRENCY, (id) => getJob(ctx, id));
  const missing = ids.filter((_, at) => jobs[at] === undefined);
  if (missing.length > 0) {
    return {
      state: 'failed',
      retryable: true,
      code: JOB_NOT_FOUND,
      message: `SendGrid no longer knows job ${missing.join(', ')}`,
    };
  }
  const known = jobs as ContactImport[];
  if (known.some((job) => !FINISHED.has(job.status))) {
    const processed = known
      .filter((job) => FINISHED.has(job.status))
      .reduce((sum, job) => sum + (job.results?.requested_count ?? 0), 0);
    return {
      state: 'pending',
      checkAfterMs: checkAfterMs(members.length),
      progress: { processed: Math.min(processed, members.length), total: members.length },
    };
  }

  const index = indexMembers(members);
  const rejected = new Map<number, string>();
  for (const job of known) {
    const errored = job.results?.errored_count ?? 0;
    if (job.status === 'completed' && errored === 0) continue;
    const url = job.results?.errors_url;
    if (typeof url !== 'string' || url === '') {
      if (job.status === 'failed') return retryableFailure('job_failed', `SendGrid job ${job.id} failed`);
      return retryableFailure(
        'errors_unavailable',
        `SendGrid job ${job.id} has ${errored} errors but no errors_url`,
      );
    }
    const read = await readErrorsFile(ctx, url, index);
    if (!read.ok) return retryableFailure('errors_unavailable', `SendGrid job ${job.id}: ${read.why}`);
    const { result } = read;
    if (result.rejected.size === 0 && job.status === 'failed') {
      const reason = result.jobMessages[0] ?? 'no reason given';
      return retryableFailure('job_failed', `SendGrid job ${job.id} failed: ${reason}`);
    }
    if (result.unmapped > 0 || (result.jobMessages.length > 0 && result.rejected.size === 0)) {
      return retryableFailure(
        'members_mismatch',
        `SendGrid job ${job.id}: ${result.unmapped} error row(s) match no member of the job` +
          (result.jobMessages.length > 0 ? ` (${result.jobMessages[0]})` : ''),
      );
    }
    for (const [member, reason] of result.rejected) if (!rejected.has(member)) rejected.set(member, reason);
  }
  const outcomes: ProfileOutcome[] = [...rejected.entries()]
    .sort(([a], [b]) => a - b)
    .map(([at, message]) => {
      const member = members[at] as JobMember;
      const { code, field } = classifyError(message);
      return {
        profileId: member.profileId,
        status: 'rejected',
        code,
        message,
        ...(field === undefined ? {} : { field }),
      };
    });
  return { state: 'completed', outcomes };
};
