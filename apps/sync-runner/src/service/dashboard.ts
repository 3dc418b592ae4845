import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/*
 * The dashboard: a static app (built by `pnpm build` into dashboard/dist) served under /ui/. Its
 * files are read once at start into memory — a handful of files, so no path from a request ever
 * reaches the file system. They hold no data and need no token; the app signs in through the API.
 * Strict headers: a CSP allowing only this origin, no framing, no referrer.
 */

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // uPlot sizes its canvas and legend through element.style, which style-src does not govern.
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** dashboard/dist beside src/ (running from source) or beside dist/ (the published package). */
const candidates = (): string[] => [
  fileURLToPath(new URL('../../dashboard/dist/', import.meta.url)),
  fileURLToPath(new URL('../dashboard/dist/', import.meta.url)),
];

export const findDashboardDir = (): string | undefined =>
  candidates().find((dir) => existsSync(join(dir, 'index.html')));

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const loadAssets = (dir: string): Map<string, Asset> => {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    assets.set(name, {
      body,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
};

const headers = (reply: FastifyReply): FastifyReply =>
  reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer');

export const dashboardRoutes = (app: FastifyInstance, dir: string | undefined = findDashboardDir()): void => {
  const assets = dir === undefined ? new Map<string, Asset>() : loadAssets(dir);
  const route = { config: { auth: false }, schema: { hide: true } };
  app.get('/', route, async (_request, reply) => reply.redirect('/ui/', 302));
  app.get<{ Params: { '*': string } }>('/ui/*', route, async (request, reply) => {
    const name = request.params['*'] === '' ? 'index.html' : request.params['*'];
    const asset = assets.get(name);
    headers(reply);
    if (asset === undefined) {
      if (assets.size === 0)
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The dashboard is not built: run `pnpm build` (or `pnpm --filter @ferry/sync-runner build:dashboard`).\n',
          );
      return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
    }
    reply.header('etag', asset.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};
