#!/usr/bin/env node
/**
 * `ferry-sandbox` / `pnpm sandbox`: both emulators on loopback ports until SIGINT/SIGTERM.
 * Every setting of `startSandbox` is a flag; the URLs and credentials to use are printed on start
 * (as JSON with --json, for scripts that start the sandbox and read where it listens).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { ELOQUA_DEFAULTS, type EloquaOptions } from './eloqua/server.ts';
import { type FaultRule, parseFaultSpec } from './faults.ts';
import { type RunningSandbox, type SandboxOptions, startSandbox } from './index.ts';
import { DEFAULT_SENDGRID_API_KEY, type SendgridOptions } from './sendgrid/server.ts';

export const DEFAULT_ELOQUA_PORT = 4010;
export const DEFAULT_SENDGRID_PORT = 4011;

const integer =
  (name: string, min = 0) =>
  (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return value;
  };
const rate = (raw: string): number => {
  const value = raw.toLowerCase() === 'infinity' ? Number.POSITIVE_INFINITY : Number(raw);
  if (Number.isNaN(value) || value <= 0)
    throw new InvalidArgumentError('must be a positive number or Infinity');
  return value;
};
const fault = (spec: string, previous: FaultRule[] = []): FaultRule[] => {
  const rule = parseFaultSpec(spec);
  if (typeof rule === 'string') throw new InvalidArgumentError(rule);
  return [...previous, rule];
};

interface CliOptions {
  host: string;
  eloqua: boolean;
  sendgrid: boolean;
  eloquaPort: number;
  sendgridPort: number;
  zeroDelay?: boolean;
  startDelayMs?: number;
  recordsPerSecond?: number;
  seed?: number;
  fault: FaultRule[];
  logRequests?: boolean;
  retryAfter?: boolean;
  json?: boolean;
  eloquaSite: string;
  eloquaUser: string;
  eloquaPassword: string;
  eloquaToken: string;
  eloquaClientId: string;
  eloquaClientSecret: string;
  eloquaIdFailure: NonNullable<EloquaOptions['idAuthFailure']>;
  eloquaInvalidFieldPolicy: NonNullable<EloquaOptions['invalidFieldPolicy']>;
  eloquaMaxUploadBytes: number;
  eloquaMaxUploadsPerSync: number;
  eloquaCallbackTimeoutMs: number;
  sendgridApiKey: string;
}

export const buildProgram = (): Command =>
  new Command('ferry-sandbox')
    .description(
      'Local emulators of Eloqua Bulk API 2.0 and SendGrid Marketing Contacts, with fault injection.',
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--eloqua-port <port>',
      'Eloqua port (0: any free port)',
      integer('--eloqua-port'),
      DEFAULT_ELOQUA_PORT,
    )
    .option(
      '--sendgrid-port <port>',
      'SendGrid port (0: any free port)',
      integer('--sendgrid-port'),
      DEFAULT_SENDGRID_PORT,
    )
    .option('--no-eloqua', 'do not start the Eloqua emulator')
    .option('--no-sendgrid', 'do not start the SendGrid emulator')
    .option('--zero-delay', 'finish jobs at once (start delay 0, infinite rate), for benchmarks')
    .option(
      '--start-delay-ms <ms>',
      'wait before a job starts processing (default 1000)',
      integer('--start-delay-ms'),
    )
    .option('--records-per-second <n>', 'processing rate once started, or Infinity (default 5000)', rate)
    .option('--seed <n>', 'seed for the fault dice (default 1)', integer('--seed'))
    .option('--fault <spec>', 'fault rule endpoint:kind[:probability[:count]], repeatable', fault, [])
    .option('--log-requests', 'log every request to stdout')
    .option('--retry-after', 'also send Retry-After on 429s (neither vendor documents it)')
    .option('--json', 'print the URLs and credentials as one JSON line')
    .option('--eloqua-site <name>', 'Eloqua company (site) name', ELOQUA_DEFAULTS.siteName)
    .option('--eloqua-user <name>', 'Eloqua user name', ELOQUA_DEFAULTS.username)
    .option('--eloqua-password <password>', 'Eloqua password', ELOQUA_DEFAULTS.password)
    .option('--eloqua-token <token>', 'Eloqua Bearer token accepted as is', ELOQUA_DEFAULTS.accessToken)
    .option('--eloqua-client-id <id>', 'OAuth client id for /auth/oauth2/token', ELOQUA_DEFAULTS.clientId)
    .option('--eloqua-client-secret <secret>', 'OAuth client secret', ELOQUA_DEFAULTS.clientSecret)
    .addOption(
      new Option('--eloqua-id-failure <form>', 'how GET /id answers bad credentials')
        .choices(['not-authenticated', 'unauthorized'])
        .default(ELOQUA_DEFAULTS.idAuthFailure),
    )
    .addOption(
      new Option('--eloqua-invalid-field-policy <policy>', 'a value too long or of the wrong type')
        .choices(['dropField', 'rejectRecord'])
        .default(ELOQUA_DEFAULTS.invalidFieldPolicy),
    )
    .option(
      '--eloqua-max-upload-bytes <n>',
      'largest Eloqua data upload',
      integer('--eloqua-max-upload-bytes', 1),
      ELOQUA_DEFAULTS.maxUploadBytes,
    )
    .option(
      '--eloqua-max-uploads-per-sync <n>',
      'uploads per Eloqua sync',
      integer('--eloqua-max-uploads-per-sync', 1),
      ELOQUA_DEFAULTS.maxUploadsPerSync,
    )
    .option(
      '--eloqua-callback-timeout-ms <ms>',
      'timeout of callbackUrl POSTs',
      integer('--eloqua-callback-timeout-ms', 1),
      ELOQUA_DEFAULTS.callbackTimeoutMs,
    )
    .option('--sendgrid-api-key <key>', 'SendGrid API key clients must send', DEFAULT_SENDGRID_API_KEY);

/** What the flags mean for `startSandbox`. */
export const sandboxOptionsFrom = (options: CliOptions): SandboxOptions => {
  const eloqua: EloquaOptions = {
    siteName: options.eloquaSite,
    username: options.eloquaUser,
    password: options.eloquaPassword,
    accessToken: options.eloquaToken,
    clientId: options.eloquaClientId,
    clientSecret: options.eloquaClientSecret,
    idAuthFailure: options.eloquaIdFailure,
    invalidFieldPolicy: options.eloquaInvalidFieldPolicy,
    maxUploadBytes: options.eloquaMaxUploadBytes,
    maxUploadsPerSync: options.eloquaMaxUploadsPerSync,
    callbackTimeoutMs: options.eloquaCallbackTimeoutMs,
  };
  const sendgrid: SendgridOptions = { apiKey: options.sendgridApiKey };
  return {
    host: options.host,
    faults: options.fault,
    ...(options.zeroDelay === true ? { zeroDelay: true } : {}),
    ...(options.startDelayMs === undefined ? {} : { startDelayMs: options.startDelayMs }),
    ...(options.recordsPerSecond === undefined ? {} : { recordsPerSecond: options.recordsPerSecond }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.logRequests === true ? { logRequests: true } : {}),
    ...(options.retryAfter === true ? { retryAfterHeader: true } : {}),
    eloqua: options.eloqua ? { ...eloqua, port: options.eloquaPort } : false,
    sendgrid: options.sendgrid ? { ...sendgrid, port: options.sendgridPort } : false,
  };
};

