import { ConfigError, createContext, redactOptions } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { CSV_HEADER_BUDGET, jsonOverheadBytes, sendgrid, sendgridOptions } from '../src/index.ts';
import { LIST_A } from './support.ts';

describe('options', () => {
  it('has a default for everything but apiKey', () => {
    expect(sendgridOptions.parse({ apiKey: 'SG.x' })).toEqual({
      apiKey: 'SG.x',
      baseUrl: 'https://api.sendgrid.com',
      submission: 'auto',
      listIds: [],
      json: { maxProfilesPerJob: 30_000, maxBytesPerJob: 6_000_000 },
      csv: { maxProfilesPerJob: 100_000, maxBytesPerJob: 256 * 1024 * 1024, gzip: true },
      maxJobsInFlight: 4,
      deleteIdsPerRequest: 100,
    });
  });

  it('limits follow the submission path', () => {
    const json = sendgridOptions.parse({ apiKey: 'SG.x', submission: 'json', listIds: [LIST_A] });
    expect(sendgrid.limits(json)).toEqual({
      maxProfilesPerJob: 30_000,
      maxBytesPerJob: 6_000_000,
      jobOverheadBytes: jsonOverheadBytes(json),
      maxJobsInFlight: 4,
    });
    expect(jsonOverheadBytes(json)).toBe(Buffer.byteLength(`{"list_ids":["${LIST_A}"],"contacts":[]}`));
    for (const submission of ['csv', 'auto']) {
      const parsed = sendgridOptions.parse({ apiKey: 'SG.x', submission, requestsPerSecond: 5 });
      expect(sendgrid.limits(parsed)).toEqual({
        maxProfilesPerJob: 100_000,
        maxBytesPerJob: 256 * 1024 * 1024,
        jobOverheadBytes: CSV_HEADER_BUDGET,
        maxJobsInFlight: 4,
        requestsPerSecond: 5,
      });
    }
  });

  it('refuses what the vendor cannot take, naming the key and never echoing the input', () => {
    const fail = (raw: Record<string, unknown>) => {
      try {
        createContext(sendgrid, { options: { apiKey: 'SG.secret-value', ...raw } });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect(String(error)).not.toContain('secret-value');
        return String(error);
      }
      throw new Error('expected a ConfigError');
    };
    expect(fail({ json: { maxProfilesPerJob: 30_001 } })).toContain('json.maxProfilesPerJob');
    // "6 MB" read as 6,000,000 bytes, the stricter reading: 6 MiB is refused.
    expect(fail({ json: { maxBytesPerJob: 6_000_001 } })).toContain('json.maxBytesPerJob');
    expect(
      createContext(sendgrid, { options: { apiKey: 'SG.x', json: { maxBytesPerJob: 6_000_000 } } }).options
        .json,
    ).toMatchObject({ maxBytesPerJob: 6_000_000 });
    expect(fail({ listIds: ['newsletter'] })).toContain('listIds.0');
    expect(fail({ submission: 'xml' })).toContain('submission');
    expect(fail({ baseUrl: 'ftp://example.com' })).toContain('baseUrl');
    expect(fail({ colour: 'blue' })).toContain('colour');
    expect(fail({ apiKey: '' })).toContain('apiKey');
  });

  it('marks the key secret', () => {
    const parsed = sendgridOptions.parse({ apiKey: 'SG.secret-value' });
    expect(redactOptions(sendgridOptions, parsed).apiKey).toBe('[redacted]');
  });
});
