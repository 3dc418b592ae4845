import type { FastifyReply } from 'fastify';

/**
 * Wire details shared by every Eloqua route: timestamp format, error bodies, reason phrases.
 * Oracle documents only status codes and reason phrases for most errors (vendor-apis.md A.5), so
 * non-validation errors answer with the reason phrase as `text/plain` (an emulator choice) and
 * validation errors with the documented `{"failures":[...]}` body.
 */

/** One entry of a Bulk API 400 body (`{field, value?, constraint}`, A.5). */
export interface Failure {
  readonly field: string;
  readonly value?: string;
  readonly constraint: string;
}

export const REASON = {
  400: 'There was a validation error.',
  parse: 'There was a parsing error.',
  401: 'Unauthorized',
  404: 'The requested resource was not found.',
  429: 'Too Many Requests',
  500: 'The service has encountered an internal server error.',
  503: 'Service Unavailable',
} as const;

/** `2023-08-28T16:07:49.9730000Z`: Eloqua prints seven fractional digits. */
export const eloquaTime = (ms: number): string =>
  new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

export const sendText = (reply: FastifyReply, status: number, text: string): FastifyReply =>
  reply.code(status).type('text/plain; charset=utf-8').send(text);

export const sendNotFound = (reply: FastifyReply): FastifyReply => sendText(reply, 404, REASON[404]);

export const sendFailures = (reply: FastifyReply, failures: readonly Failure[]): FastifyReply =>
  reply.code(400).send({ failures });

/** Printable form of a rejected value for `failures[].value`. */
export const describeValue = (value: unknown): string =>
  typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value);
