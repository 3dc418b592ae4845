import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { type CreateContextInput, createContext, type ProfileChange, type UpsertChange } from '@ferry/core';
import { sendgrid } from '../src/index.ts';

/** Shared by the unit tests: a fake API host (nock), short HTTP waits, and fixture files. */
export const API = 'https://api.sendgrid.test';
export const API_KEY = 'SG.unit-test-key-Zq9x';

export const LIST_A = 'ca7a3796-e8a8-4029-9ccb-df8937940562';
export const LIST_B = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

export const contextFor = (
  options: Record<string, unknown> = {},
  httpOverrides: CreateContextInput['httpOverrides'] = {},
) =>
  createContext(sendgrid, {
    options: { apiKey: API_KEY, baseUrl: API, ...options },
    httpOverrides: { retries: 0, rateLimitRetries: 0, baseBackoffMs: 1, maxBackoffMs: 5, ...httpOverrides },
  });

export const fixturePath = (path: string): URL => new URL(`./fixtures/${path}`, import.meta.url);
export const fixtureText = (path: string): string => readFileSync(fixturePath(path), 'utf8');
export const fixture = <T = Record<string, unknown>>(path: string): T => JSON.parse(fixtureText(path)) as T;

export const upsert = (
  n: number | string,
  fields: UpsertChange['fields'] = {},
  extra: Partial<Pick<UpsertChange, 'identity' | 'lists'>> = {},
): UpsertChange => {
  const identity = extra.identity ?? `user${n}@example.com`;
  return {
    kind: 'upsert',
    profileId: `p${n}`,
    identity,
    fields: { email: identity, ...fields },
    ...(extra.lists === undefined ? {} : { lists: extra.lists }),
  };
};

export const remove = (n: number | string, identity = `user${n}@example.com`): ProfileChange => ({
  kind: 'delete',
  profileId: `d${n}`,
  identity,
});

/** A request body as the server got it; nock hands gzip bodies over already decompressed. */
export const bodyOf = async (request: Request): Promise<Buffer> => {
  const raw = Buffer.from(await request.arrayBuffer());
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
};

export const jsonOf = async <T = Record<string, unknown>>(request: Request): Promise<T> =>
  JSON.parse((await bodyOf(request)).toString('utf8')) as T;
