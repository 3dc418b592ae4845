import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { IdempotentResponse, ServiceStore } from '../store/service-store.ts';
import { HttpProblem } from './problems.ts';

/*
 * `Idempotency-Key` for POST /v1/runs (the IETF httpapi draft's semantics): the first request
 * with a key claims it in the store, and its response is saved; the same key with the same request
 * (same fingerprint) within 24 h replays that response, with a different request it is a 422, and
 * while the first is still being answered a 409. Keys are per token.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export const fingerprintOf = (parts: unknown): string =>
  createHash('sha256').update(JSON.stringify(parts)).digest('hex');

export const checkKey = (key: string): string => {
  if (key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key))
    throw new HttpProblem(400, 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
      errors: [{ field: 'headers/idempotency-key', message: 'expected 1 to 255 visible ASCII characters' }],
    });
  return key;
};

/**
 * Claims the key; returns the saved response to replay, or undefined when this request must be
 * answered (then `save` or `release`).
 */
export const claimKey = async (
  store: ServiceStore,
  claim: { tokenId: string; key: string; fingerprint: string; now: number },
): Promise<IdempotentResponse | undefined> => {
  const result = await store.claimIdempotencyKey({
    ...claim,
    at: claim.now,
    since: claim.now - IDEMPOTENCY_TTL_MS,
  });
  if (result.kind === 'claimed') return undefined;
  if (result.fingerprint !== claim.fingerprint)
    throw new HttpProblem(422, 'this Idempotency-Key was used for a different request', {
      errors: [{ field: 'headers/idempotency-key', message: 'already used for a different request' }],
    });
  if (result.response === undefined)
    throw new HttpProblem(409, 'a request with this Idempotency-Key is still being answered; retry later');
  return result.response;
};

export const replay = (reply: FastifyReply, response: IdempotentResponse): FastifyReply => {
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return reply.header('idempotent-replayed', 'true').code(response.status).send(response.body);
};