const describeRunning = (running: RunningSandbox, options: CliOptions) => ({
  ...(running.eloqua === undefined
    ? {}
    : {
        eloqua: {
          url: running.eloqua.url,
          bulkUrl: `${running.eloqua.url}/api/bulk/2.0`,
          siteName: options.eloquaSite,
          username: options.eloquaUser,
          password: options.eloquaPassword,
          basicAuthorization: `Basic ${Buffer.from(`${options.eloquaSite}\\${options.eloquaUser}:${options.eloquaPassword}`).toString('base64')}`,
          accessToken: options.eloquaToken,
          clientId: options.eloquaClientId,
          clientSecret: options.eloquaClientSecret,
        },
      }),
  ...(running.sendgrid === undefined
    ? {}
    : { sendgrid: { url: running.sendgrid.url, apiKey: options.sendgridApiKey } }),
});

export const main = async (argv: readonly string[] = process.argv): Promise<RunningSandbox> => {
  const program = buildProgram().parse(argv);
  const options = program.opts<CliOptions>();
  const running = await startSandbox(sandboxOptionsFrom(options));
  const info = describeRunning(running, options);
  if (options.json === true) {
    console.log(JSON.stringify(info));
  } else {
    const lines = ['Ferry sandbox is running (Ctrl-C to stop).'];
    if (info.eloqua !== undefined) {
      const e = info.eloqua;
      lines.push(
        '',
        `Eloqua   ${e.url}   (login host and pod: GET /id; Bulk API at ${e.bulkUrl})`,
        `  Basic   ${e.siteName}\\${e.username} / ${e.password}   -> Authorization: ${e.basicAuthorization}`,
        `  Bearer  ${e.accessToken}   (or POST /auth/oauth2/token as ${e.clientId} / ${e.clientSecret})`,
        `  Inspect ${e.url}/__sandbox/contacts  /__sandbox/lists  /__sandbox/syncs  /__sandbox/stats`,
      );
    }
    if (info.sendgrid !== undefined) {
      lines.push('', `SendGrid ${info.sendgrid.url}`, `  Bearer  ${info.sendgrid.apiKey}`);
    }
    const timing =
      options.zeroDelay === true &&
      options.startDelayMs === undefined &&
      options.recordsPerSecond === undefined
        ? 'zero delay'
        : `start delay ${options.startDelayMs ?? (options.zeroDelay ? 0 : 1000)} ms, ` +
          `${options.recordsPerSecond ?? (options.zeroDelay ? 'Infinity' : 5000)} records/s`;
    lines.push(
      '',
      `Jobs: ${timing}. Faults: ${options.fault.length === 0 ? 'none' : options.fault.map((f) => `${f.endpoint}:${f.kind}`).join(', ')}.`,
    );
    console.log(lines.join('\n'));
  }

  let closing = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    if (options.json !== true) console.log(`\n${signal}: closing the sandbox`);
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return running;
};

// Run when executed (node src/cli.ts, the bin), not when imported by tests.
if (import.meta.main) {
  main().catch((error: unknown) => {
    console.error(`[ferry-sandbox] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
