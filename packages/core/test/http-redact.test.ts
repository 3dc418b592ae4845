import { describe, expect, it } from 'vitest';
import {
  createRedactor,
  REDACTED,
  redactHeaders,
  redactText,
  secretsFromHeaders,
} from '../src/http/redact.ts';

const SECRET = 'SG.aB3/x+y=z&w o!';

describe('redactText', () => {
  it('redacts the raw secret wherever it appears', () => {
    expect(redactText(`key=${SECRET} and again ${SECRET}.`, [SECRET])).toBe(
      `key=${REDACTED} and again ${REDACTED}.`,
    );
  });

  it('redacts URL-encoded forms, in either hex case', () => {
    const encoded = encodeURIComponent(SECRET);
    const form = new URLSearchParams({ k: SECRET }).toString().slice(2);
    expect(redactText(`?api_key=${encoded}`, [SECRET])).toBe(`?api_key=${REDACTED}`);
    const lowerHex = encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    expect(lowerHex).not.toBe(encoded);
    expect(redactText(`?api_key=${lowerHex}`, [SECRET])).toBe(`?api_key=${REDACTED}`);
    expect(redactText(`?api_key=${form}`, [SECRET])).toBe(`?api_key=${REDACTED}`);
  });

  it('redacts JSON-escaped forms', () => {
    const secret = 'pa"ss\\word';
    const echoed = JSON.stringify({ password: secret });
    expect(redactText(echoed, [secret])).toBe(`{"password":"${REDACTED}"}`);
  });

  it('redacts the secret inside base64 at any alignment (Basic auth of user:secret)', () => {
    for (const user of ['a', 'ab', 'abc', 'company\\user.name']) {
      const encoded = Buffer.from(`${user}:${SECRET}`).toString('base64');
      const out = redactText(`credentials ${encoded} end`, [SECRET]);
      expect(out).toContain(REDACTED);
      // What is left of the encoding no longer decodes to the secret.
      expect(Buffer.from(out.split(' ')[1] ?? '', 'base64').toString()).not.toContain(SECRET);
    }
  });

  it('redacts Authorization values, Bearer tokens and Basic credentials it was not told about', () => {
    const basic = Buffer.from('user:hunter2').toString('base64');
    expect(redactText('Authorization: Bearer abc.def.ghi-jkl', [])).toBe(`Authorization: ${REDACTED}`);
    expect(redactText('{"authorization":"Token xyz"}', [])).toBe(`{"authorization":"${REDACTED}"}`);
    expect(redactText('sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', [])).toBe(`sent Bearer ${REDACTED}`);
    expect(redactText(`sent Basic ${basic}`, [])).toBe(`sent Basic ${REDACTED}`);
  });

  it('leaves prose alone', () => {
    const text = 'Basic information is required. Authorization failed. Bearer token missing.';
    expect(redactText(text, [])).toBe(text);
  });

  it('redacts a longer secret whole when it contains a shorter one', () => {
    expect(redactText('xx-secret-long-yy', ['secret', 'xx-secret-long'])).toBe(`${REDACTED}-yy`);
  });

  it('ignores empty secrets', () => {
    expect(createRedactor(['', 'k3y'])('a k3y b')).toBe(`a ${REDACTED} b`);
  });
});

describe('redactHeaders', () => {
  it('replaces credential headers and redacts secrets in the others', () => {
    const out = redactHeaders(
      {
        Authorization: 'Bearer t0ken',
        'X-Api-Key': 'k',
        Cookie: 'a=b',
        'X-Echo': `v ${SECRET}`,
        Accept: 'json',
      },
      [SECRET],
    );
    expect(out).toEqual({
      Authorization: REDACTED,
      'X-Api-Key': REDACTED,
      Cookie: REDACTED,
      'X-Echo': `v ${REDACTED}`,
      Accept: 'json',
    });
  });

  it('takes a Headers object', () => {
    expect(redactHeaders(new Headers({ authorization: 'Basic abc' }))).toEqual({ authorization: REDACTED });
  });
});

describe('secretsFromHeaders', () => {
  it('collects the value, the credentials and for Basic the decoded password', () => {
    const basic = Buffer.from('company\\user:pa55:word').toString('base64');
    expect(secretsFromHeaders({ authorization: `Basic ${basic}`, accept: 'x' })).toEqual([
      `Basic ${basic}`,
      basic,
      'company\\user:pa55:word',
      'pa55:word',
    ]);
    expect(secretsFromHeaders({ 'x-api-key': 'raw-key' })).toEqual(['raw-key']);
  });
});
