/**
 * Typed errors thrown by destinations and core. The runner decides what to do from the type:
 * ConfigError/AuthError stop the destination, RateLimitedError and TransientError are retried
 * (a rate-limit wait never counts as an attempt), PermanentError fails the job or the profile.
 *
 * Messages are prefixed `[ferry] [<destination>]` and must never contain secrets: core's HTTP
 * client redacts before it builds them, and plugins only pass vendor text through it.
 */
export type FerryErrorKind = 'config' | 'auth' | 'rate_limited' | 'transient' | 'permanent';

export interface FerryErrorDetails {
  /** Vendor or HTTP code, e.g. `ELQ-00040`, `http_503`. */
  readonly code?: string;
  /** HTTP status of the response that caused the error, when there was one. */
  readonly status?: number;
  readonly cause?: unknown;
}

export class FerryError extends Error {
  readonly kind: FerryErrorKind;
  readonly destination: string;
  readonly code?: string;
  readonly status?: number;

  constructor(kind: FerryErrorKind, destination: string, message: string, details: FerryErrorDetails = {}) {
    super(
      `[ferry] [${destination}] ${message}`,
      details.cause === undefined ? undefined : { cause: details.cause },
    );
    this.name = new.target.name;
    this.kind = kind;
    this.destination = destination;
    if (details.code !== undefined) this.code = details.code;
    if (details.status !== undefined) this.status = details.status;
  }
}

/** The options or the mapping are wrong; nothing will work until the user changes them. */
export class ConfigError extends FerryError {
  constructor(destination: string, message: string, details?: FerryErrorDetails) {
    super('config', destination, message, details);
  }
}

/** Credentials are missing, wrong or lack a permission. */
export class AuthError extends FerryError {
  constructor(destination: string, message: string, details?: FerryErrorDetails) {
    super('auth', destination, message, details);
  }
}

/** The vendor asked us to slow down; waiting `retryAfterMs` is not a failure. */
export class RateLimitedError extends FerryError {
  readonly retryAfterMs: number;
  constructor(destination: string, message: string, retryAfterMs: number, details?: FerryErrorDetails) {
    super('rate_limited', destination, message, details);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Network trouble, timeouts, 5xx: the same call may work later. */
export class TransientError extends FerryError {
  constructor(destination: string, message: string, details?: FerryErrorDetails) {
    super('transient', destination, message, details);
  }
}

/** The vendor refused the request for good (400 with a reason, 413...). */
export class PermanentError extends FerryError {
  constructor(destination: string, message: string, details?: FerryErrorDetails) {
    super('permanent', destination, message, details);
  }
}

/** True for errors after which the same call may succeed later. */
export const isRetryableError = (error: unknown): error is RateLimitedError | TransientError =>
  error instanceof RateLimitedError || error instanceof TransientError;
