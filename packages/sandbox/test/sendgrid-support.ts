import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { createSendgridServer, type SendgridOptions } from '../src/sendgrid/server.ts';
import type { CommonOptions, VendorServer } from '../src/vendor-server.ts';

export const API_KEY = 'SG.test-key';
export const ZERO_DELAY = { startDelayMs: 0, recordsPerSecond: Number.POSITIVE_INFINITY } as const;

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected freely
  readonly body: any;
}

export interface Harness {
  readonly url: string;
  readonly server: VendorServer;
  readonly call: (
    method: string,
    path: string,
    init?: {
      body?: unknown;
      raw?: NonNullable<RequestInit['body']>;
      headers?: Record<string, string>;
      auth?: boolean;
    },
  ) => Promise<Reply>;
  /** Runs a JSON upsert and returns the finished job status body. */
  readonly upsert: (body: unknown) => Promise<Reply>;
  readonly close: () => Promise<void>;
}

export const toReply = async (response: Response): Promise<Reply> => {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON (CSV, S3 XML): keep the text.
  }
  return { status: response.status, headers: response.headers, text, body };
};

export const startSendgrid = async (options: SendgridOptions & CommonOptions = {}): Promise<Harness> => {
  const server = createSendgridServer({ apiKey: API_KEY, ...ZERO_DELAY, ...options });
  const url = await server.listen();
  const call: Harness['call'] = async (method, path, init = {}) => {
    const headers: Record<string, string> = {
      ...(init.auth === false ? {} : { authorization: `Bearer ${API_KEY}` }),
    };
    let body: NonNullable<RequestInit['body']> | undefined = init.raw;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    const response = await fetch(path.startsWith('http') ? path : `${url}${path}`, {
      method,
      headers: { ...headers, ...init.headers },
      ...(body === undefined ? {} : { body }),
    });
    return toReply(response);
  };
  return {
    url,
    server,
    call,
    upsert: async (body) => {
      const accepted = await call('PUT', '/v3/marketing/contacts', { body });
      expect(accepted.status, accepted.text).toBe(202);
      return call('GET', `/v3/marketing/contacts/imports/${accepted.body.job_id}`);
    },
    close: () => server.close(),
  };
};

// --- OpenAPI response validation -----------------------------------------------------------

type Spec = 'contacts' | 'custom_fields' | 'lists';
const FILES: Record<Spec, string> = {
  contacts: 'sendgrid-tsg_mc_contacts_v3.yaml',
  custom_fields: 'sendgrid-tsg_mc_custom_fields_v3.yaml',
  lists: 'sendgrid-tsg_mc_lists_v3.yaml',
};

/**
 * The files are OpenAPI 3.1 but still use 3.0's `nullable: true` in places; JSON Schema 2020-12
 * spells that as a type union, so it is rewritten before compiling.
 */
const rewriteNullable = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(rewriteNullable);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = rewriteNullable(value);
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  delete out.nullable;
  return out;
};

const loadSpec = (spec: Spec): Record<string, unknown> => {
  const doc = rewriteNullable(
    parse(readFileSync(new URL(`../vendor-specs/${FILES[spec]}`, import.meta.url), 'utf8')),
  ) as Record<string, unknown>;
  // Known defect: DELETE /v3/marketing/contacts types its 202 `job_id` as an object, while every
  // other job id is a string (vendor-apis.md B.2.7: "treat as string").
  if (spec === 'contacts') {
    type Accepted = {
      content: { 'application/json': { schema: { properties: { job_id: { type: string } } } } };
    };
    const paths = doc.paths as Record<string, { delete: { responses: Record<string, Accepted> } }>;
    const accepted = paths['/v3/marketing/contacts']?.delete.responses['202'] as Accepted;
    accepted.content['application/json'].schema.properties.job_id.type = 'string';
  }
  return doc;
};

// strict: false because OpenAPI documents carry keywords JSON Schema does not know (example...).
const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateSchema: false });
addFormats.default(ajv);
const specs = new Map<Spec, Record<string, unknown>>();
for (const spec of Object.keys(FILES) as Spec[]) {
  const doc = loadSpec(spec);
  specs.set(spec, doc);
  ajv.addSchema(doc, spec);
}

const pointer = (...parts: string[]): string =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/** Asserts `body` matches the response schema the spec gives for path, method and status. */
export const expectMatchesSpec = (
  spec: Spec,
  path: string,
  method: string,
  status: number,
  body: unknown,
): void => {
  const doc = specs.get(spec) as Record<
    string,
    Record<string, Record<string, { responses: Record<string, unknown> }>>
  >;
  let response = doc.paths?.[path]?.[method]?.responses[String(status)] as
    | Record<string, unknown>
    | undefined;
  expect(response, `${spec} spec has no ${method.toUpperCase()} ${path} ${status}`).toBeDefined();
  let location = `#/${pointer('paths', path, method, 'responses', String(status))}`;
  if (typeof response?.$ref === 'string') {
    location = response.$ref as string;
    const name = location.split('/').pop() ?? '';
    response = (doc.components as Record<string, Record<string, Record<string, unknown>>>).responses?.[name];
  }
  expect((response?.content as Record<string, unknown> | undefined)?.['application/json']).toBeDefined();
  const validate = ajv.getSchema(`${spec}${location}/content/application~1json/schema`);
  expect(validate, `no schema at ${location}`).toBeDefined();
  const ok = validate?.(body);
  expect(
    ok,
    `${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate?.errors)}\n${JSON.stringify(body)}`,
  ).toBe(true);
};

/** Parses CSV text (RFC 4180) for assertions on the errors file. */
export const parseCsv = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
