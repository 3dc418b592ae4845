import { reconcile } from '../../reconcile/reconcile.ts';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatReconcile, reconcileCsv } from '../../report/reconcile-report.ts';
import { openStateStore } from '../../store/open-store.ts';
import type { StateStore } from '../../store/state-store.ts';
import { configRedactor, toSyncDestination } from '../../wiring/config-destinations.ts';
import { configuredSource } from '../../wiring/config-source.ts';
import { type CommandIO, createLineLogger, errorMessage } from '../io.ts';
import { loadCommandConfig, type StoreOptions, selectDestinations, storeLocation } from './setup.ts';

export interface ReconcileCommandOptions extends StoreOptions {
  readonly json?: boolean;
  readonly csv?: boolean;
  /** Re-queue the missing and changed profiles for the next sync. */
  readonly fix?: boolean;
  /** Rows shown in the table (default 50); CSV and JSON show everything. */
  readonly limit?: number;
}

/** `ferry reconcile <destination>`: 0 in step, 2 drift found (re-queued with --fix), 1 could not run. */
export const reconcileCommand = async (
  name: string,
  options: ReconcileCommandOptions,
  io: CommandIO,
): Promise<number> => {
  let redact = (text: string): string => text;
  let store: StateStore | undefined;
  try {
    const loaded = await loadCommandConfig(options, io);
    const [key] = selectDestinations(loaded.config, [name]);
    const config = loaded.config.destinations[key as string]!;
    const destination = await toSyncDestination(key as string, config, loaded.dir);
    redact = configRedactor(loaded, []);
    const logger = createLineLogger({
      write: (line) => io.stderr.write(`${line}\n`),
      level: 'warn',
      redact: (t) => redact(t),
    });
    store = await openStateStore({ location: storeLocation(options, loaded, io) });
    const source = configuredSource(loaded.config.source, { store, logger, signal: io.signal });
    redact = configRedactor(loaded, [], source.secrets);
    const report = await reconcile({
      store,
      destination,
      fields: Object.keys(config.fields),
      deadlineMs: Math.round(config.polling.deadlineMinutes * 60_000),
      source: source.open(),
      fix: options.fix ?? false,
      logger,
      signal: io.signal,
    });
    const drifted = report.drift.length > 0;
    const exitCode = drifted ? 2 : 0;
    if (options.json === true) io.stdout.write(redact(jsonDocument('reconcile', exitCode, { ...report })));
    else if (options.csv === true) io.stdout.write(redact(reconcileCsv(report)));
    else io.stdout.write(redact(formatReconcile(report, options.limit ?? 50)));
    return exitCode;
  } catch (error) {
    const message = redact(errorMessage(error));
    if (options.json === true) io.stdout.write(jsonError('reconcile', message));
    io.stderr.write(`${message}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};
