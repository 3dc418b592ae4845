import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { SendgridContext } from './context.ts';
import { sendS3Error } from './errors.ts';
import type { Job } from './jobs.ts';
import { IDENTIFIERS } from './record.ts';

/**
 * The file behind `results.errors_url`. Its layout is not documented (UNVERIFIED); the vendor's
 * UI error file holds "the email addresses and error reasons" [S10], so this one is a CSV with
 * `email`, then every other identifier column the job's input used, then `error`: one row per
 * rejected contact, in input order, RFC 4180 quoting, UTF-8 without BOM, `\n` line ends.
 */
export const errorsFilePath = (jobId: string): string => `/__files/errors/${jobId}.csv`;

export const errorsUrl = (origin: string, job: Job): string | undefined =>
  job.errorRows.length > 0 || job.failure !== undefined ? `${origin}${errorsFilePath(job.id)}` : undefined;

/** Quotes a field when it holds a delimiter, quote, line break or edge whitespace. */
export const csvField = (value: string): string =>
  /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replaceAll('"', '""')}"` : value;

const ROWS_PER_CHUNK = 1000;

export function* errorsFileLines(job: Job): Generator<string> {
  // Always `email`; the other identifiers only when the job's input used them.
  const columns = IDENTIFIERS.map((_, bit) => bit).filter(
    (bit) => bit === 0 || (job.identifierMask & (1 << bit)) !== 0,
  );
  yield `${[...columns.map((bit) => IDENTIFIERS[bit] as string), 'error'].join(',')}\n`;
  if (job.failure !== undefined) {
    yield `${[...columns.map(() => ''), csvField(job.failure)].join(',')}\n`;
    return;
  }
  let chunk = '';
  let inChunk = 0;
  for (const packed of job.errorRows) {
    const row = JSON.parse(packed) as string[];
    chunk += `${[...columns.map((bit) => csvField(row[bit] ?? '')), csvField(row[4] ?? '')].join(',')}\n`;
    inChunk += 1;
    if (inChunk === ROWS_PER_CHUNK) {
      yield chunk;
      chunk = '';
      inChunk = 0;
    }
  }
  if (chunk !== '') yield chunk;
}

export const registerErrorsFileRoute = (app: FastifyInstance, ctx: SendgridContext): void => {
  app.get<{ Params: { file: string } }>(
    '/__files/errors/:file',
    { config: { endpoint: 'sendgrid.errorsFile' } },
    async (request, reply) => {
      const job = ctx.jobs.get(request.params.file.replace(/\.csv$/, ''));
      const finished = job !== undefined && job.status !== 'pending';
      if (!finished || errorsUrl('', job) === undefined) {
        return sendS3Error(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${job.id}.csv"`)
        .send(Readable.from(errorsFileLines(job)));
    },
  );
};
