import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * Vendor callbacks ("your import finished") only nudge the scheduler: the job's status is still read
 * from the vendor's API, so a forged or replayed callback can at worst cause one extra status check.
 * Each job gets its own random token in its callback URL; only its SHA-256 is stored, which is enough
 * to recognise callbacks for jobs submitted by an earlier process.
 */

export interface CallbackRegistry {
  /** The URL given to the plugin as `ctx.callbackUrl` for one job. */
  readonly urlFor: (jobId: string, token: string) => string;
  /** Starts accepting callbacks for `jobId`; `nudge` asks for an immediate status check. */
  readonly register: (jobId: string, tokenHash: string, nudge: () => void) => void;
  readonly unregister: (jobId: string) => void;
}

export interface CallbackListener extends CallbackRegistry {
  /** Where the listener is bound, e.g. `http://127.0.0.1:8787`. */
  readonly address: string;
  readonly close: () => Promise<void>;
}

export interface CallbackListenerOptions {
  /**
   * The public base URL vendors call (what `--callback-url` gives); job id and token are appended.
   * Port `0` listens on a free port and publishes it.
   */
  readonly publicUrl: string;
  /** Where to listen; default: the public URL's port on all interfaces. */
  readonly host?: string;
  readonly port?: number;
}

export const newCallbackToken = (): string => randomBytes(24).toString('base64url');

export const hashCallbackToken = (token: string): string => createHash('sha256').update(token).digest('hex');

const tokenMatches = (token: string, expectedHash: string): boolean => {
  const actual = Buffer.from(hashCallbackToken(token), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};

// Callback bodies are never read for their content; this only bounds what a client can make us buffer.
const MAX_BODY_BYTES = 64 * 1024;

const drain = (request: IncomingMessage): Promise<void> =>
  new Promise((resolve) => {
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
    });
    request.on('end', resolve);
    request.on('close', resolve);
    request.on('error', resolve);
  });

const basePath = (publicUrl: URL): string => publicUrl.pathname.replace(/\/+$/, '');

/** Starts the HTTP listener for vendor callbacks. */
export const startCallbackListener = async (options: CallbackListenerOptions): Promise<CallbackListener> => {
  const publicUrl = new URL(options.publicUrl);
  const prefix = basePath(publicUrl);
  const jobs = new Map<string, { readonly tokenHash: string; readonly nudge: () => void }>();

  const answer = (response: ServerResponse, status: number): void => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    response.end(status === 204 ? undefined : `${status === 403 ? 'forbidden' : 'not found'}\n`);
  };

  const server = createServer((request, response) => {
    void drain(request).then(() => {
      if (request.method !== 'POST' && request.method !== 'GET' && request.method !== 'PUT') {
        answer(response, 404);
        return;
      }
      const path = new URL(request.url ?? '/', 'http://callback.invalid').pathname;
      const rest = path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : undefined;
      const [jobId, token, extra] = rest?.split('/') ?? [];
      const job = jobId === undefined ? undefined : jobs.get(jobId);
      if (job === undefined || token === undefined || token === '' || extra !== undefined) {
        answer(response, 404);
        return;
      }
      if (!tokenMatches(token, job.tokenHash)) {
        answer(response, 403);
        return;
      }
      job.nudge();
      answer(response, 204);
    });
  });

  const port = options.port ?? (publicUrl.port === '' ? 0 : Number(publicUrl.port));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  // `--callback-url http://127.0.0.1:0/...` (tests, local sandboxes): publish the port actually bound.
  if (publicUrl.port === '0') publicUrl.port = String(bound.port);

  return {
    address: `http://${host}:${bound.port}`,
    urlFor: (jobId, token) => {
      const url = new URL(publicUrl);
      url.pathname = `${prefix}/${encodeURIComponent(jobId)}/${token}`;
      return url.toString();
    },
    register: (jobId, tokenHash, nudge) => {
      jobs.set(jobId, { tokenHash, nudge });
    },
    unregister: (jobId) => {
      jobs.delete(jobId);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
