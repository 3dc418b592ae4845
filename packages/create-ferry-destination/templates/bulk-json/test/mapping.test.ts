import { describe, expect, it } from 'vitest';
import { encodeBatch, measureChange } from '../src/mapping.ts';

describe('mapping', () => {
  it('measures the encoded bytes, multi-byte text included', async () => {
    const change = {
      kind: 'upsert' as const,
      profileId: 'p1',
      identity: 'zoe@example.com',
      fields: { firstName: 'Zoë 😀', score: 3, vip: false, signedUpAt: new Date('2024-01-02T03:04:05Z'), city: null },
    };
    const { body } = await encodeBatch([change]);
    expect(measureChange(change)).toBe(Buffer.byteLength(body, 'utf8'));
    expect(JSON.parse(body)).toEqual({
      op: 'upsert',
      email: 'zoe@example.com',
      fields: { firstName: 'Zoë 😀', score: 3, vip: false, signedUpAt: '2024-01-02T03:04:05.000Z', city: null },
    });
  });
});
