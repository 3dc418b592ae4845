/**
 * The zero-delay sandbox for the sync benchmark, in a process of its own so that its memory (it
 * holds every contact it receives) and its CPU are not counted as the runner's.
 *
 * Started by sync.bench.ts with an IPC channel: it answers `ready` with its URL, and `requests`
 * with every vendor request it served and the body bytes it received. Without an IPC channel (by
 * hand, to profile a sync) it prints its URL and serves until Ctrl-C. The sandbox's own
 * `/__sandbox/requests` takes body sizes from `content-length`, which streamed uploads (Eloqua's CSV
 * uploads, SendGrid's gzip upload) do not send, so bytes are counted here as the body arrives.
 *
 *   node bench/sandbox-server.ts eloqua|sendgrid [port]
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { startSandbox } from '@ferry/sandbox';

export const BENCH_SENDGRID_KEY = 'SG.bench-sandbox-key';
export const BENCH_SENDGRID_LIST = '6f1c2a4e-8b3d-4c5e-9a7f-0d1e2f3a4b5c';
export const BENCH_ELOQUA_LIST = '1001';
export const BENCH_ELOQUA_AUTH = {
  type: 'basic',
  site: 'FerrySandbox',
  username: 'sandbox.user',
  password: 'sandbox-password',
} as const;

/** Custom fields the SendGrid mapping uses (reserved fields need none). */
const SENDGRID_CUSTOM_FIELDS = [
  { name: 'company', field_type: 'Text' },
  { name: 'job_title', field_type: 'Text' },
  { name: 'industry', field_type: 'Text' },
  { name: 'plan', field_type: 'Text' },
  { name: 'notes', field_type: 'Text' },
  { name: 'signup_date', field_type: 'Date' },
  { name: 'orders', field_type: 'Number' },
  { name: 'lifetime_value', field_type: 'Number' },
] as const;

export interface ServedRequest {
  readonly method: string;
  /** Path without the query string (SendGrid's upload URL carries a signature there). */
  readonly path: string;
  readonly status: number;
  /** Body bytes received, as sent on the wire (compressed when the client gzipped). */
  readonly bytes: number;
}

export type SandboxMessage =
  | { readonly type: 'ready'; readonly url: string; readonly pid: number }
  | { readonly type: 'requests'; readonly requests: readonly ServedRequest[]; readonly maxRssKb: number };

/**
 * Counts each request's body bytes without consuming the body: the HTTP parser hands body chunks to
 * `IncomingMessage#push`, so wrapping it sees every byte exactly once, whoever reads the stream.
 */
const countBodies = (server: Server, log: ServedRequest[]): void => {
  server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    let bytes = 0;
    const push = request.push.bind(request);
    request.push = (chunk: unknown, encoding?: BufferEncoding) => {
      if (chunk !== null && chunk !== undefined) bytes += (chunk as Uint8Array).byteLength;
      return push(chunk, encoding);
    };
    response.once('finish', () => {
      const url = request.url ?? '';
      const path = url.split('?')[0] ?? url;
      if (path.startsWith('/__sandbox')) return;
      log.push({ method: request.method ?? '', path, status: response.statusCode, bytes });
    });
  });
};

const main = async (): Promise<void> => {
  const vendor = process.argv[2];
  if (vendor !== 'eloqua' && vendor !== 'sendgrid') {
    throw new Error('usage: node bench/sandbox-server.ts eloqua|sendgrid [port]');
  }
  const port = Number(process.argv[3] ?? 0);
  const sandbox = await startSandbox({
    zeroDelay: true,
    port,
    eloqua: vendor === 'eloqua' ? {} : false,
    sendgrid:
      vendor === 'sendgrid'
        ? {
            apiKey: BENCH_SENDGRID_KEY,
            customFields: SENDGRID_CUSTOM_FIELDS.map((field) => ({ ...field })),
            lists: [{ id: BENCH_SENDGRID_LIST, name: 'Newsletter' }],
          }
        : false,
  });
  const running = vendor === 'eloqua' ? sandbox.eloqua! : sandbox.sendgrid!;
  const log: ServedRequest[] = [];
  countBodies(running.server.app.server, log);

  const send = (message: SandboxMessage): void => void process.send?.(message);
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'requests') {
      send({ type: 'requests', requests: log, maxRssKb: process.resourceUsage().maxRSS });
    }
  });
  const stop = async (): Promise<void> => {
    await sandbox.close();
    process.exit(0);
  };
  process.once('disconnect', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (process.send === undefined) console.log(JSON.stringify({ vendor, url: running.url }));
  send({ type: 'ready', url: running.url, pid: process.pid });
};

if (import.meta.main) await main();
