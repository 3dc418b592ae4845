import { readFileSync } from 'node:fs';
import { type CreateContextInput, createContext, type ProfileChange } from '@ferry/core';
import nock from 'nock';
import { eloqua } from '../src/index.ts';

/** Hosts of the nock tests; nothing listens there and real network is disabled. */
export const LOGIN = 'https://login.eloqua.test';
export const POD = 'https://secure.p03.eloqua.test';
export const BULK = `${POD}/api/bulk/2.0`;
export const BULK_PATH = '/api/bulk/2.0';

/** Oracle's own Basic example: `COMPANYX\user1:password123`. */
export const BASIC_AUTH = {
  type: 'basic',
  site: 'COMPANYX',
  username: 'user1',
  password: 'password123',
} as const;
export const BASIC_HEADER = 'Basic Q09NUEFOWVhcdXNlcjE6cGFzc3dvcmQxMjM=';

export const fixture = <T = unknown>(path: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8')) as T;

/** A context for nock tests: short backoff, few retries, so fault tests stay fast. */
export const context = (
  options: Record<string, unknown> = {},
  input: Omit<CreateContextInput, 'options'> = {},
) =>
  createContext(eloqua, {
    options: { auth: BASIC_AUTH, loginUrl: LOGIN, ...options },
    httpOverrides: { baseBackoffMs: 1, maxBackoffMs: 2, retries: 2, rateLimitRetries: 1 },
    ...input,
  });

/** `GET /id` answering with the fixture's pod. */
export const mockId = () =>
  nock(LOGIN).get('/id').matchHeader('authorization', BASIC_HEADER).reply(200, fixture('id/ok.json'));

export const upsert = (
  n: number,
  fields: Record<string, unknown> = {},
  extra: Partial<ProfileChange> = {},
): ProfileChange =>
  ({
    kind: 'upsert',
    profileId: `p${n}`,
    identity: `user${n}@example.com`,
    fields: { C_EmailAddress: `user${n}@example.com`, C_FirstName: `User ${n}`, ...fields },
    ...extra,
  }) as ProfileChange;

export const envelope = <T>(items: readonly T[], extra: Record<string, unknown> = {}) => ({
  items,
  totalResults: items.length,
  limit: 1000,
  offset: 0,
  count: items.length,
  hasMore: false,
  ...extra,
});
