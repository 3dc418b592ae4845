import { dirname, join, resolve } from 'node:path';
import type { ServiceWebhookConfig } from '../../config/schema.ts';
import { openEngine } from '../../engine/engine.ts';
import type { SyncDestination } from '../../engine/types.ts';
import { buildService } from '../../service/app.ts';
import { DEFAULT_MAX_UPLOAD_BYTES } from '../../service/uploads.ts';
import { checkWebhookUrl, WebhookUrlError } from '../../service/webhook-urls.ts';
import { openStateStore } from '../../store/open-store.ts';
import type { StateStore } from '../../store/state-store.ts';
import { configRedactor, toSyncDestination } from '../../wiring/config-destinations.ts';
import { loadPluginInfo } from '../../wiring/load-plugin.ts';
import { plugins } from '../../wiring/plugins.ts';
import { type CommandIO, createLineLogger, errorMessage } from '../io.ts';
import { loadCommandConfig, type StoreOptions, storeLocation } from './setup.ts';

export interface ServeCommandOptions extends StoreOptions {
  /** Default 127.0.0.1: the service is reachable from this machine only unless told otherwise. */
  readonly host?: string;
  /** Default 8080; 0 picks a free port (printed). */
  readonly port?: number;
  /** Where uploaded records are kept until their run ends; default `uploads/` next to the store. */
  readonly uploadsDir?: string;
  readonly maxUploadBytes?: number;
  /** Requests per minute per token (default 600). */
  readonly rateLimit?: number;
  readonly verbose?: boolean;
  /** Webhook URLs may resolve to private, loopback or link-local addresses. */
  readonly allowPrivateWebhooks?: boolean;
  /** Waits between webhook attempts, ms, comma-separated; default the Standard Webhooks schedule. */
  readonly webhookRetries?: string;
  /** The service's public base URL, for links in webhook bodies. */
  readonly publicUrl?: string;
  /** Resolves when the service must stop (SIGTERM); default: on SIGTERM or io.signal. */
  readonly stopped?: Promise<unknown>;
}

const uploadsDirOf = (location: string, configDir: string): string =>
  /^postgres(ql)?:\/\//i.test(location) || location === ':memory:'
    ? join(configDir, '.ferry', 'uploads')
    : join(dirname(location), 'uploads');

/** The config's webhook URLs pass the checks of the API's; an error names the key. */
const checkConfigWebhooks = async (
  webhooks: readonly ServiceWebhookConfig[],
  allowPrivate: boolean,
): Promise<void> => {
  const seen = new Set<string>();
  for (const [index, endpoint] of webhooks.entries()) {
    const key = `service.webhooks[${index}].url`;
    if (seen.has(endpoint.url)) throw new Error(`[ferry] ${key}: the same URL is listed twice`);
    seen.add(endpoint.url);
    try {
      await checkWebhookUrl(endpoint.url, allowPrivate);
    } catch (error) {
      if (!(error instanceof WebhookUrlError)) throw error;
      throw new Error(
        `[ferry] ${key}: ${error.message}${allowPrivate ? '' : ' (--allow-private-webhooks allows it)'}`,
      );
    }
  }
};

const stopSignal = (io: CommandIO): Promise<unknown> =>
  new Promise((done) => {
    process.once('SIGTERM', done);
    io.signal.addEventListener('abort', done, { once: true });
  });

/**
 * `ferry serve`: the HTTP service over the engine, on the config's state store. At start it takes
 * over the runs a dead service left. SIGTERM (or Ctrl-C) stops accepting, lets requests in flight
 * finish, and returns; runs still going stay `running` in the store and are taken over at the next
 * start (their vendor jobs are checked then), as after a crash.
 */
export const serveCommand = async (options: ServeCommandOptions, io: CommandIO): Promise<number> => {
  let redact = (text: string): string => text;
  let store: StateStore | undefined;
  try {
    const loaded = await loadCommandConfig(options, io);
    const names = Object.keys(loaded.config.destinations);
    const destinations: SyncDestination[] = [];
    for (const name of names)
      destinations.push(await toSyncDestination(name, loaded.config.destinations[name]!, loaded.dir));
    const pluginVersions: Record<string, string> = {};
    for (const name of names) {
      const info = await loadPluginInfo(loaded.config.destinations[name]!.plugin, {
        destination: name,
        fromDir: loaded.dir,
        builtins: plugins,
      });
      if (info.packageVersion !== undefined) pluginVersions[name] = info.packageVersion;
    }
    // Webhook secrets written in the config (not from the environment) are redacted too.
    const webhookSecrets = loaded.config.service.webhooks.map((endpoint) => endpoint.secret);
    const secrets = { secrets: [...loaded.secrets, ...webhookSecrets] };
    redact = configRedactor(secrets, []);
    const logger = createLineLogger({
      write: (line) => io.stderr.write(line),
      level: options.verbose === true ? 'debug' : 'info',
      redact: (text) => redact(text),
    });
    const location = storeLocation(options, loaded, io);
    store = await openStateStore({ location });
    const engine = openEngine({ store, destinations, logger });
    redact = configRedactor(secrets, engine.destinations);
    await checkConfigWebhooks(loaded.config.service.webhooks, options.allowPrivateWebhooks === true);
    const verifyRequests = Object.fromEntries(
      names.map((name) => {
        const config = loaded.config.destinations[name]!;
        return [
          name,
          {
            fields: Object.keys(config.fields),
            lists: [...new Set([...config.lists.add, ...config.lists.remove])],
          },
        ];
      }),
    );
    if (
      options.webhookRetries !== undefined &&
      !options.webhookRetries
        .split(',')
        .every((ms) => Number.isSafeInteger(Number(ms.trim())) && Number(ms) >= 0)
    )
      throw new Error('[ferry] --webhook-retries expects milliseconds, comma-separated (e.g. 5000,300000)');
    const { app, launcher, webhooks } = await buildService({
      engine,
      store,
      source: loaded.config.source,
      uploadsDir:
        options.uploadsDir === undefined
          ? uploadsDirOf(location, loaded.dir)
          : resolve(io.cwd, options.uploadsDir),
      maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
      verifyRequests,
      pluginVersions,
      ...(options.rateLimit === undefined ? {} : { rateLimitPerMinute: options.rateLimit }),
      redact,
      logger,
      webhooks: {
        allowPrivate: options.allowPrivateWebhooks === true,
        ...(options.webhookRetries === undefined
          ? {}
          : { retryScheduleMs: options.webhookRetries.split(',').map((ms) => Number(ms.trim())) }),
        ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
        endpoints: loaded.config.service.webhooks,
      },
    });
    const resumed = await launcher.resumeAll();
    if (resumed.length > 0)
      logger.warn(`[ferry] took over ${resumed.length} unfinished run(s): ${resumed.join(', ')}`);
    await webhooks.start();
    const address = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8080 });
    io.stdout.write(`ferry serve: listening on ${address}\n`);
    io.stdout.write(`ferry serve: dashboard at ${address}/ui/\n`);
    await (options.stopped ?? stopSignal(io));
    logger.info('[ferry] stopping: no new requests; runs going on are taken over at the next start');
    await app.close();
    await webhooks.stop();
    io.stdout.write('ferry serve: stopped\n');
    return 0;
  } catch (error) {
    io.stderr.write(`${redact(errorMessage(error))}\n`);
    await store?.close();
    return 1;
  }
};
