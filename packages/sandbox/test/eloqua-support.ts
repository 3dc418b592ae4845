import { createServer, type IncomingMessage, type Server } from 'node:http';
import { expect } from 'vitest';
import type { EloquaOptions } from '../src/eloqua/server.ts';
import { type RunningSandbox, startSandbox } from '../src/index.ts';
import type { CommonOptions, VendorServer } from '../src/vendor-server.ts';

export const SITE = 'FerrySandbox';
export const USER = 'sandbox.user';
export const PASSWORD = 'sandbox-password';
export const TOKEN = 'sandbox-eloqua-token';
export const basic = (user = `${SITE}\\${USER}`, password = PASSWORD): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const BASIC = basic();

export const FIELDS = {
  email: '{{Contact.Field(C_EmailAddress)}}',
  first: '{{Contact.Field(C_FirstName)}}',
  last: '{{Contact.Field(C_LastName)}}',
  title: '{{Contact.Field(C_Title)}}',
  employees: '{{Contact.Field(C_Number_of_Employees1)}}',
  crmId: '{{Contact.Field(C_SFDCContactID)}}',
};

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly body: any;
}

export interface CallInit {
  /** JSON body (sets Content-Type). */
  readonly json?: unknown;
  /** CSV body (sets Content-Type: text/csv). */
  readonly csv?: string;
  readonly raw?: NonNullable<RequestInit['body']>;
  readonly headers?: Record<string, string>;
  /** Authorization header value, or false for none (default: valid Basic credentials). */
  readonly auth?: string | false;
}

export interface EloquaHarness {
  readonly url: string;
  readonly sandbox: RunningSandbox;
  readonly server: VendorServer;
  /** Any path on the emulator. */
  readonly call: (method: string, path: string, init?: CallInit) => Promise<Reply>;
  /** A Bulk API path (`/contacts/imports`, `/syncs/1`...), under /api/bulk/2.0. */
  readonly api: (method: string, path: string, init?: CallInit) => Promise<Reply>;
  /** Creates an import definition (email identifier by default) and returns its body. */
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly define: (overrides?: Record<string, unknown>) => Promise<any>;
  readonly upload: (definitionUri: string, body: string | readonly unknown[]) => Promise<Reply>;
  /** Creates a sync of a definition and returns the 201 body. */
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly sync: (definitionUri: string, callbackUrl?: string) => Promise<any>;
  /** Polls a sync until it is no longer pending/active and returns its body. */
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly settle: (syncUri: string, timeoutMs?: number) => Promise<any>;
  readonly close: () => Promise<void>;
}

export const toReply = async (response: Response): Promise<Reply> => {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Plain-text reason phrases stay text.
  }
  return { status: response.status, headers: response.headers, text, body };
};

/** Starts the sandbox with only the Eloqua emulator, zero-delay unless told otherwise. */
export const startEloqua = async (options: EloquaOptions & CommonOptions = {}): Promise<EloquaHarness> => {
  const sandbox = await startSandbox({ sendgrid: false, zeroDelay: true, eloqua: options });
  const running = sandbox.eloqua;
  if (running === undefined) throw new Error('eloqua did not start');
  const { url, server } = running;
  const call: EloquaHarness['call'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = {};
    const auth = init.auth ?? BASIC;
    if (auth !== false) headers.authorization = auth;
    let body: NonNullable<RequestInit['body']> | undefined = init.raw;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    if (init.csv !== undefined) {
      headers['content-type'] = 'text/csv';
      body = init.csv;
    }
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...headers, ...init.headers },
      ...(body === undefined ? {} : { body }),
    });
    return toReply(response);
  };
  const api: EloquaHarness['api'] = (method, path, init) => call(method, `/api/bulk/2.0${path}`, init);
  const settle: EloquaHarness['settle'] = async (syncUri, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = await api('GET', syncUri);
      expect(reply.status, reply.text).toBe(200);
      if (reply.body.status !== 'pending' && reply.body.status !== 'active') return reply.body;
      if (Date.now() > deadline) throw new Error(`${syncUri} still ${reply.body.status}`);
      await sleep(10);
    }
  };
  return {
    url,
    sandbox,
    server,
    call,
    api,
    define: async (overrides = {}) => {
      const reply = await api('POST', '/contacts/imports', {
        json: {
          name: 'test import',
          fields: { C_EmailAddress: FIELDS.email, C_FirstName: FIELDS.first, C_LastName: FIELDS.last },
          identifierFieldName: 'C_EmailAddress',
          ...overrides,
        },
      });
      expect(reply.status, reply.text).toBe(201);
      return reply.body;
    },
    upload: (definitionUri, body) =>
      api('POST', `${definitionUri}/data`, typeof body === 'string' ? { csv: body } : { json: body }),
    sync: async (definitionUri, callbackUrl) => {
      const reply = await api('POST', '/syncs', {
        json: { syncedInstanceUri: definitionUri, ...(callbackUrl === undefined ? {} : { callbackUrl }) },
      });
      expect(reply.status, reply.text).toBe(201);
      return reply.body;
    },
    settle,
    close: () => sandbox.close(),
  };
};

/** CSV text from a header and rows (values are quoted when they need it). */
export const csv = (header: readonly string[], rows: readonly (readonly string[])[]): string =>
  [header, ...rows]
    .map((row) => row.map((v) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(','))
    .join('\r\n')
    .concat('\r\n');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A throwaway HTTP server that records what it receives (for callbackUrl tests). */
export const startReceiver = async (
  status = 200,
): Promise<{
  url: string;
  received: { method: string; headers: IncomingMessage['headers']; body: string }[];
  close: () => Promise<void>;
}> => {
  const received: { method: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      received.push({ method: request.method ?? '', headers: request.headers, body });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('receiver has no port');
  return {
    url: `http://127.0.0.1:${address.port}/eloqua/callback`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
};
