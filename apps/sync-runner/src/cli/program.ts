import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { errorsCommand } from './commands/errors.ts';
import { initCommand } from './commands/init.ts';
import { registerPluginCommands } from './commands/plugin-commands.ts';
import { reconcileCommand } from './commands/reconcile.ts';
import { retryCommand } from './commands/retry.ts';
import { sandboxCommand } from './commands/sandbox.ts';
import { serveCommand } from './commands/serve.ts';
import { statusCommand } from './commands/status.ts';
import { syncCommand } from './commands/sync.ts';
import { tokensCreateCommand, tokensListCommand, tokensRevokeCommand } from './commands/tokens.ts';
import { verifyCommand } from './commands/verify.ts';
import { webhookSecretCommand } from './commands/webhooks.ts';
import type { CommandIO } from './io.ts';

/*
 * The `ferry` command line. Each command is a function of its options and an IO object returning
 * the exit code (see docs/cli.md); this file only parses arguments and wires the process to them.
 */

// src/cli/program.ts sits two levels below package.json; the bundled dist/cli.js inlines this file
// one level below it, so look in both places.
const readVersion = (): string => {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const json = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (json.name === '@ferry/sync-runner' && json.version !== undefined) return json.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return '0.0.0';
};
const version = readVersion();

const collect = (value: string, previous: string[]): string[] => [...previous, value];

const positiveInt = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a whole number');
  return parsed;
};

const configOption = () =>
  new Option('-c, --config <file>', 'config file (default: ferry.config.* in this directory)');
const stateOption = () =>
  new Option(
    '--state <location>',
    "state store: a SQLite file or a postgres:// URL (default: the config's state.path)",
  );

