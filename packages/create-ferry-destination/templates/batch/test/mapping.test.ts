import { describe, expect, it } from 'vitest';
import { ENVELOPE_BYTES, encodeBatch, encodeBody, measureChange } from '../src/mapping.ts';

describe('mapping', () => {
  it('sizes the body exactly: envelope + Σ measure, multi-byte text included', async () => {
    const changes = ['Zoë', '😀😀', 'plain'].map((firstName, index) => ({
      kind: 'upsert' as const,
      profileId: `p${index}`,
      identity: `p${index}@example.com`,
      fields: { firstName, score: index, vip: index === 1, city: null },
    }));
    const { records } = await encodeBatch(changes);
    const body = encodeBody(records);
    const measured = ENVELOPE_BYTES + changes.reduce((sum, change) => sum + measureChange(change), 0);
    expect(measured).toBe(Buffer.byteLength(body, 'utf8'));
    expect(JSON.parse(body).records[0]).toEqual({
      op: 'upsert',
      email: 'p0@example.com',
      fields: { firstName: 'Zoë', score: 0, vip: false, city: null },
    });
  });
});
