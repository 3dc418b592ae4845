import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';

/**
 * Error bodies as SendGrid writes them. Two shapes exist in the spec: `ContactsError` (400s of
 * the contact endpoints: `field` is a string) and `ErrorResponse` (401/403/404: `field` may be
 * null). Both are `{ errors: [{ field?, message }] }`. Message texts are the sandbox's own
 * unless vendor-apis.md quotes one (see docs/sendgrid.md).
 */
export interface ErrorItem {
  readonly message: string;
  readonly field?: string | null;
}

export const errorBody = (...items: ErrorItem[]): { errors: ErrorItem[] } => ({ errors: items });

export const sendError = (
  reply: FastifyReply,
  status: number,
  message: string,
  field?: string | null,
): FastifyReply => reply.code(status).send(errorBody(field === undefined ? { message } : { field, message }));

/** Documented 429 body [S4]. */
export const TOO_MANY_REQUESTS = errorBody({ field: null, message: 'too many requests' });

/**
 * The upload URL and the errors file live on S3 in production (presigned URLs), so they answer
 * like S3: XML bodies with an S3 error code.
 */
export const sendS3Error = (
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
): FastifyReply =>
  reply
    .code(status)
    .type('application/xml')
    .send(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`,
    );

const escapeXml = (text: string): string =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

/** Routes that imitate S3 rather than api.sendgrid.com. */
export const S3_ENDPOINTS: ReadonlySet<string> = new Set([
  'sendgrid.upload',
  'sendgrid.errorsFile',
  'sendgrid.exportFile',
]);
