import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningSandbox } from '@ferry/sandbox';
import { ELOQUA_PASSWORD, ELOQUA_SITE, ELOQUA_USER, SENDGRID_API_KEY } from './sandbox.ts';

/*
 * The configs the harness runs `ferry` with: JSON files next to the source, secrets only as
 * environment references (so no file the harness writes holds them), both sandbox destinations.
 */

/** The environment every `ferry` child gets: the two secrets, nothing else of the harness's. */
export const SECRET_ENV: Readonly<Record<string, string>> = {
  SENDGRID_API_KEY,
  ELOQUA_PASSWORD,
};

export interface HarnessConfigInput {
  readonly sandbox: RunningSandbox;
  /** Source settings as the config takes them (`type`, `path` relative to the config, id column...). */
  readonly source: Record<string, unknown>;
  /** Profiles per job (both destinations), small enough to give the runner many jobs to crash in. */
  readonly profilesPerJob?: number;
  /** Per-attempt HTTP timeout (`http.timeoutMs`), when the default 30 s is too long for the test. */
  readonly httpTimeoutMs?: number;
  /** Source columns to map besides the e-mail: SendGrid field → column, Eloqua field → column. */
  readonly sendgridFields?: Readonly<Record<string, string>>;
  readonly eloquaFields?: Readonly<Record<string, string>>;
  /** Which destinations to configure (default both). */
  readonly only?: 'sendgrid' | 'eloqua';
}

const email = { column: 'email', transform: ['trim', 'lowercase'] };

export const PROFILE_SENDGRID_FIELDS = {
  first_name: 'first_name',
  last_name: 'last_name',
  city: 'city',
  country: 'country',
} as const;

export const PROFILE_ELOQUA_FIELDS = {
  C_FirstName: 'first_name',
  C_LastName: 'last_name',
  C_Company: 'company',
  C_City: 'city',
  C_Country: 'country',
  C_Title: 'title',
} as const;

export const harnessConfig = (input: HarnessConfigInput): Record<string, unknown> => {
  const perJob = input.profilesPerJob;
  // Fast pacing: the sandbox finishes jobs in well under a second, retries need not wait 5 s.
  const pacing = {
    polling: { initialIntervalMs: 100, maxIntervalMs: 500 },
    retry: { initialDelayMs: 200, maxDelayMs: 2000 },
    ...(input.httpTimeoutMs === undefined ? {} : { http: { timeoutMs: input.httpTimeoutMs } }),
  };
  const destinations: Record<string, unknown> = {};
  if (input.only !== 'eloqua') {
    destinations.sendgrid = {
      plugin: 'sendgrid',
      options: {
        apiKey: { env: 'SENDGRID_API_KEY' },
        baseUrl: input.sandbox.sendgrid?.url,
        submission: 'json',
        ...(perJob === undefined ? {} : { json: { maxProfilesPerJob: perJob } }),
      },
      identity: 'email',
      fields: { email, ...(input.sendgridFields ?? PROFILE_SENDGRID_FIELDS) },
      ...pacing,
    };
  }
  if (input.only !== 'sendgrid') {
    destinations.eloqua = {
      plugin: 'eloqua',
      options: {
        auth: {
          type: 'basic',
          site: ELOQUA_SITE,
          username: ELOQUA_USER,
          password: { env: 'ELOQUA_PASSWORD' },
        },
        loginUrl: input.sandbox.eloqua?.url,
        ...(perJob === undefined ? {} : { limits: { maxProfilesPerJob: perJob } }),
      },
      identity: 'C_EmailAddress',
      fields: { C_EmailAddress: email, ...(input.eloquaFields ?? PROFILE_ELOQUA_FIELDS) },
      ...pacing,
    };
  }
  return { source: input.source, state: { path: './state/ferry.db' }, destinations };
};

export const writeConfig = (dir: string, config: Record<string, unknown>): string => {
  const path = join(dir, 'ferry.config.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
};
