import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CONTRACT_VERSION, contractVersionOf, isCompatibleContract } from '../src/contract-version.ts';
import { defineDestination } from '../src/define-destination.ts';

const definition = () => ({
  name: 'stamped',
  displayName: 'Stamped',
  options: z.object({}),
  capabilities: { delete: false, lists: false, callbacks: false },
  limits: () => ({ maxProfilesPerJob: 1, maxBytesPerJob: 1024, maxJobsInFlight: 1 }),
  measure: () => 1,
  verify: async () => ({ ok: true, problems: [] }),
  exportProfiles: async () => ({ job: null, rejected: [] }),
  checkStatus: async () => ({ state: 'completed' as const, outcomes: [] }),
});

describe('contract version', () => {
  it('is stamped by defineDestination, invisibly to JSON and spreads', () => {
    const destination = defineDestination(definition());
    expect(contractVersionOf(destination)).toBe(CONTRACT_VERSION);
    expect(Object.keys(destination)).not.toContain('contract');
    expect(contractVersionOf({ ...destination })).toBeUndefined();
    expect(JSON.stringify(destination)).not.toContain(CONTRACT_VERSION);
  });

  it('is absent from look-alikes that did not go through defineDestination', () => {
    expect(contractVersionOf(definition())).toBeUndefined();
    expect(contractVersionOf(null)).toBeUndefined();
    expect(contractVersionOf('memory')).toBeUndefined();
  });

  it('uses a registered symbol, so a second copy of core stamps the same key', () => {
    const other = Object.defineProperty(definition(), Symbol.for('ferry.destination.contract'), {
      value: '1.4.2',
    });
    expect(contractVersionOf(other)).toBe('1.4.2');
  });

  it('is compatible within a major version only', () => {
    expect(CONTRACT_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(isCompatibleContract('1.0.0', '1.3.0')).toBe(true);
    expect(isCompatibleContract('1.9.1', '1.0.0')).toBe(true);
    expect(isCompatibleContract('2.0.0', '1.0.0')).toBe(false);
    expect(isCompatibleContract('0.9.0', '1.0.0')).toBe(false);
    expect(isCompatibleContract('garbage', '1.0.0')).toBe(false);
  });
});
