import { type CallbackListener, startCallbackListener } from '../../engine/callback-server.ts';
import { openEngine } from '../../engine/engine.ts';
import type { RunSummary } from '../../engine/summary.ts';
import type { SyncDestination } from '../../engine/types.ts';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatSummary } from '../../report/summary-table.ts';
import { openStateStore } from '../../store/open-store.ts';
import type { StateStore } from '../../store/state-store.ts';
import { configRedactor, toSyncDestination } from '../../wiring/config-destinations.ts';
import { configuredSource } from '../../wiring/config-source.ts';
import { type CommandIO, createLineLogger, errorMessage, type LogLevel } from '../io.ts';
import { createProgress } from '../progress.ts';
import { loadCommandConfig, type StoreOptions, selectDestinations, storeLocation } from './setup.ts';

export interface SyncCommandOptions extends StoreOptions {
  readonly destination?: readonly string[];
  readonly dryRun?: boolean;
  readonly full?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly callbackUrl?: string;
  /** `host:port` to listen on for callbacks, when it differs from the callback URL's. */
  readonly callbackListen?: string;
  readonly quiet?: boolean;
  readonly verbose?: boolean;
  /**
   * `ferry resume`: instead of a new run, take over the run with this id (or, `true`, every run)
   * that a dead process left unfinished, and finish it as itself.
   */
  readonly resume?: string | true;
  /** Progress bars: default when stderr is a terminal. */
  readonly progress?: boolean;
}

const parseListen = (value: string): { host?: string; port: number } => {
  const match = /^(?:(.*):)?(\d+)$/.exec(value);
  if (match === null)
    throw new Error(`[ferry] --callback-listen expects host:port or a port, got ${JSON.stringify(value)}`);
  const host = match[1]?.replace(/^\[|\]$/g, '');
  return host === undefined || host === '' ? { port: Number(match[2]) } : { host, port: Number(match[2]) };
};

/** `ferry sync` and `ferry resume`: returns the exit code (0 exported, 1 could not run, 2 rejects, 3 unfinished). */
export const syncCommand = async (options: SyncCommandOptions, io: CommandIO): Promise<number> => {
  let redact = (text: string): string => text;
  const fail = (error: unknown): number => {
    const message = redact(errorMessage(error));
    if (options.json === true)
      io.stdout.write(jsonError(options.resume === undefined ? 'sync' : 'resume', message));
    io.stderr.write(`${message}\n`);
    return 1;
  };

  let store: StateStore | undefined;
  let listener: CallbackListener | undefined;
  const progress = createProgress({
    stream: io.stderr,
    interactive: options.progress ?? io.stderr.isTTY === true,
    quiet: options.quiet ?? false,
  });
  try {
    const loaded = await loadCommandConfig(options, io);
    const names = selectDestinations(loaded.config, options.destination);
    const destinations: SyncDestination[] = [];
    for (const name of names)
      destinations.push(await toSyncDestination(name, loaded.config.destinations[name]!, loaded.dir));
    // The logger exists before the destinations are wired (their contexts log through it), and the
    // redactor only after (it needs the parsed secret options): the logger reads it late.
    redact = configRedactor(loaded, []);
    const level: LogLevel = options.verbose === true ? 'debug' : options.quiet === true ? 'error' : 'warn';
    const logger = createLineLogger({
      write: (line) => progress.log(line),
      level,
      redact: (text) => redact(text),
    });

    store = await openStateStore({ location: storeLocation(options, loaded, io) });
    const source = configuredSource(loaded.config.source, { store, logger, signal: io.signal });
    redact = configRedactor(loaded, [], source.secrets);
    if (options.callbackUrl !== undefined) {
      listener = await startCallbackListener({
        publicUrl: options.callbackUrl,
        ...(options.callbackListen === undefined ? {} : parseListen(options.callbackListen)),
      });
      logger.info(`[ferry] listening for vendor callbacks on ${listener.address}`);
    }

    const engine = openEngine({
      store,
      destinations,
      logger,
      ...(listener === undefined ? {} : { callbacks: listener }),
    });
    redact = configRedactor(loaded, engine.destinations, source.secrets);
    const follow = async (runId: string): Promise<RunSummary> => {
      const unsubscribe = engine.subscribe(runId, (event) => {
        if (event.type === 'progress') progress.update(event.progress);
      });
      try {
        return await engine.waitForRun(runId);
      } finally {
        unsubscribe();
      }
    };
    const summaries: RunSummary[] = [];
    try {
      if (options.resume !== undefined) {
        // Runs a dead process left: each finished as itself, reading the source again if it must.
        const taken = await engine.resumeRuns({
          ...(options.resume === true ? {} : { runId: options.resume }),
          source: source.open,
          signal: io.signal,
        });
        for (const runId of taken) summaries.push(await follow(runId));
      } else {
        const { runId } = await engine.startRun({
          source: source.open(),
          dryRun: options.dryRun ?? false,
          full: options.full ?? false,
          force: options.force ?? false,
          signal: io.signal,
          runOptions: {
            config: loaded.path,
            ...(options.callbackUrl === undefined ? {} : { callbacks: true }),
          },
        });
        summaries.push(await follow(runId));
      }
    } finally {
      await engine.close();
    }
    progress.stop();
    const command = options.resume === undefined ? 'sync' : 'resume';
    const exitCode = Math.max(0, ...summaries.map((summary) => summary.exitCode));
    if (options.resume !== undefined) {
      if (options.json === true)
        io.stdout.write(redact(jsonDocument(command, exitCode, { runs: summaries })));
      else if (summaries.length === 0) io.stdout.write('No unfinished run to resume.\n');
      else io.stdout.write(redact(summaries.map((summary) => formatSummary(summary)).join('\n')));
      return exitCode;
    }
    const [summary] = summaries as [RunSummary];
    if (options.json === true)
      io.stdout.write(redact(jsonDocument(command, summary.exitCode, { ...summary })));
    else io.stdout.write(redact(formatSummary(summary)));
    return summary.exitCode;
  } catch (error) {
    progress.stop();
    return fail(error);
  } finally {
    await listener?.close();
    await store?.close();
  }
};
