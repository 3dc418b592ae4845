import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createContext, defineDestination } from '../src/define-destination.ts';
import { ConfigError } from '../src/errors.ts';
import { collectSecrets, parseOptions, redactOptions, secret } from '../src/options.ts';

const schema = z.object({
  apiKey: secret(z.string()),
  region: z.enum(['us', 'eu']).default('us'),
  auth: z.discriminatedUnion('type', [
    z.object({ type: z.literal('basic'), username: z.string(), password: secret(z.string()) }),
    z.object({ type: z.literal('bearer'), token: secret(z.string()) }),
  ]),
  extraKeys: z.array(secret(z.string())).default([]),
  proxy: z.object({ url: z.string(), password: secret(z.string()).optional() }).optional(),
});

describe('secret options', () => {
  it('collects secrets from plain keys, union branches, arrays and optional nested objects', () => {
    const value = schema.parse({
      apiKey: 'key-1',
      auth: { type: 'basic', username: 'jane', password: 'pw-2' },
      extraKeys: ['k-3', 'k-4'],
      proxy: { url: 'http://proxy', password: 'pw-5' },
    });
    expect(collectSecrets(schema, value).sort()).toEqual(['k-3', 'k-4', 'key-1', 'pw-2', 'pw-5']);
    const bearer = schema.parse({ apiKey: 'key-1', auth: { type: 'bearer', token: 'tok-6' } });
    expect(collectSecrets(schema, bearer).sort()).toEqual(['key-1', 'tok-6']);
  });

  it('redacts secrets for printing and leaves everything else as it was', () => {
    const value = schema.parse({ apiKey: 'key-1', auth: { type: 'bearer', token: 'tok-6' } });
    const shown = redactOptions(schema, value);
    expect(shown).toEqual({
      apiKey: '[redacted]',
      region: 'us',
      auth: { type: 'bearer', token: '[redacted]' },
      extraKeys: [],
    });
    expect(JSON.stringify(shown)).not.toMatch(/key-1|tok-6/);
    expect(value.apiKey).toBe('key-1');
  });
});

describe('parseOptions', () => {
  it('names every bad key with the problem and never echoes the input', () => {
    const raw = {
      apiKey: 12345,
      region: 'mars',
      auth: { type: 'basic', username: 'jane', password: 's3cr3t' },
    };
    let error: unknown;
    try {
      parseOptions('demo', schema, raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^\[ferry\] \[demo\] invalid options: /);
    expect(message).toContain('apiKey:');
    expect(message).toContain('region:');
    expect(message).not.toContain('12345');
    expect(message).not.toContain('s3cr3t');
  });

  it('names the nested key inside a union branch', () => {
    expect(() =>
      parseOptions('demo', schema, { apiKey: 'k', auth: { type: 'basic', username: 'jane' } }),
    ).toThrow(/auth\.password:/);
  });
});

describe('createContext', () => {
  const destination = defineDestination({
    name: 'demo',
    displayName: 'Demo',
    options: z.object({ apiKey: secret(z.string()), rate: z.number().positive().default(5) }),
    capabilities: { delete: false, lists: false, callbacks: false },
    limits: (options) => ({
      maxProfilesPerJob: 10,
      maxBytesPerJob: 1000,
      maxJobsInFlight: 1,
      requestsPerSecond: options.rate,
    }),
    measure: () => 1,
    verify: async () => ({ ok: true, problems: [] }),
    exportProfiles: async () => ({ job: null, rejected: [] }),
    checkStatus: async () => ({ state: 'completed', outcomes: [] }),
  });

  it('parses options with defaults and builds an HTTP client', () => {
    const ctx = createContext(destination, { options: { apiKey: 'abc' } });
    expect(ctx.options).toEqual({ apiKey: 'abc', rate: 5 });
    expect(ctx.destination).toBe('demo');
    expect(typeof ctx.http.request).toBe('function');
    expect(ctx.signal.aborted).toBe(false);
  });

  it('throws a ConfigError naming the key for bad options', () => {
    expect(() => createContext(destination, { options: { rate: -1 } })).toThrow(ConfigError);
    expect(() => createContext(destination, { options: { rate: -1 } })).toThrow(/apiKey: .*; rate: /);
  });
});
