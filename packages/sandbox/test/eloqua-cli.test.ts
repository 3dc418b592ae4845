import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { buildProgram, DEFAULT_ELOQUA_PORT, DEFAULT_SENDGRID_PORT, sandboxOptionsFrom } from '../src/cli.ts';
import { basic } from './eloqua-support.ts';

const CLI = new URL('../src/cli.ts', import.meta.url).pathname;

const parse = (args: string[]) =>
  sandboxOptionsFrom(
    buildProgram()
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .parse(args, { from: 'user' })
      .opts() as never,
  );

describe('ferry-sandbox command line', () => {
  it('maps every flag onto startSandbox options', () => {
    expect(parse([])).toMatchObject({
      host: '127.0.0.1',
      faults: [],
      eloqua: { port: DEFAULT_ELOQUA_PORT, siteName: 'FerrySandbox', maxUploadBytes: 32_000_000 },
      sendgrid: { port: DEFAULT_SENDGRID_PORT, apiKey: 'SG.sandbox' },
    });
    const options = parse([
      '--host=0.0.0.0',
      '--eloqua-port=5000',
      '--no-sendgrid',
      '--zero-delay',
      '--start-delay-ms=10',
      '--records-per-second=Infinity',
      '--seed=9',
      '--fault=eloqua.syncStatus:vanish',
      '--fault=eloqua.upload:rate_limit:0.5:2',
      '--log-requests',
      '--retry-after',
      '--eloqua-site=Acme',
      '--eloqua-user=jane',
      '--eloqua-password=pw',
      '--eloqua-token=tok',
      '--eloqua-client-id=cid',
      '--eloqua-client-secret=cs',
      '--eloqua-id-failure=unauthorized',
      '--eloqua-invalid-field-policy=rejectRecord',
      '--eloqua-max-upload-bytes=1000',
      '--eloqua-max-uploads-per-sync=3',
      '--eloqua-callback-timeout-ms=50',
    ]);
    expect(options).toEqual({
      host: '0.0.0.0',
      zeroDelay: true,
      startDelayMs: 10,
      recordsPerSecond: Number.POSITIVE_INFINITY,
      seed: 9,
      logRequests: true,
      retryAfterHeader: true,
      faults: [
        { endpoint: 'eloqua.syncStatus', kind: 'vanish' },
        { endpoint: 'eloqua.upload', kind: 'rate_limit', probability: 0.5, count: 2 },
      ],
      eloqua: {
        port: 5000,
        siteName: 'Acme',
        username: 'jane',
        password: 'pw',
        accessToken: 'tok',
        clientId: 'cid',
        clientSecret: 'cs',
        idAuthFailure: 'unauthorized',
        invalidFieldPolicy: 'rejectRecord',
        maxUploadBytes: 1000,
        maxUploadsPerSync: 3,
        callbackTimeoutMs: 50,
      },
      sendgrid: false,
    });
    expect(() => parse(['--fault=eloqua.upload:boom'])).toThrow(/kind must be one of/);
    expect(() => parse(['--eloqua-port=-1'])).toThrow(/--eloqua-port/);
    expect(() => parse(['--eloqua-id-failure=maybe'])).toThrow();
  });

  it('starts both emulators, prints where and how to call them, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        '--json',
        '--eloqua-port=0',
        '--sendgrid-port=0',
        '--eloqua-user=cli.user',
        '--fault=eloqua.fields:unavailable',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const info = JSON.parse(line);
      expect(info.eloqua.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.sendgrid).toEqual({
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        apiKey: 'SG.sandbox',
      });
      expect(info.eloqua.basicAuthorization).toBe(basic('FerrySandbox\\cli.user'));
      const id = await fetch(`${info.eloqua.url}/id`, {
        headers: { authorization: info.eloqua.basicAuthorization },
      });
      expect(((await id.json()) as { urls: { base: string } }).urls.base).toBe(info.eloqua.url);
      const faulted = await fetch(`${info.eloqua.bulkUrl}/contacts/fields`, {
        headers: { authorization: `Bearer ${info.eloqua.accessToken}` },
      });
      expect(faulted.status).toBe(503);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
