import { type AsyncSource, ConfigError, type Destination } from '@ferry/core';
import { eloqua, eloquaExport } from '@ferry/plugin-eloqua';
import { memory } from '@ferry/plugin-memory';
import { sendgrid, sendgridExport } from '@ferry/plugin-sendgrid';

/*
 * The destinations the CLI knows by name (`plugin: 'memory'` in the config). A plugin is a plain
 * object from its package; adding one is one import and one line here.
 */

// Plugins are typed by their own option schemas; the registry only needs the common shape.
const asDestination = (plugin: unknown): Destination => plugin as Destination;

export const plugins: Readonly<Record<string, Destination>> = Object.freeze({
  eloqua: asDestination(eloqua),
  memory: asDestination(memory),
  sendgrid: asDestination(sendgrid),
});

/** The plugin registered as `name`; a ConfigError listing the known ones otherwise. */
export const resolvePlugin = (name: string, destination: string, registry = plugins): Destination => {
  const plugin = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (plugin === undefined) {
    throw new ConfigError(
      destination,
      `unknown plugin ${JSON.stringify(name)}; known plugins: ${Object.keys(registry).sort().join(', ')}`,
    );
  }
  return plugin;
};

/** The export sources the CLI knows by name (`source: { type: 'export', plugin: 'eloqua' }`). */
export const sourcePlugins: Readonly<Record<string, AsyncSource>> = Object.freeze({
  eloqua: eloquaExport as unknown as AsyncSource,
  sendgrid: sendgridExport as unknown as AsyncSource,
});

/** The export source registered as `name`; a ConfigError listing the known ones otherwise. */
export const resolveSourcePlugin = (name: string, registry = sourcePlugins): AsyncSource => {
  const source = Object.hasOwn(registry, name) ? registry[name] : undefined;
  if (source === undefined) {
    throw new ConfigError(
      'source',
      `unknown export source ${JSON.stringify(name)}; known sources: ${Object.keys(registry).sort().join(', ')}`,
    );
  }
  return source;
};
