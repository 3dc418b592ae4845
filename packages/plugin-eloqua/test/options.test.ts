import { ConfigError, collectSecrets, createContext, parseOptions, redactOptions } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { eloqua, eloquaOptions } from '../src/index.ts';
import { BASIC_AUTH } from './helpers.ts';

const parse = (raw: unknown) => parseOptions('eloqua', eloquaOptions, raw);
const failure = (raw: unknown): string => {
  try {
    parse(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('options', () => {
  it('fills every default', () => {
    expect(parse({ auth: BASIC_AUTH })).toEqual({
      auth: BASIC_AUTH,
      loginUrl: 'https://login.eloqua.com',
      identifierField: 'C_EmailAddress',
      updateRule: 'always',
      autoDeleteDuration: 'P7D',
      dataRetentionDuration: 'PT12H',
      reuseDefinitions: true,
      limits: {
        maxProfilesPerJob: 200_000,
        maxBytesPerJob: 250_000_000,
        maxUploadBytes: 32_000_000,
        maxUploadsPerSync: 500,
        maxJobsInFlight: 4,
        maxConcurrentRequests: 8,
      },
    });
  });

  it('takes a bearer token', () => {
    expect(parse({ auth: { type: 'bearer', token: 'tok-123456789' } }).auth).toEqual({
      type: 'bearer',
      token: 'tok-123456789',
    });
  });

  it('names each missing or foreign credential key', () => {
    expect(failure({ auth: { type: 'basic', site: 'S', token: 'x' } })).toBe(
      '[ferry] [eloqua] invalid options: auth.username: required when type is "basic"; ' +
        'auth.password: required when type is "basic"; auth.token: not used when type is "basic"',
    );
    expect(failure({ auth: { type: 'bearer' } })).toContain('auth.token: required when type is "bearer"');
    expect(failure({})).toContain('auth:');
  });

  it('refuses durations Eloqua refuses, unknown keys and bad limits, naming them', () => {
    expect(failure({ auth: BASIC_AUTH, autoDeleteDuration: 'PT30M' })).toContain(
      'autoDeleteDuration: must be',
    );
    expect(failure({ auth: BASIC_AUTH, dataRetentionDuration: 'P15D' })).toContain(
      'dataRetentionDuration: must be',
    );
    expect(failure({ auth: BASIC_AUTH, identifierField: 'Email Address' })).toContain('identifierField');
    expect(failure({ auth: BASIC_AUTH, limits: { maxUploadBytes: 64_000_000 } })).toContain(
      'limits.maxUploadBytes',
    );
    expect(failure({ auth: BASIC_AUTH, limits: { maxUploadsPerSync: 501 } })).toContain(
      'limits.maxUploadsPerSync',
    );
    expect(failure({ auth: BASIC_AUTH, loginUrl: 'ftp://login.eloqua.com' })).toContain('loginUrl');
    expect(failure({ auth: BASIC_AUTH, identifer: 'x' })).toContain('Unrecognized key: "identifer"');
  });

  it('marks the password and the token secret, so printed options and errors never show them', () => {
    const basic = parse({ auth: { ...BASIC_AUTH, password: 'pa55-word-xyz' } });
    expect(collectSecrets(eloquaOptions, basic)).toEqual(['pa55-word-xyz']);
    expect(JSON.stringify(redactOptions(eloquaOptions, basic))).not.toContain('pa55-word-xyz');
    const bearer = parse({ auth: { type: 'bearer', token: 'tok-abcdef-123' } });
    expect(JSON.stringify(redactOptions(eloquaOptions, bearer))).not.toContain('tok-abcdef-123');
    const message = failure({ auth: { type: 'basic', password: 'pa55-word-xyz' } });
    expect(message).not.toContain('pa55-word-xyz');
  });

  it('declares limits from the options, with the header allowance as job overhead', () => {
    const ctx = createContext(eloqua, { options: { auth: BASIC_AUTH, limits: { maxProfilesPerJob: 5000 } } });
    expect(eloqua.limits(ctx.options)).toEqual({
      maxProfilesPerJob: 5000,
      maxBytesPerJob: 250_000_000,
      jobOverheadBytes: 4096,
      maxJobsInFlight: 4,
      maxConcurrentRequests: 8,
    });
  });
});
