import { secret } from '@ferry/core';
import { z } from 'zod';

/**
 * Options of the memory destination. Every option has a default except `apiKey`; groups use
 * `prefault({})` so an omitted group still gets its members' defaults (zod 4's `default` would
 * return `{}` unparsed). Unknown keys are errors, so a typo is a ConfigError naming the key instead
 * of a silently ignored setting.
 */
export const memoryOptions = z.strictObject({
  /** Which in-process "account" to use; instances with the same namespace share contacts. Default `default`. */
  namespace: z
    .string()
    .min(1)
    .max(200)
    .default('default')
    .describe('In-process account; instances sharing it share data.'),
  /**
   * Key sent with every call. Any non-empty key is accepted unless the namespace was reset with a
   * specific one (`resetMemoryStore(ns, { apiKey })`). Required; marked secret so it is redacted.
   */
  apiKey: secret(z.string().min(8).describe('API key for the in-process vendor (secret).')),
  /** How long the vendor takes to process an import. */
  processing: z
    .strictObject({
      /** Milliseconds every import takes. Default 50. */
      perJobMs: z
        .number()
        .int()
        .min(0)
        .max(600_000)
        .default(50)
        .describe('Processing time of every import, ms.'),
      /** Extra milliseconds per profile. Default 0. */
      perProfileMs: z
        .number()
        .min(0)
        .max(60_000)
        .default(0)
        .describe('Extra processing time per profile, ms.'),
    })
    .prefault({}),
  /** Per-record checks. */
  validation: z
    .strictObject({
      /** The vendor rejects invalid e-mail syntax when the job completes. Default `true`. */
      emails: z.boolean().default(true).describe('Reject invalid e-mail addresses (at completion).'),
      /** Longest string value, in Unicode code points; longer ones are rejected at submission. Default 255. */
      maxFieldLength: z.number().int().min(1).max(1_000_000).default(255).describe('Longest string value.'),
    })
    .prefault({}),
  /** Job sizing the destination declares to the runner (the vendor's hard caps are 100,000 and 16 MiB). */
  limits: z
    .strictObject({
      /** Most profiles per job. Default 10,000. */
      maxProfilesPerJob: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .default(10_000)
        .describe('Most profiles per job.'),
      /** Most encoded bytes per job (NDJSON body). Default 5 MiB. */
      maxBytesPerJob: z
        .number()
        .int()
        .min(1024)
        .max(16 * 1024 * 1024)
        .default(5 * 1024 * 1024)
        .describe('Most encoded bytes per job.'),
      /** Jobs in flight at once. Default 4. */
      maxJobsInFlight: z.number().int().min(1).max(100).default(4).describe('Jobs in flight at once.'),
    })
    .prefault({}),
  /**
   * Simulated vendor faults, counted by the vendor per namespace (or per job), so they happen once
   * however many instances are configured alike. All default to 0 (no faults).
   */
  faults: z
    .strictObject({
      /** The first N status checks of every job fail with a 503. Default 0. */
      failStatusChecks: z
        .number()
        .int()
        .min(0)
        .default(0)
        .describe('First N status checks of each job fail (503).'),
      /** The first N jobs are lost by the vendor (status 404 → JOB_NOT_FOUND). Default 0. */
      forgetJobs: z.number().int().min(0).default(0).describe('First N jobs are forgotten (404).'),
      /** The first N calls answer 429. Default 0. */
      rateLimitCalls: z.number().int().min(0).default(0).describe('First N calls answer 429.'),
      /** Retry-After of those 429s, in ms. Default 100. */
      retryAfterMs: z
        .number()
        .int()
        .min(0)
        .max(60_000)
        .default(100)
        .describe('Retry-After of simulated 429s, ms.'),
      /** The first N jobs fail as a whole (retryable). Default 0. */
      failJobs: z.number().int().min(0).default(0).describe('First N jobs fail as a whole (retryable).'),
    })
    .prefault({}),
});

export type MemoryOptions = z.output<typeof memoryOptions>;
