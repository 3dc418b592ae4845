import { type Capabilities, type Limits, parseOptions } from '@ferry/core';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatTable } from '../../report/table.ts';
import { configRedactor } from '../../wiring/config-destinations.ts';
import { loadPluginInfo } from '../../wiring/load-plugin.ts';
import { plugins } from '../../wiring/plugins.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { loadCommandConfig, type StoreOptions, selectDestinations } from './setup.ts';

export interface PluginsCommandOptions extends StoreOptions {
  readonly destination?: readonly string[];
  readonly json?: boolean;
}

interface PluginRow {
  readonly destination: string;
  readonly plugin: string;
  readonly name: string;
  readonly displayName: string;
  readonly source: 'builtin' | 'package' | 'path';
  readonly package?: string;
  readonly version?: string;
  readonly contractVersion: string;
  readonly file?: string;
  readonly capabilities: Capabilities;
  /** With the configured options; `undefined` (and `optionsError`) when they do not parse. */
  readonly limits?: Limits;
  readonly optionsError?: string;
}

/**
 * `ferry plugins`: what each configured destination's `plugin:` resolves to — the destination's
 * name, the package and version it was loaded from, its capabilities and its limits with the
 * configured options. Exit 0 when every plugin loads and its options parse, else 1.
 */
export const pluginsCommand = async (options: PluginsCommandOptions, io: CommandIO): Promise<number> => {
  let redact = (text: string): string => text;
  try {
    const loaded = await loadCommandConfig(options, io);
    redact = configRedactor(loaded, []);
    const rows: PluginRow[] = [];
    for (const key of selectDestinations(loaded.config, options.destination)) {
      const config = loaded.config.destinations[key]!;
      const info = await loadPluginInfo(config.plugin, {
        destination: key,
        fromDir: loaded.dir,
        builtins: plugins,
      });
      const plugin = info.destination;
      let limits: Limits | undefined;
      let optionsError: string | undefined;
      try {
        limits = plugin.limits(parseOptions(key, plugin.options, config.options));
      } catch (error) {
        optionsError = redact(errorMessage(error));
      }
      rows.push({
        destination: key,
        plugin: config.plugin,
        name: plugin.name,
        displayName: plugin.displayName,
        source: info.source,
        ...(info.packageName === undefined ? {} : { package: info.packageName }),
        ...(info.packageVersion === undefined ? {} : { version: info.packageVersion }),
        contractVersion: info.contractVersion,
        ...(info.file === undefined ? {} : { file: info.file }),
        capabilities: plugin.capabilities,
        ...(limits === undefined ? {} : { limits }),
        ...(optionsError === undefined ? {} : { optionsError }),
      });
    }
    const exitCode = rows.every((row) => row.optionsError === undefined) ? 0 : 1;
    if (options.json === true) {
      io.stdout.write(redact(jsonDocument('plugins', exitCode, { destinations: rows })));
      return exitCode;
    }
    const table = formatTable<PluginRow>(
      [
        { header: 'destination', value: (row) => row.destination },
        { header: 'plugin', value: (row) => `${row.name} (${row.displayName})` },
        {
          header: 'package',
          value: (row) => `${row.package ?? row.file ?? '?'}${row.source === 'builtin' ? ' (built-in)' : ''}`,
        },
        { header: 'version', value: (row) => row.version ?? '' },
        { header: 'contract', value: (row) => row.contractVersion },
        { header: 'capabilities', value: (row) => describeCapabilities(row.capabilities) },
        {
          header: 'limits',
          value: (row) => (row.limits === undefined ? 'options invalid' : describeLimits(row.limits)),
        },
      ],
      rows,
    );
    const problems = rows
      .filter((row) => row.optionsError !== undefined)
      .map((row) => `${row.optionsError}\n`)
      .join('');
    io.stdout.write(redact(table));
    if (problems.length > 0) io.stderr.write(problems);
    return exitCode;
  } catch (error) {
    const message = redact(errorMessage(error));
    if (options.json === true) io.stdout.write(jsonError('plugins', message));
    io.stderr.write(`${message}\n`);
    return 1;
  }
};

const describeCapabilities = (capabilities: Capabilities): string => {
  const on = (['delete', 'lists', 'callbacks'] as const).filter((name) => capabilities[name]);
  return on.length === 0 ? 'upsert only' : `upsert, ${on.join(', ')}`;
};

const describeLimits = (limits: Limits): string =>
  [
    `${limits.maxProfilesPerJob.toLocaleString('en-US')} profiles/job`,
    `${formatBytes(limits.maxBytesPerJob)}/job`,
    `${limits.maxJobsInFlight} in flight`,
    ...(limits.requestsPerSecond === undefined ? [] : [`${limits.requestsPerSecond} req/s`]),
  ].join(', ');

const formatBytes = (bytes: number): string =>
  bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0
    ? `${bytes / 1024 ** 2} MiB`
    : bytes >= 1024 && bytes % 1024 === 0
      ? `${bytes / 1024} KiB`
      : `${bytes.toLocaleString('en-US')} B`;
