import { z } from 'zod';
import { typeName } from './type-name.ts';

/*
 * The whole configuration as one zod schema: it validates loaded files, gives `defineConfig` its
 * types (input: what people write; output: with defaults applied) and generates the JSON Schema for
 * editors. Objects are strict, so a misspelt key is an error rather than silently ignored; only
 * destination `options` are open, because each plugin validates them with its own schema.
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `{ env: 'SENDGRID_API_KEY' }`: the value of an environment variable, read when the config loads. */
export const envReferenceSchema = z
  .strictObject({
    env: z.string().regex(ENV_NAME, 'expected an environment variable name such as SENDGRID_API_KEY'),
  })
  .meta({
    description:
      'The value of an environment variable (also read from .env), resolved when the config is loaded. ' +
      'The variable must be set and not empty.',
  });

export type EnvReference = z.infer<typeof envReferenceSchema>;

/**
 * A string, or an environment reference in its place. References are resolved before validation
 * (see env.ts), so once parsed this is always a string.
 */
const stringOrEnv = (schema: z.ZodString) => z.union([schema, envReferenceSchema]).pipe(schema);

export const columnTypeSchema = z
  .enum(['string', 'number', 'boolean', 'date'])
  .meta({ description: 'How values of the column are read and checked. Default: string.' });

export type ColumnType = z.infer<typeof columnTypeSchema>;

export const encodingSchema = z
  .enum(['utf8', 'latin1', 'utf16le'])
  .default('utf8')
  .meta({ description: 'Text encoding of the file. `latin1` is read as windows-1252. Default utf8.' });

const pathSchema = stringOrEnv(z.string().min(1, 'expected a file path')).meta({
  description: 'File to read, relative to the config file. Environment references are allowed.',
});

const delimiterSchema = z
  .string()
  .length(1, 'expected exactly one character')
  .refine((value) => value !== '"' && value !== '\r' && value !== '\n', 'cannot be a quote or a line break')
  .default(',')
  .meta({ description: 'Field delimiter, one character. Default `,`.' });

export const csvSourceSchema = z
  .strictObject({
    type: z.literal('csv'),
    path: pathSchema,
    delimiter: delimiterSchema,
    encoding: encodingSchema,
    idColumn: z.string().min(1).meta({ description: 'Column holding the stable profile id.' }),
    columns: z
      .record(z.string().min(1), columnTypeSchema)
      .default({})
      .meta({ description: 'Types of columns that are not plain text: column name → type.' }),
  })
  .meta({ title: 'CSV source', description: 'A CSV file with a header row.' });

export const jsonlSourceSchema = z
  .strictObject({
    type: z.literal('jsonl'),
    path: pathSchema,
    encoding: encodingSchema,
    idField: z
      .string()
      .min(1)
      .meta({ description: 'Property holding the stable profile id (nested: `a.b`).' }),
    properties: z
      .record(z.string().min(1), columnTypeSchema)
      .default({})
      .meta({ description: 'Types to check and convert properties to: property name → type.' }),
  })
  .meta({ title: 'JSON Lines source', description: 'One JSON object per line.' });

export const exportSourceSchema = z
  .strictObject({
    type: z.literal('export'),
    plugin: z
      .string()
      .min(1)
      .meta({
        description: 'The vendor whose bulk export is read: a built-in source name.',
        examples: ['eloqua', 'sendgrid'],
      }),
    options: z.record(z.string(), z.unknown()).default({}).meta({
      description:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config's interpolation syntax.
        "The export's options (credentials, fields, filter...), checked by the source's own schema. Any string may use ${VAR} and any value { env: 'VAR' } to read the environment.",
    }),
    idField: z
      .string()
      .min(1)
      .meta({ description: 'Exported column holding the stable profile id (e.g. email or the contact id).' }),
    deadlineMinutes: z.number().positive().default(60).meta({
      description:
        'How long one run waits for the vendor to prepare the export before the run fails. Default 60.',
    }),
  })
  .meta({
    title: 'Vendor export source',
    description: "A vendor's asynchronous bulk export (Eloqua contact export, SendGrid contact export).",
  });

export const sourceSchema = z.discriminatedUnion('type', [
  csvSourceSchema,
  jsonlSourceSchema,
  exportSourceSchema,
]);

export const stateSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .default('.ferry/state.db')
      .meta({ description: 'SQLite file, relative to the config file. Default .ferry/state.db.' }),
  })
  .meta({ description: 'Where the runner keeps its state.' });

export const transformSchema = z
  .enum(['trim', 'lowercase', 'uppercase', 'date', 'number', 'boolean'])
  .meta({ description: 'A transform applied to the value, in order when several are given.' });

