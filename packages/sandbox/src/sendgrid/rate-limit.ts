/**
 * SendGrid's rate limiting [S4]: a budget of requests per endpoint per window, announced on every
 * v3 response as `X-RateLimit-Limit` / `-Remaining` / `-Reset` (Unix seconds of the reset), and
 * 429 `{"errors":[{"field":null,"message":"too many requests"}]}` once it is spent. The real
 * numbers for the Marketing endpoints are not published, so the budget is an option.
 */
export interface RateLimitSettings {
  /** Requests allowed per endpoint per window. */
  readonly limit: number;
  /** Window length in seconds; the budget refills when it ends. */
  readonly windowSeconds: number;
}

export interface RateLimitOptions extends RateLimitSettings {
  /** Budgets that differ by endpoint id, e.g. `{ 'sendgrid.importStatus': { limit: 10, windowSeconds: 1 } }`. */
  readonly perEndpoint?: Readonly<Record<string, RateLimitSettings>>;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { limit: 1000, windowSeconds: 60 };

export interface RateVerdict {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Unix epoch seconds at which the window resets. */
  readonly resetEpochSeconds: number;
  /** Whole seconds until the reset (at least 1), for Retry-After. */
  readonly retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Spends one request of `endpoint`'s budget. */
  readonly take: (endpoint: string, nowMs: number) => RateVerdict;
  /** The budget as it stands, without spending (for responses that did not reach a handler). */
  readonly peek: (endpoint: string, nowMs: number) => RateVerdict;
  readonly settingsFor: (endpoint: string) => RateLimitSettings;
  readonly reset: () => void;
}

interface Window {
  startMs: number;
  used: number;
}

export const createRateLimiter = (options: RateLimitOptions): RateLimiter => {
  let windows = new Map<string, Window>();
  const settingsFor = (endpoint: string): RateLimitSettings => options.perEndpoint?.[endpoint] ?? options;

  const current = (endpoint: string, nowMs: number): { window: Window; settings: RateLimitSettings } => {
    const settings = settingsFor(endpoint);
    let window = windows.get(endpoint);
    if (window === undefined || nowMs >= window.startMs + settings.windowSeconds * 1000) {
      window = { startMs: nowMs, used: 0 };
      windows.set(endpoint, window);
    }
    return { window, settings };
  };

  const verdict = (
    window: Window,
    settings: RateLimitSettings,
    nowMs: number,
    allowed: boolean,
  ): RateVerdict => {
    const resetMs = window.startMs + settings.windowSeconds * 1000;
    return {
      allowed,
      limit: settings.limit,
      remaining: Math.max(0, settings.limit - window.used),
      resetEpochSeconds: Math.ceil(resetMs / 1000),
      retryAfterSeconds: Math.max(1, Math.ceil((resetMs - nowMs) / 1000)),
    };
  };

  return {
    take: (endpoint, nowMs) => {
      const { window, settings } = current(endpoint, nowMs);
      if (window.used >= settings.limit) return verdict(window, settings, nowMs, false);
      window.used += 1;
      return verdict(window, settings, nowMs, true);
    },
    peek: (endpoint, nowMs) => {
      const { window, settings } = current(endpoint, nowMs);
      return verdict(window, settings, nowMs, window.used < settings.limit);
    },
    settingsFor,
    reset: () => {
      windows = new Map();
    },
  };
};
