import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError } from '../src/service/verify-webhook.ts';
import { newWebhookSecret } from '../src/service/webhooks.ts';

/*
 * The receivers' helper against signatures made by the standardwebhooks package (what Ferry
 * signs with): a good delivery is accepted, a forged body, another secret, a stale or future
 * timestamp and missing headers are refused with their reason.
 */

const secret = newWebhookSecret();
const body = JSON.stringify({ type: 'run.completed', data: { runId: 'run_1', counts: { records: 11 } } });
const signed = (at = new Date(), id = 'msg_0123456789abcdef', key = secret) => ({
  'webhook-id': id,
  'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  'webhook-signature': new Webhook(key).sign(id, at, body),
});
const reasonOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('verifyWebhook accepted it');
};

describe('verifyWebhook', () => {
  it('accepts a good delivery, from Node headers, fetch Headers or bytes, and returns the body', () => {
    const headers = signed();
    expect(verifyWebhook(secret, headers, body)).toEqual(JSON.parse(body));
    expect(verifyWebhook(secret, new Headers(headers), Buffer.from(body))).toEqual(JSON.parse(body));
    // One matching signature among several (a secret being rotated) is enough.
    const other = signed(new Date(), 'msg_0123456789abcdef', newWebhookSecret());
    expect(
      verifyWebhook(
        secret,
        {
          ...headers,
          'webhook-signature': `${other['webhook-signature']} ${headers['webhook-signature']}`,
        },
        body,
      ),
    ).toEqual(JSON.parse(body));
  });

  it('refuses a forged body, id or signature, and a wrong secret', () => {
    const headers = signed();
    expect(reasonOf(() => verifyWebhook(secret, headers, body.replace('11', '12')))).toBe('bad-signature');
    expect(reasonOf(() => verifyWebhook(secret, { ...headers, 'webhook-id': 'msg_other' }, body))).toBe(
      'bad-signature',
    );
    expect(reasonOf(() => verifyWebhook(secret, { ...headers, 'webhook-signature': 'v1,AAAA' }, body))).toBe(
      'bad-signature',
    );
    expect(reasonOf(() => verifyWebhook(newWebhookSecret(), headers, body))).toBe('bad-signature');
    expect(() => verifyWebhook(newWebhookSecret(), headers, body)).toThrow(/wrong secret/);
  });

  it('refuses stale and future timestamps outside the tolerance, and accepts them inside it', () => {
    const stale = signed(new Date(Date.now() - 600_000));
    expect(reasonOf(() => verifyWebhook(secret, stale, body))).toBe('stale');
    expect(() => verifyWebhook(secret, stale, body)).toThrow(/more than 300 s/);
    expect(verifyWebhook(secret, stale, body, { toleranceSeconds: 900 })).toEqual(JSON.parse(body));
    expect(reasonOf(() => verifyWebhook(secret, signed(new Date(Date.now() + 600_000)), body))).toBe(
      'future',
    );
    // The standardwebhooks package draws the same line.
    expect(() => new Webhook(secret).verify(body, stale)).toThrow();
  });

  it('names what is missing or malformed', () => {
    const { 'webhook-signature': _signature, ...unsigned } = signed();
    expect(reasonOf(() => verifyWebhook(secret, unsigned, body))).toBe('missing-header');
    expect(() => verifyWebhook(secret, unsigned, body)).toThrow('the webhook-signature header is missing');
    expect(reasonOf(() => verifyWebhook(secret, { ...signed(), 'webhook-timestamp': 'soon' }, body))).toBe(
      'bad-timestamp',
    );
    expect(reasonOf(() => verifyWebhook('whsec_', signed(), body))).toBe('bad-secret');
  });
});