export type FieldTransform = z.infer<typeof transformSchema>;

export const dateFormatSchema = z.enum(['iso', 'date-only', 'epoch-ms']).meta({
  description:
    'Output of the `date` transform: ISO 8601 text, YYYY-MM-DD, or epoch milliseconds. ' +
    'Without it the destination receives a date and formats it itself.',
});

export type DateFormat = z.infer<typeof dateFormatSchema>;

export const columnMappingSchema = z
  .strictObject({
    column: z.string().min(1).meta({ description: 'Source column (CSV) or property (JSONL).' }),
    transform: z.union([transformSchema, z.array(transformSchema).min(1)]).optional(),
    format: dateFormatSchema.optional(),
  })
  .refine(
    (mapping) =>
      mapping.format === undefined ||
      mapping.transform === 'date' ||
      (Array.isArray(mapping.transform) && mapping.transform.includes('date')),
    { message: '`format` applies to the `date` transform only', path: ['format'] },
  );

export const constantMappingSchema = z.strictObject({
  constant: z
    .union([z.string(), z.number(), z.boolean(), z.null()], {
      error: (issue) => `expected a string, number, boolean or null, received ${typeName(issue.input)}`,
    })
    .meta({ description: 'The same value for every profile.' }),
});

export const fieldMappingSchema = z.union(
  [
    z.string().min(1).meta({ description: 'Source column (CSV) or property (JSONL), copied as it is.' }),
    columnMappingSchema,
    constantMappingSchema,
  ],
  {
    error: (issue) =>
      `expected a column name, { column, transform?, format? } or { constant }, received ${typeName(issue.input)}`,
  },
);

export type FieldMapping = z.infer<typeof fieldMappingSchema>;

const listIds = z.array(z.string().min(1)).default([]);

export const listsSchema = z
  .strictObject({
    add: listIds.meta({ description: 'Destination list ids every profile is added to.' }),
    remove: listIds.meta({ description: 'Destination list ids every profile is removed from.' }),
  })
  .meta({ description: 'List membership, the same for every profile.' });

export const mirrorSchema = z.strictObject({
  maxDeleteFraction: z
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .meta({
      description:
        'Safety threshold: a mirror sync that would delete more than this fraction of the profiles the ' +
        'destination holds stops before deleting anything. Default 0.1.',
    }),
});

export const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).default(5).meta({
    description: 'Attempts per profile, the first included. Waiting on a rate limit is not an attempt.',
  }),
  initialDelayMs: z
    .number()
    .int()
    .min(0)
    .default(5_000)
    .meta({ description: 'Backoff before the first retry; doubles per attempt, with jitter. Default 5000.' }),
  maxDelayMs: z
    .number()
    .int()
    .min(0)
    .default(900_000)
    .meta({ description: 'Backoff cap. Default 900000 (15 minutes).' }),
});

export const pollingSchema = z.strictObject({
  deadlineMinutes: z
    .number()
    .positive()
    .default(60)
    .meta({
      description:
        'How long one run keeps checking a pending job; a job still pending then is left recorded for the ' +
        'next run. Separate from the retry budget: a slow job is not a failed one. Default 60.',
    }),
  initialIntervalMs: z
    .number()
    .int()
    .min(0)
    .default(1_000)
    .meta({ description: 'First status check delay; grows with jitter up to maxIntervalMs. Default 1000.' }),
  maxIntervalMs: z
    .number()
    .int()
    .positive()
    .default(60_000)
    .meta({ description: 'Longest wait between two status checks of a job. Default 60000.' }),
});

export const httpSchema = z.strictObject({
  timeoutMs: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({
      description:
        "Per-attempt timeout of the destination's HTTP requests; a request past it is retried like a " +
        'dropped connection. Default 30000.',
    }),
});