export const buildProgram = (io: CommandIO, setExitCode: (code: number) => void): Command => {
  const program = new Command()
    .name('ferry')
    .description('Sync customer profiles into SaaS tools through their asynchronous bulk APIs.')
    .version(version)
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  program
    .command('sync')
    .description('send new and changed profiles to every destination, check their jobs, record the outcomes')
    .addOption(configOption())
    .addOption(stateOption())
    .option('-d, --destination <name>', 'only this destination (repeatable)', collect, [])
    .option('--dry-run', 'read, map and compare, report what would be sent; send and record nothing')
    .option('--full', 'send every profile, changed or not')
    .option('--force', "mirror mode: delete even beyond the destination's maxDeleteFraction")
    .option('--json', 'print the run summary as JSON on stdout (see docs/cli.md)')
    .option(
      '--callback-url <url>',
      'public URL that vendors call back when a job finishes; starts a listener',
    )
    .option(
      '--callback-listen <host:port>',
      "where the callback listener binds (default: the callback URL's port)",
    )
    .option('--no-progress', 'plain progress lines even on a terminal')
    .option('-q, --quiet', 'no progress, errors only')
    .option('-v, --verbose', 'debug logging')
    .action(async (options: Record<string, unknown>) => {
      const { destination, progress, ...rest } = options;
      setExitCode(
        await syncCommand(
          {
            ...rest,
            destination: destination as string[],
            ...(progress === false ? { progress: false } : {}),
          },
          io,
        ),
      );
    });

  program
    .command('resume')
    .description(
      'finish runs whose process died (killed, machine lost), each as itself: check, settle, summary',
    )
    .argument('[run]', 'only this run (default: every unfinished run whose process is gone)')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--json', 'print the summaries as JSON on stdout (see docs/cli.md)')
    .option(
      '--callback-url <url>',
      'public URL that vendors call back when a job finishes; starts a listener',
    )
    .option('--no-progress', 'plain progress lines even on a terminal')
    .option('-q, --quiet', 'no progress, errors only')
    .option('-v, --verbose', 'debug logging')
    .action(async (run: string | undefined, options: Record<string, unknown>) => {
      const { progress, ...rest } = options;
      setExitCode(
        await syncCommand(
          { ...rest, resume: run ?? true, ...(progress === false ? { progress: false } : {}) },
          io,
        ),
      );
    });

  program
    .command('status')
    .description('recent runs, jobs in flight and profile counts; or the report of one run')
    .argument('[run]', 'a run id from the list')
    .addOption(configOption())
    .addOption(stateOption())
    .option('-n, --limit <count>', 'runs to list', positiveInt, 10)
    .option('--json', 'print as JSON')
    .action(async (run: string | undefined, options) => setExitCode(await statusCommand(run, options, io)));

  program
    .command('errors')
    .description('profiles rejected or waiting for a retry, and the bad rows of the latest run')
    .addOption(configOption())
    .addOption(stateOption())
    .option('-d, --destination <name>', 'only this destination')
    .option('--run <id>', 'bad rows of this run (default: the latest)')
    .option('--csv', 'everything as CSV on stdout, safe to open in a spreadsheet')
    .option('--json', 'everything as JSON')
    .option('-n, --limit <count>', 'rows per section in the table', positiveInt, 50)
    .action(async (options) => setExitCode(await errorsCommand(options, io)));

  program
    .command('retry')
    .description('re-queue rejected profiles and due retries; the next sync sends them')
    .addOption(configOption())
    .addOption(stateOption())
    .option('-d, --destination <name>', 'only this destination')
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await retryCommand(options, io)));

  program
    .command('reconcile')
    .description(
      'export what a destination holds and compare it with what Ferry confirmed: missing, changed, unknown',
    )
    .argument('<destination>', 'the destination to reconcile')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--fix', 're-queue the missing and changed profiles for the next sync')
    .option('--csv', 'every drifted field as CSV on stdout')
    .option('--json', 'print as JSON')
    .option('-n, --limit <count>', 'rows in the table', positiveInt, 50)
    .action(async (destination: string, options) =>
      setExitCode(await reconcileCommand(destination, options, io)),
    );

  program
    .command('verify')
    .description("test each destination's connection, permissions, mapped fields and lists")
    .addOption(configOption())
    .option('-d, --destination <name>', 'only this destination (repeatable)', collect, [])
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await verifyCommand(options, io)));

  program
    .command('sandbox')
    .description('start local emulators of the vendor APIs (Ctrl-C to stop)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--sendgrid-port <port>', 'SendGrid emulator port (default 4011)', positiveInt)
    .option('--eloqua-port <port>', 'Eloqua emulator port (default 4010)', positiveInt)
    .addOption(new Option('--only <vendor>', 'start one emulator only').choices(['eloqua', 'sendgrid']))
    .option('--zero-delay', 'no processing delays (benchmarks)')
    .option('--seed <n>', 'seed of the fault dice', positiveInt)
    .option('--log-requests', 'log every request')
    .action(async (options) => setExitCode(await sandboxCommand(options, io)));

  program
    .command('serve')
    .description('the HTTP service: start runs, follow them, download results (see docs/service.md)')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', positiveInt, 8080)
    .option(
      '--uploads-dir <dir>',
      'where uploaded records wait for their run (default: uploads/ next to the store)',
    )
    .option('--max-upload-bytes <bytes>', 'largest records upload accepted (default 1 GiB)', positiveInt)
    .option('--rate-limit <requests>', 'requests a minute per token (default 600)', positiveInt)
    .option('--public-url <url>', 'base URL of the service as webhook receivers reach it (links in bodies)')
    .option(
      '--allow-private-webhooks',
      'let webhook URLs resolve to private, loopback or link-local addresses',
    )
    .option(
      '--webhook-retries <ms,...>',
      'waits between webhook attempts (default: the Standard Webhooks schedule)',
    )
    .option('-v, --verbose', 'debug logging')
    .action(async (options) => setExitCode(await serveCommand(options, io)));

  const tokens = program.command('tokens').description('bearer tokens for `ferry serve`');
  tokens
    .command('create')
    .description('create a token; it is shown once, the store keeps only its hash')
    .addOption(configOption())
    .addOption(stateOption())
    .addOption(
      new Option('--scope <scope>', 'read: look only; write: also start, cancel, retry')
        .choices(['read', 'write'])
        .makeOptionMandatory(),
    )
    .option('--name <name>', 'what the token is for')
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await tokensCreateCommand(options, io)));
  tokens
    .command('list')
    .description('tokens, active and revoked (never the tokens themselves)')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await tokensListCommand(options, io)));
  tokens
    .command('revoke')
    .description('revoke a token at once')
    .argument('<id>', 'the token id from `ferry tokens list`')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--json', 'print as JSON')
    .action(async (id: string, options) => setExitCode(await tokensRevokeCommand(id, options, io)));

  program
    .command('webhooks')
    .description('completion webhooks of `ferry serve`')
    .command('secret')
    .description('create the whsec_ secret that signs Ferry-Async-Callback-Url callbacks; shown once')
    .addOption(configOption())
    .addOption(stateOption())
    .option('--rotate', 'replace the secret that exists')
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await webhookSecretCommand(options, io)));

  program
    .command('init')
    .description('write a starter ferry.config.ts')
    .option('--file <path>', 'where to write', 'ferry.config.ts')
    .option('--force', 'replace an existing file')
    .option('--sandbox-url <url>', 'SendGrid emulator URL the starter config points at')
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await initCommand(options, io)));

  registerPluginCommands(program, io, setExitCode);
  return program;
};
