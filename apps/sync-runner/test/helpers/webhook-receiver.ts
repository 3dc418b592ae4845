import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A local webhook receiver for the service tests: records every request, answers the queued
 * statuses (then 204), and can go down and come back on the same port (a receiver that is away).
 */

export interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Receiver {
  readonly received: Received[];
  /** Statuses to answer, in order; 204 once empty. */
  readonly answers: number[];
  readonly url: string;
  /** Stops listening: connections are refused until `up`. */
  readonly down: () => Promise<void>;
  readonly up: () => Promise<void>;
  readonly close: () => Promise<void>;
}

export const startReceiver = async (path = '/hooks'): Promise<Receiver> => {
  const received: Received[] = [];
  const answers: number[] = [];
  const listen = async (port: number): Promise<Server> => {
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({ path: request.url ?? '', headers: request.headers, body });
        response.writeHead(answers.shift() ?? 204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return server;
  };
  let server: Server | undefined = await listen(0);
  const port = (server.address() as AddressInfo).port;
  const stop = async () => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    current.closeAllConnections();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  return {
    received,
    answers,
    url: `http://127.0.0.1:${port}${path}`,
    down: stop,
    up: async () => {
      server ??= await listen(port);
    },
    close: stop,
  };
};