export const destinationSchema = z
  .strictObject({
    plugin: z
      .string()
      .min(1)
      .meta({
        description:
          "Destination plugin: a built-in name, an npm package name (resolved from the config file's folder) or a relative path to a module.",
        examples: ['sendgrid', 'eloqua', 'memory', '@acme/ferry-plugin-hubspot', './plugins/acme.js'],
      }),
    options: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({
        description:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: `${VAR}` is the config's interpolation syntax.
          "Plugin options, checked by the plugin's own schema. Any string may use ${VAR} and any value " +
          "{ env: 'VAR' } to read the environment.",
      }),
    identity: z.string().min(1).meta({
      description:
        'What the destination identifies profiles by (usually e-mail): a mapped field name, or else a source column.',
    }),
    fields: z
      .record(
        // `__proto__` cannot be a key of the plain object a mapping produces.
        z
          .string()
          .min(1)
          .refine((name) => name !== '__proto__', 'reserved name'),
        fieldMappingSchema,
      )
      .default({})
      .meta({
        description: 'Destination field → source column, { column, transform, format } or { constant }.',
      }),
    lists: listsSchema.prefault({}),
    mode: z
      .enum(['upsert', 'mirror'])
      .default('upsert')
      .meta({
        description:
          'upsert: create and update profiles. mirror: also delete profiles that left the source ' +
          '(destinations that support deletes only). Default upsert.',
      }),
    mirror: mirrorSchema.prefault({}),
    concurrency: z
      .number()
      .int()
      .positive()
      .optional()
      .meta({ description: "Jobs in flight at once; at most the plugin's own limit, which is the default." }),
    retry: retrySchema.prefault({}),
    polling: pollingSchema.prefault({}),
    http: httpSchema.optional(),
  })
  .refine((destination) => destination.polling.initialIntervalMs <= destination.polling.maxIntervalMs, {
    message: 'initialIntervalMs must not exceed maxIntervalMs',
    path: ['polling', 'initialIntervalMs'],
  })
  .refine((destination) => destination.retry.initialDelayMs <= destination.retry.maxDelayMs, {
    message: 'initialDelayMs must not exceed maxDelayMs',
    path: ['retry', 'initialDelayMs'],
  });

/** `service.webhooks`: completion webhook endpoints of `ferry serve`, besides those made over the API. */
export const serviceWebhookSchema = z
  .strictObject({
    url: z
      .string()
      .max(2000)
      .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
        message: 'expected an http(s) URL',
      })
      .meta({ description: 'Where completion webhooks are POSTed (http or https).' }),
    secret: stringOrEnv(
      z
        .string()
        .regex(
          /^whsec_[A-Za-z0-9+/]{32,}={0,2}$/,
          'expected a whsec_ secret: whsec_ and at least 24 bytes of base64',
        ),
    ).meta({
      description:
        "The Standard Webhooks signing secret, `whsec_` + base64. Use { env: 'VAR' }: it is a secret. " +
        'It stays in the config; the state store never holds it.',
    }),
    events: z
      .array(z.enum(['run.completed', 'run.completed_with_errors', 'run.failed', 'run.canceled']))
      .min(1)
      .optional()
      .meta({ description: 'The event types sent; default all.' }),
  })
  .meta({ description: 'A completion webhook endpoint.' });

const serviceSchema = z
  .strictObject({
    webhooks: z.array(serviceWebhookSchema).default([]).meta({
      description: 'Completion webhook endpoints, merged with those of POST /v1/webhook-endpoints.',
    }),
  })
  .meta({ description: '`ferry serve` settings (docs/service.md).' });

const DESTINATION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'JSON Schema reference, for editors.' }),
    source: sourceSchema,
    state: stateSchema.prefault({}),
    destinations: z
      .record(
        z.string().regex(DESTINATION_NAME, 'destination names use letters, digits, - and _'),
        destinationSchema,
      )
      .refine((destinations) => Object.keys(destinations).length > 0, 'expected at least one destination')
      .meta({ description: 'Destination name (used in state and on the command line) → settings.' }),
    service: serviceSchema.prefault({}),
  })
  .meta({ title: 'Ferry configuration' });

/** The configuration as written (defaults optional, environment references allowed). */
export type FerryConfigInput = z.input<typeof configSchema>;
/** The configuration once loaded: defaults applied, environment resolved, paths absolute. */
export type FerryConfig = z.output<typeof configSchema>;
export type SourceConfig = FerryConfig['source'];
export type CsvSourceConfig = z.output<typeof csvSourceSchema>;
export type JsonlSourceConfig = z.output<typeof jsonlSourceSchema>;
export type ExportSourceConfig = z.output<typeof exportSourceSchema>;
/** Sources read from a file (CSV, JSONL). */
export type FileSourceConfig = CsvSourceConfig | JsonlSourceConfig;
export type StateConfig = z.output<typeof stateSchema>;
export type DestinationConfig = z.output<typeof destinationSchema>;
export type DestinationConfigInput = z.input<typeof destinationSchema>;
export type ListsConfig = z.output<typeof listsSchema>;
export type MirrorConfig = z.output<typeof mirrorSchema>;
export type RetryConfig = z.output<typeof retrySchema>;
export type PollingConfig = z.output<typeof pollingSchema>;
export type HttpConfig = z.output<typeof httpSchema>;
export type ServiceWebhookConfig = z.output<typeof serviceWebhookSchema>;
