import { ConfigError, type Destination } from '@ferry/core';
import { eloqua } from '@ferry/plugin-eloqua';
import { memory } from '@ferry/plugin-memory';
import { sendgrid } from '@ferry/plugin-sendgrid';

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
