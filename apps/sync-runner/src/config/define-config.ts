import type { DestinationConfigInput, FerryConfigInput } from './schema.ts';

/** A config as written, with its destination names kept as literal types. */
export type DefinedConfig<Name extends string = string> = Omit<FerryConfigInput, 'destinations'> & {
  readonly destinations: { readonly [K in Name]: DestinationConfigInput };
};

/**
 * Types a `ferry.config.ts`: `export default defineConfig({ ... })`. It returns its argument
 * unchanged; the runner validates the file when it loads it. In the editor every key completes,
 * unknown keys are errors at any depth, `source.type` narrows the source's keys, and the destination
 * names are inferred (`keyof typeof config.destinations` is `'sendgrid' | 'eloqua'`, not `string`).
 *
 * Not a bare `<T extends FerryConfigInput>(config: T) => T`: TypeScript skips excess-property checks
 * for an argument typed by a type parameter, so misspelt keys inside destinations would go unnoticed.
 */
export const defineConfig = <const Name extends string>(config: DefinedConfig<Name>): DefinedConfig<Name> =>
  config;
