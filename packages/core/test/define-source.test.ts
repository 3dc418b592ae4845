import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSourceContext, defineSource, sourceContractVersionOf } from '../src/define-source.ts';
import { ConfigError, PermanentError } from '../src/errors.ts';
import { secret } from '../src/options.ts';
import type { ExportPage } from '../src/source-contract.ts';

/*
 * defineSource and the context it gets, against a real local HTTP server: options parsed with
 * errors that name the key and never the value, secrets kept out of HTTP errors, and a source that
 * pages with checkpoints read back from any checkpoint it gave.
 */

let server: Server;
let base = '';
beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname === '/echo') {
      // A vendor that echoes the credential in its error body.
      response.writeHead(400, { 'content-type': 'text/plain' });
      response.end(`bad request for ${request.headers.authorization ?? ''}`);
      return;
    }
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const items = Array.from({ length: Math.max(0, Math.min(2, 5 - offset)) }, (_, i) => ({ n: offset + i }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ items, hasMore: offset + items.length < 5 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const paging = defineSource({
  name: 'paging',
  displayName: 'Paging test source',
  options: z.object({ token: secret(z.string().min(1)), url: z.string() }),
  start: async () => ({ id: 'one' }),
  check: async () => ({ state: 'ready', parts: [{ path: '/data' }] }),
  read: async function* (ctx, _handle, part, checkpoint) {
    let offset = typeof checkpoint === 'number' ? checkpoint : 0;
    for (;;) {
      const { data } = await ctx.http.request<{ items: { n: number }[]; hasMore: boolean }>({
        method: 'GET',
        url: `${ctx.options.url}${String(part.path)}`,
        query: { offset },
      });
      offset += data.items.length;
      yield { records: data.items, checkpoint: offset } satisfies ExportPage;
      if (!data.hasMore) return;
    }
  },
});

const readAll = async (checkpoint: number | null): Promise<number[]> => {
  const ctx = createSourceContext(paging, { options: { token: 'tok-secret-123', url: base } });
  const seen: number[] = [];
  for await (const page of paging.read(ctx, { id: 'one' }, { path: '/data' }, checkpoint))
    for (const record of page.records) seen.push(Number(record.n));
  return seen;
};

describe('defineSource', () => {
  it('stamps the source contract version, and nothing else carries it', () => {
    expect(sourceContractVersionOf(paging)).toBe('1.0.0');
    expect(sourceContractVersionOf({ ...paging })).toBeUndefined();
    expect(Object.keys(paging)).not.toContain('Symbol(ferry.source.contract)');
  });

  it('reads every record from the start, and exactly the rest from a checkpoint it gave', async () => {
    expect(await readAll(null)).toEqual([0, 1, 2, 3, 4]);
    expect(await readAll(2)).toEqual([2, 3, 4]);
  });

  it('rejects bad options with the key and without the value', () => {
    const error = (() => {
      try {
        createSourceContext(paging, { options: { token: 42, url: base }, label: 'source' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/^\[ferry\] \[source\] invalid options: token:/);
    expect(String((error as Error).message)).not.toContain('42');
  });

  it('keeps secret options out of HTTP errors', async () => {
    const ctx = createSourceContext(paging, { options: { token: 'tok-secret-123', url: base } });
    const failure = await ctx.http
      .request({ method: 'GET', url: `${base}/echo`, headers: { authorization: 'tok-secret-123' } })
      .catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(PermanentError);
    expect(String((failure as Error).message)).not.toContain('tok-secret-123');
  });
});
