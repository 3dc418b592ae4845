/**
 * Seeded fault injection shared by both emulators. A rule names an endpoint (a route's
 * `config.endpoint`, e.g. `sendgrid.importStatus`, or `*`), a kind, and how often it fires.
 * The same seed and the same request sequence give the same faults, so a failing test replays.
 */
export type FaultKind =
  /** 429 with the vendor's rate-limit headers and body. */
  | 'rate_limit'
  /** 500 Internal Server Error. */
  | 'server_error'
  /** 503 Service Unavailable. */
  | 'unavailable'
  /** The connection is destroyed before any response byte. */
  | 'reset'
  /** The response is delayed by `delayMs` (past a client timeout, typically). */
  | 'slow'
  /** The job addressed by a status request is forgotten for good: this and every later request 404s. */
  | 'vanish';

export interface FaultRule {
  /** Route id (`eloqua.syncStatus`, `sendgrid.upsert`...) or `*` for every vendor route. */
  readonly endpoint: string;
  readonly kind: FaultKind;
  /** Chance that a matching request gets the fault, 0..1 (default 1). */
  readonly probability?: number;
  /** Fire at most this many times (default: no limit). */
  readonly count?: number;
  /** Let this many matching requests through before the rule may fire (default 0). */
  readonly skip?: number;
  /** `rate_limit`: seconds announced in Retry-After / until X-RateLimit-Reset (default 1). */
  readonly retryAfterSeconds?: number;
  /** `slow`: how long to hold the response (default 5000). */
  readonly delayMs?: number;
}

interface RuleState {
  readonly rule: FaultRule;
  seen: number;
  fired: number;
}

export interface FaultInjector {
  /** Draws the fault (if any) for one request to `endpoint`, among the given kinds. */
  readonly draw: (endpoint: string, kinds: readonly FaultKind[]) => FaultRule | undefined;
  readonly rules: () => readonly FaultRule[];
  readonly set: (rules: readonly FaultRule[]) => void;
  readonly add: (rule: FaultRule) => void;
  /** How many times each kind fired, per endpoint (`endpoint kind` → count). */
  readonly fired: () => Record<string, number>;
  readonly reset: (seed?: number) => void;
}

/** mulberry32: tiny, fast, good enough for fault dice, and reproducible from a seed. */
const createRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const matches = (rule: FaultRule, endpoint: string): boolean =>
  rule.endpoint === '*' ||
  rule.endpoint === endpoint ||
  (rule.endpoint.endsWith('.*') && endpoint.startsWith(rule.endpoint.slice(0, -1)));

export const createFaultInjector = (initial: readonly FaultRule[] = [], seed = 1): FaultInjector => {
  let random = createRandom(seed);
  let states: RuleState[] = initial.map((rule) => ({ rule, seen: 0, fired: 0 }));
  let firedCounts: Record<string, number> = {};
  return {
    draw: (endpoint, kinds) => {
      for (const state of states) {
        const { rule } = state;
        if (!kinds.includes(rule.kind) || !matches(rule, endpoint)) continue;
        state.seen += 1;
        if (state.seen <= (rule.skip ?? 0)) continue;
        if (rule.count !== undefined && state.fired >= rule.count) continue;
        if (random() >= (rule.probability ?? 1)) continue;
        state.fired += 1;
        const key = `${endpoint} ${rule.kind}`;
        firedCounts[key] = (firedCounts[key] ?? 0) + 1;
        return rule;
      }
      return undefined;
    },
    rules: () => states.map((s) => s.rule),
    set: (rules) => {
      states = rules.map((rule) => ({ rule, seen: 0, fired: 0 }));
    },
    add: (rule) => {
      states.push({ rule, seen: 0, fired: 0 });
    },
    fired: () => ({ ...firedCounts }),
    reset: (nextSeed = seed) => {
      random = createRandom(nextSeed);
      states = [];
      firedCounts = {};
    },
  };
};

const KINDS: readonly FaultKind[] = ['rate_limit', 'server_error', 'unavailable', 'reset', 'slow', 'vanish'];

/** Validates rules arriving over HTTP or the CLI; returns a message naming the bad rule and field. */
export const parseFaultRules = (input: unknown): FaultRule[] | string => {
  if (!Array.isArray(input)) return 'faults must be an array of rules';
  const rules: FaultRule[] = [];
  for (const [index, raw] of input.entries()) {
    if (typeof raw !== 'object' || raw === null) return `faults[${index}] must be an object`;
    const rule = raw as Record<string, unknown>;
    if (typeof rule.endpoint !== 'string' || rule.endpoint === '')
      return `faults[${index}].endpoint must be a route id or "*"`;
    if (!KINDS.includes(rule.kind as FaultKind))
      return `faults[${index}].kind must be one of ${KINDS.join(', ')}`;
    for (const key of ['probability', 'count', 'skip', 'retryAfterSeconds', 'delayMs'] as const) {
      const value = rule[key];
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
        return `faults[${index}].${key} must be a non-negative number`;
      }
    }
    if (typeof rule.probability === 'number' && rule.probability > 1)
      return `faults[${index}].probability must be ≤ 1`;
    rules.push(rule as unknown as FaultRule);
  }
  return rules;
};

/** `endpoint:kind[:probability[:count]]`, the CLI's compact form, e.g. `sendgrid.upsert:rate_limit:0.1`. */
export const parseFaultSpec = (spec: string): FaultRule | string => {
  const [endpoint, kind, probability, count] = spec.split(':');
  const rule: Record<string, unknown> = { endpoint, kind };
  if (probability !== undefined && probability !== '') rule.probability = Number(probability);
  if (count !== undefined && count !== '') rule.count = Number(count);
  const parsed = parseFaultRules([rule]);
  return typeof parsed === 'string'
    ? `--fault ${spec}: ${parsed.replace('faults[0].', '')}`
    : (parsed[0] as FaultRule);
};
