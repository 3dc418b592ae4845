import { type CallbackListener, startCallbackListener } from '../engine/callback-server.ts';
import { runSync } from '../engine/run-sync.ts';
import type { SyncDestination } from '../engine/types.ts';
import { createProgress } from '../progress.ts';
import { jsonDocument, jsonError } from '../report/json-output.ts';
import { formatSummary } from '../report/summary-table.ts';
import { readSource } from '../source/index.ts';
import { crashAfterWrites } from '../store/crash-after-writes.ts';
import { openStateStore } from '../store/open-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { type CommandIO, createLineLogger, errorMessage, type LogLevel } from './io.ts';
import {
  configRedactor,
  loadCommandConfig,
  type StoreOptions,
  selectDestinations,
  storeLocation,
  toSyncDestination,
} from './setup.ts';

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
  /** Progress bars: default when stderr is a terminal. */
  readonly progress?: boolean;
}

/** Test support: `FERRY_TEST_CRASH_AFTER_WRITES=N` kills the process with SIGKILL before store write N+1. */
const CRASH_VARIABLE = 'FERRY_TEST_CRASH_AFTER_WRITES';

const parseListen = (value: string): { host?: string; port: number } => {
  const match = /^(?:(.*):)?(\d+)$/.exec(value);
  if (match === null)
    throw new Error(`[ferry] --callback-listen expects host:port or a port, got ${JSON.stringify(value)}`);
  const host = match[1]?.replace(/^\[|\]$/g, '');
  return host === undefined || host === '' ? { port: Number(match[2]) } : { host, port: Number(match[2]) };
};

/** `ferry sync`: returns the exit code (0 exported, 1 could not run, 2 rejects, 3 unfinished). */
export const syncCommand = async (options: SyncCommandOptions, io: CommandIO): Promise<number> => {
  let redact = (text: string): string => text;
  const fail = (error: unknown): number => {
    const message = redact(errorMessage(error));
    if (options.json === true) io.stdout.write(jsonError('sync', message));
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
    redact = configRedactor(loaded, destinations);
    const level: LogLevel = options.verbose === true ? 'debug' : options.quiet === true ? 'error' : 'warn';
    const logger = createLineLogger({ write: (line) => progress.log(line), level, redact });

    store = await openStateStore({ location: storeLocation(options, loaded, io) });
    const crashAt = io.env[CRASH_VARIABLE];
    const runStore =
      crashAt === undefined
        ? store
        : crashAfterWrites(store, Number(crashAt), (write, count) => {
            // Name the step the crash interrupts, for harnesses (stderr is synchronous on pipes and files).
            io.stderr.write(`[ferry] ${CRASH_VARIABLE}: killed before write ${count} (${write})\n`);
            process.kill(process.pid, 'SIGKILL');
            throw new Error('unreachable: killed');
          }).store;

    if (options.callbackUrl !== undefined) {
      listener = await startCallbackListener({
        publicUrl: options.callbackUrl,
        ...(options.callbackListen === undefined ? {} : parseListen(options.callbackListen)),
      });
      logger.info(`[ferry] listening for vendor callbacks on ${listener.address}`);
    }

    const summary = await runSync({
      store: runStore,
      source: readSource(loaded.config.source, { signal: io.signal }),
      destinations,
      dryRun: options.dryRun ?? false,
      full: options.full ?? false,
      force: options.force ?? false,
      signal: io.signal,
      logger,
      onProgress: (snapshot) => progress.update(snapshot),
      runOptions: { config: loaded.path, ...(options.callbackUrl === undefined ? {} : { callbacks: true }) },
      ...(listener === undefined ? {} : { callbacks: listener }),
    });
    progress.stop();
    if (options.json === true)
      io.stdout.write(redact(jsonDocument('sync', summary.exitCode, { ...summary })));
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
