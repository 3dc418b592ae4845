import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { IdempotentResponse, ServiceStore } from '../store/service-store.ts';
import type { StateStore } from '../store/state-store.ts';
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
 * A claim with no response this long after it was made is abandoned: the process that made it died
 * between claiming the key and answering (a window of milliseconds once the upload is on disk).
 */
export const ABANDONED_CLAIM_MS = 10_000;

export type KeyClaim =
  /** This request is answered here (then `save` or `release`). */
  | { readonly kind: 'claimed' }
  /** The same request was answered before: replay this. */
  | { readonly kind: 'replay'; readonly response: IdempotentResponse }
  /**
   * Claimed by a process that died before answering, and now taken over: answer this request,
   * unless that process had recorded its run (`findKeyRun`), which is then the answer.
   */
  | { readonly kind: 'taken_over'; readonly claimedAt: number };

export const claimKey = async (
  store: ServiceStore,
  claim: { tokenId: string; key: string; fingerprint: string; now: number },
): Promise<KeyClaim> => {
  const result = await store.claimIdempotencyKey({
    ...claim,
    at: claim.now,
    since: claim.now - IDEMPOTENCY_TTL_MS,
  });
  if (result.kind === 'claimed') return result;
  if (result.fingerprint !== claim.fingerprint)
    throw new HttpProblem(422, 'this Idempotency-Key was used for a different request', {
      errors: [{ field: 'headers/idempotency-key', message: 'already used for a different request' }],
    });
  if (result.response !== undefined) return { kind: 'replay', response: result.response };
  const claimedBefore = claim.now - ABANDONED_CLAIM_MS;
  if (
    result.claimedAt < claimedBefore &&
    (await store.takeOverIdempotencyKey({ ...claim, at: claim.now, claimedBefore }))
  )
    return { kind: 'taken_over', claimedAt: result.claimedAt };
  throw new HttpProblem(409, 'a request with this Idempotency-Key is still being answered; retry later');
};

/** The run a request with this key started (runs record their key), if any, since `since`. */
export const findKeyRun = async (
  store: StateStore,
  request: { tokenId: string; key: string; since: number },
): Promise<string | undefined> => {
  let before: string | undefined;
  for (;;) {
    const page = await store.listRuns(200, before === undefined ? {} : { before });
    for (const run of page) {
      const recorded = (run.options as { idempotency?: { tokenId?: string; key?: string } } | null)
        ?.idempotency;
      if (recorded?.tokenId === request.tokenId && recorded.key === request.key) return run.id;
    }
    const last = page.at(-1);
    if (page.length < 200 || last === undefined || last.startedAt < request.since) return undefined;
    before = last.id;
  }
};

export const replay = (reply: FastifyReply, response: IdempotentResponse): FastifyReply => {
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return reply.header('idempotent-replayed', 'true').code(response.status).send(response.body);
};
