import { describe, expect, it } from 'vitest';
import { encodeBatch, measureChange } from '../src/mapping.ts';

describe('mapping', () => {
  it('writes a header and one row per profile, measured in bytes, null as an empty cell', async () => {
    const change = {
      kind: 'upsert' as const,
      profileId: 'p1',
      identity: 'zoe@example.com',
      fields: { firstName: 'Zoë, 😀', score: 3, vip: false, signedUpAt: new Date('2024-01-02T03:04:05Z'), city: null },
    };
    const { body, records } = await encodeBatch('test', [change]);
    expect(records).toBe(1);
    expect(body).toBe(
      'email,firstName,score,vip,signedUpAt,city\r\nzoe@example.com,"Zoë, 😀",3,false,2024-01-02T03:04:05.000Z,\r\n',
    );
    const [, row = ''] = body.split('\r\n');
    expect(measureChange(change)).toBe(Buffer.byteLength(`${row}\r\n`, 'utf8'));
  });
});
