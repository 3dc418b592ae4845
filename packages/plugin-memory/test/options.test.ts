import { ConfigError, collectSecrets, createContext, parseOptions, redactOptions } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { memory } from '../src/index.ts';

const SECRET = 'Zq9-very-secret-key';

const parse = (raw: unknown) => parseOptions(memory.name, memory.options, raw);
const errorOf = (raw: unknown): ConfigError => {
  try {
    parse(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('memory options', () => {
  it('documents a default for everything but apiKey', () => {
    expect(parse({ apiKey: SECRET })).toEqual({
      namespace: 'default',
      apiKey: SECRET,
      processing: { perJobMs: 50, perProfileMs: 0 },
      validation: { emails: true, maxFieldLength: 255 },
      limits: { maxProfilesPerJob: 10_000, maxBytesPerJob: 5 * 1024 * 1024, maxJobsInFlight: 4 },
      faults: { failStatusChecks: 0, forgetJobs: 0, rateLimitCalls: 0, retryAfterMs: 100, failJobs: 0 },
    });
  });

  it('fills group defaults when only one member is given', () => {
    expect(parse({ apiKey: SECRET, processing: { perProfileMs: 2 } }).processing).toEqual({
      perJobMs: 50,
      perProfileMs: 2,
    });
  });

  it('names a missing apiKey', () => {
    const error = errorOf({});
    expect(error.message).toMatch(/^\[ferry\] \[memory\] invalid options: apiKey: /);
  });

  it('names a too-short apiKey without echoing it', () => {
    const error = errorOf({ apiKey: 'Zq9xk' });
    expect(error.message).toContain('apiKey');
    expect(error.message).not.toContain('Zq9xk');
  });

  it('names nested keys and unknown keys, and never prints the secret', () => {
    const nested = errorOf({ apiKey: SECRET, processing: { perJobMs: 'slow' } });
    expect(nested.message).toContain('processing.perJobMs');
    const limits = errorOf({ apiKey: SECRET, limits: { maxBytesPerJob: 64 * 1024 ** 2 } });
    expect(limits.message).toContain('limits.maxBytesPerJob');
    const typo = errorOf({ apiKey: SECRET, namspace: 'x' });
    expect(typo.message).toContain('namspace');
    for (const error of [nested, limits, typo]) expect(error.message).not.toContain(SECRET);
  });

  it('marks apiKey secret, so core redacts it everywhere', () => {
    const parsed = parse({ apiKey: SECRET });
    expect(collectSecrets(memory.options, parsed)).toEqual([SECRET]);
    expect(redactOptions(memory.options, parsed).apiKey).toBe('[redacted]');
  });

  it('createContext throws the same ConfigError', () => {
    expect(() => createContext(memory, { options: { apiKey: SECRET, namespace: '' } })).toThrow(/namespace/);
  });
});
