import {
  type AsyncSource,
  type Clock,
  collectSecrets,
  createSourceContext,
  type Logger,
  type SourceContext,
} from '@ferry/core';
import type { SourceConfig } from '../config/schema.ts';
import { readExportSource } from '../source/export.ts';
import { readSource } from '../source/index.ts';
import type { SourceItem } from '../source/types.ts';
import type { ExportsStore } from '../store/export-store.ts';
import { resolveSourcePlugin } from './plugins.ts';

/*
 * From the config's `source` to what the engine reads. Files are read as they are; an export
 * source is wired like a destination — its plugin resolved by name, its options parsed once by the
 * plugin's schema (a ConfigError naming the key), its secret options collected for redaction —
 * and read through the state store, which keeps its handle and checkpoints (source/export.ts).
 */

/** An export source, wired for this process. */
export interface WiredExportSource {
  readonly plugin: AsyncSource;
  readonly ctx: SourceContext<unknown>;
  /** Values of the options the plugin marks secret. */
  readonly secrets: readonly string[];
}

export const wireExportSource = (
  plugin: AsyncSource,
  options: unknown,
  process: { readonly label: string; readonly logger?: Logger; readonly signal?: AbortSignal },
): WiredExportSource => {
  const ctx = createSourceContext(plugin, {
    options,
    label: process.label,
    ...(process.logger === undefined ? {} : { logger: process.logger }),
    ...(process.signal === undefined ? {} : { signal: process.signal }),
  });
  return { plugin, ctx, secrets: collectSecrets(plugin.options, ctx.options) };
};

export interface ConfiguredSource {
  /** A fresh read of the source (a run taken over reads it again). */
  readonly open: () => AsyncIterable<SourceItem[]>;
  /** Secret values the source's options hold (for the run's redactor). */
  readonly secrets: readonly string[];
}

/** The configured source; throws a ConfigError when an export source's plugin or options are wrong. */
export const configuredSource = (
  config: SourceConfig,
  deps: {
    readonly store: ExportsStore;
    readonly logger?: Logger;
    readonly signal?: AbortSignal;
    readonly clock?: Clock;
  },
): ConfiguredSource => {
  if (config.type !== 'export') {
    return {
      open: () => readSource(config, deps.signal === undefined ? {} : { signal: deps.signal }),
      secrets: [],
    };
  }
  const wired = wireExportSource(resolveSourcePlugin(config.plugin), config.options, {
    label: 'source',
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  return {
    secrets: wired.secrets,
    open: () =>
      readExportSource({
        store: deps.store,
        source: wired.plugin,
        ctx: wired.ctx,
        key: 'source',
        idField: config.idField,
        deadlineMs: Math.round(config.deadlineMinutes * 60_000),
        ...(deps.clock === undefined ? {} : { clock: deps.clock }),
        ...(deps.logger === undefined ? {} : { logger: deps.logger }),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      }),
  };
};
