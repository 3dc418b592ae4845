import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createContext, TransientError } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.ts';
import { toSyncDestination } from '../src/wiring/config-destinations.ts';

/*
 * `http.timeoutMs` reaches the HTTP client the plugin is given. The reliability harness needs it to
 * test vendors that hang (its `slow` faults) without waiting out the default 30 s per attempt.
 */

const configWith = (http?: Record<string, unknown>) =>
  parseConfig(
    {
      source: { type: 'csv', path: './people.csv', idColumn: 'id' },
      destinations: {
        sendgrid: {
          plugin: 'sendgrid',
          options: { apiKey: 'SG.test-key-0001', baseUrl: 'http://127.0.0.1:9' },
          identity: 'email',
          fields: { email: 'email' },
          ...(http === undefined ? {} : { http }),
        },
      },
    },
    { env: {} },
  ).config;

describe('destination http.timeoutMs', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // Accepts requests and never answers them.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is absent by default, so the client keeps its own 30 s', async () => {
    const destination = await toSyncDestination('sendgrid', configWith().destinations.sendgrid!);
    expect(destination.context).toBeUndefined();
  });

  it('is refused when not a positive whole number', () => {
    expect(() => configWith({ timeoutMs: 0 })).toThrow(/destinations\.sendgrid\.http\.timeoutMs/);
    expect(() => configWith({ timeout: 5 })).toThrow(/destinations\.sendgrid\.http\.timeout/);
  });

  it("becomes the per-attempt timeout of the plugin's HTTP client", async () => {
    const destination = await toSyncDestination(
      'sendgrid',
      configWith({ timeoutMs: 150 }).destinations.sendgrid!,
    );
    expect(destination.context).toEqual({ httpOverrides: { timeoutMs: 150 } });
    const ctx = createContext(destination.plugin, { ...destination.context, options: destination.options });
    const started = performance.now();
    const request = ctx.http.request({ method: 'GET', url, retry: false, operation: 'hang' });
    await expect(request).rejects.toThrow(TransientError);
    await expect(request).rejects.toThrow(/timed out \(150 ms per attempt\)/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
