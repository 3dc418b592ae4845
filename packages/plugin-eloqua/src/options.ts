import { secret } from '@ferry/core';
import { z } from 'zod';

/**
 * Options of the Eloqua destination. Every option has a default except `auth`. Unknown keys are
 * errors (`z.strictObject`), so a typo is a ConfigError naming the key instead of a silently ignored
 * setting. Groups use `prefault({})` so an omitted group still gets its members' defaults.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** ISO-8601 duration (weeks, days, hours, minutes, seconds) in ms; undefined when malformed. */
export const parseIsoDuration = (value: string): number | undefined => {
  const match = DURATION.exec(value);
  if (match === null || value === 'P' || value.endsWith('T')) return undefined;
  const [w = 0, d = 0, h = 0, m = 0, s = 0] = match.slice(1).map((part) => Number(part ?? 0));
  return w * 7 * DAY_MS + d * DAY_MS + h * HOUR_MS + m * 60_000 + s * 1000;
};

const duration = (minMs: number, maxMs: number, range: string) =>
  z.string().refine(
    (value) => {
      const ms = parseIsoDuration(value);
      return ms !== undefined && ms >= minMs && ms <= maxMs;
    },
    { message: `must be an ISO-8601 duration (PnD, PTnH...) ${range}` },
  );

/**
 * Credentials. Written as one object with a `type` rather than a zod union because core's secret
 * redaction walks objects only: `password` and `token` must sit in an object's shape to be found.
 */
const authInput = z
  .strictObject({
    /** `basic`: `Site\User:Password` (Oracle's HTTP Basic); `bearer`: an OAuth 2.0 access token. Required. */
    type: z.enum(['basic', 'bearer']).describe('basic (site, username, password) or bearer (token).'),
    /** Company (site) name, the part before the backslash. Required for `basic`. */
    site: z.string().min(1).optional().describe('Eloqua company (site) name, for basic auth.'),
    /** Eloqua user name. Required for `basic`. */
    username: z.string().min(1).optional().describe('Eloqua user name, for basic auth.'),
    /** Required for `basic`; secret. */
    password: secret(z.string().min(1)).optional().describe('Password, for basic auth (secret).'),
    /** OAuth 2.0 access token, used as given (refreshing it is up to where it comes from). Required for `bearer`; secret. */
    token: secret(z.string().min(1)).optional().describe('OAuth 2.0 access token, for bearer auth (secret).'),
  })
  .superRefine((auth, ctx) => {
    const needed = auth.type === 'basic' ? (['site', 'username', 'password'] as const) : (['token'] as const);
    const foreign =
      auth.type === 'basic' ? (['token'] as const) : (['site', 'username', 'password'] as const);
    for (const key of needed) {
      if (auth[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `required when type is "${auth.type}"` });
      }
    }
    for (const key of foreign) {
      if (auth[key] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `not used when type is "${auth.type}"` });
      }
    }
  });

export type EloquaAuth =
  | { readonly type: 'basic'; readonly site: string; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string };

export const eloquaOptions = z.strictObject({
  /** How to authenticate. Required. */
  auth: authInput.transform(
    (auth): EloquaAuth =>
      auth.type === 'basic'
        ? {
            type: 'basic',
            site: auth.site ?? '',
            username: auth.username ?? '',
            password: auth.password ?? '',
          }
        : { type: 'bearer', token: auth.token ?? '' },
  ),
  /**
   * Where `GET /id` is asked for the instance's pod (base URL), which is never hard-coded because an
   * instance can move between data centers. Default `https://login.eloqua.com`; tests point it at the sandbox.
   */
  loginUrl: z
    .url({ protocol: /^https?$/ })
    .default('https://login.eloqua.com')
    .describe('Login host answering GET /id.'),
  /**
   * Contact field that identifies a contact (the definition's `identifierFieldName`); its column is
   * always written with the profile's `identity`. Not a date, boolean or large-text field. Default `C_EmailAddress`.
   */
  identifierField: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,100}$/, 'must be a contact field internal name')
    .default('C_EmailAddress')
    .describe('Internal name of the field that identifies contacts.'),
  /**
   * How imported values replace stored ones. `always` (default) is the only rule under which a `null`
   * (sent as an empty value) clears a field; `ifNewIsNotNull` never clears; `ifExistingIsNull` only fills gaps.
   */
  updateRule: z
    .enum(['always', 'ifNewIsNotNull', 'ifExistingIsNull'])
    .default('always')
    .describe('Update rule of the import definitions.'),
  /**
   * Import definitions delete themselves this long after they were made (or last changed: Oracle does
   * not say which), so none is left behind once the process that made it is gone (Eloqua's minimum is
   * PT1H). A process stops reusing one past half of it and makes another. Default `P7D`.
   */
  autoDeleteDuration: duration(HOUR_MS, 3650 * DAY_MS, 'of at least PT1H')
    .default('P7D')
    .describe('autoDeleteDuration of the import definitions.'),
  /**
   * How long uploaded data that never got a sync (a crash between upload and sync) stays staged.
   * Eloqua allows PT1H to P14D. Default `PT12H`: a resubmitted job uploads again, so old staged data is useless.
   */
  dataRetentionDuration: duration(HOUR_MS, 14 * DAY_MS, 'between PT1H and P14D')
    .default('PT12H')
    .describe('dataRetentionDuration of the import definitions.'),
  /**
   * Reuse, within one destination instance (one process), an import definition it made for the same
   * fields and list actions once it has seen the definition's last sync end (Oracle's best practice);
   * definitions are never shared between processes. `false` creates one per job and deletes it in
   * `cleanup`. Default `true`.
   */
  reuseDefinitions: z
    .boolean()
    .default(true)
    .describe("Reuse this process's import definitions across jobs once their sync ended."),
  /** Job sizing declared to the runner, and Eloqua's per-request caps. */
  limits: z
    .strictObject({
      /**
       * Most profiles per job; Eloqua has no record-count limit. The batch is streamed, never held:
       * submitting keeps about 100 bytes per profile while it plans the job (about 20 MB at 200,000),
       * then 13. Default 200,000.
       */
      maxProfilesPerJob: z
        .number()
        .int()
        .min(1)
        .max(2_000_000)
        .default(200_000)
        .describe('Most profiles per job.'),
      /** Most CSV bytes per job (one sync); Oracle recommends syncing about every 250 MB. Default 250,000,000. */
      maxBytesPerJob: z
        .number()
        .int()
        .min(64 * 1024)
        .max(2_000_000_000)
        .default(250_000_000)
        .describe('Most CSV bytes per job (one sync per list-action group).'),
      /** Largest single data upload; Eloqua refuses more than 32 MB (read as 32,000,000). Default 32,000,000. */
      maxUploadBytes: z
        .number()
        .int()
        .min(16 * 1024)
        .max(32 * 1024 * 1024)
        .default(32_000_000)
        .describe('Largest single data upload, in bytes.'),
      /** Uploads per sync; Eloqua refuses the 501st. Default 500. */
      maxUploadsPerSync: z
        .number()
        .int()
        .min(1)
        .max(500)
        .default(500)
        .describe('Most data uploads per sync.'),
      /** Jobs the runner keeps submitted and unsettled at once. Default 4. */
      maxJobsInFlight: z.number().int().min(1).max(64).default(4).describe('Jobs in flight at once.'),
      /** HTTP requests in flight at once (Eloqua publishes no number). Default 8. */
      maxConcurrentRequests: z.number().int().min(1).max(64).default(8).describe('Concurrent HTTP requests.'),
    })
    .prefault({}),
});

export type EloquaOptions = z.output<typeof eloquaOptions>;
