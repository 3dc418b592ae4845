/*
 * What `ferry serve` keeps besides runs: its bearer tokens (hashes only) and the first response to
 * each Idempotency-Key. Part of the StateStore, so the service lives on the same store as the CLI.
 */

export type TokenScope = 'read' | 'write';

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly scope: TokenScope;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** A dashboard sign-in: a session cookie standing for one token until it expires or signs out. */
export interface ApiSession {
  readonly tokenId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface IdempotentResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export type IdempotencyClaim =
  | { readonly kind: 'claimed' }
  /** The key was used before: for the same request (`fingerprint` equal) or not. */
  | {
      readonly kind: 'existing';
      readonly fingerprint: string;
      /** When the first request claimed the key. */
      readonly claimedAt: number;
      /** Undefined while the first request with the key is still being answered (or its process died). */
      readonly response?: IdempotentResponse;
    };

export interface ServiceStore {
  readonly createToken: (token: ApiToken & { readonly hash: string }) => Promise<void>;
  /** The unrevoked token with this SHA-256 hash, if any. */
  readonly findToken: (hash: string) => Promise<ApiToken | undefined>;
  readonly listTokens: () => Promise<ApiToken[]>;
  /** False when there is no such unrevoked token. */
  readonly revokeToken: (id: string, at: number) => Promise<boolean>;
  /** Records a session under the SHA-256 of its cookie value; drops the sessions expired by `createdAt`. */
  readonly createSession: (session: ApiSession & { readonly hash: string }) => Promise<void>;
  /** The session with this hash if it has not expired at `now` and its token is not revoked. */
  readonly findSession: (
    hash: string,
    now: number,
  ) => Promise<{ readonly session: ApiSession; readonly token: ApiToken } | undefined>;
  readonly deleteSession: (hash: string) => Promise<void>;
  /**
   * Claims `key` for `tokenId` unless it was claimed after `since` (older claims are dropped):
   * the first caller makes the response, later ones get the claim that exists.
   */
  readonly claimIdempotencyKey: (claim: {
    tokenId: string;
    key: string;
    fingerprint: string;
    at: number;
    since: number;
  }) => Promise<IdempotencyClaim>;
  readonly saveIdempotentResponse: (
    tokenId: string,
    key: string,
    response: IdempotentResponse,
  ) => Promise<void>;
  /**
   * Takes over a claim that has had no response since before `claimedBefore` (its process died
   * between claiming and answering): true for one caller only, which then answers the request.
   */
  readonly takeOverIdempotencyKey: (claim: {
    tokenId: string;
    key: string;
    at: number;
    claimedBefore: number;
  }) => Promise<boolean>;
  /** Gives a claimed key up (the request failed before anything was recorded). */
  readonly releaseIdempotencyKey: (tokenId: string, key: string) => Promise<void>;
}
