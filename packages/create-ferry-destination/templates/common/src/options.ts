import { secret } from '@ferry/core';
import { z } from 'zod';

/**
 * Options of the __DISPLAY__ destination, as users write them under `options:` in ferry.config.
 * Every option is documented with its default; unknown keys are errors, so a typo is a ConfigError
 * naming the key instead of a silently ignored setting. Wrap credentials in `secret(...)`: the
 * runner then redacts their values from every log line, error and report.
 */
export const __IDENT__Options = z.strictObject({
  /** The vendor's API root, e.g. `https://api.example.com`. Required. */
  baseUrl: z.url().describe("The vendor's API root URL."),
  /** The account (workspace) to write into. Default `default`. */
  account: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/)
    .default('default')
    .describe('Account or workspace id.'),
  /** API key, sent as a bearer token. Required; secret. */
  apiKey: secret(z.string().min(8).describe('API key (secret).')),
  /** Job sizing the destination declares to the runner; keep within the vendor's documented caps. */
  limits: z
    .strictObject({
      /** Most profiles per job. Default __DEFAULT_MAX_PROFILES__. */
      maxProfilesPerJob: z.number().int().min(1).max(__DEFAULT_MAX_PROFILES__).default(__DEFAULT_MAX_PROFILES__),
      /** Most bytes per upload. Default __DEFAULT_MAX_BYTES_TEXT__. */
      maxBytesPerJob: z.number().int().min(1024).max(__DEFAULT_MAX_BYTES__).default(__DEFAULT_MAX_BYTES__),
      /** Jobs in flight at once. Default 4. */
      maxJobsInFlight: z.number().int().min(1).max(20).default(4),
    })
    .prefault({}),
});

export type __PASCAL__Options = z.output<typeof __IDENT__Options>;
