import { type Command, Option } from 'commander';
import type { CommandIO } from '../io.ts';
import { createCommand } from './create.ts';
import { pluginsCommand } from './plugins.ts';

/*
 * The commands about plugins — `ferry plugins` and `ferry create destination` — registered from one
 * place so cli.ts only has to call this.
 */

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerPluginCommands = (
  program: Command,
  io: CommandIO,
  setExitCode: (code: number) => void,
): void => {
  program
    .command('plugins')
    .description("what each destination's plugin resolves to: package, version, capabilities, limits")
    .option('-c, --config <file>', 'config file (default: ferry.config.* in this directory)')
    .option('-d, --destination <name>', 'only this destination (repeatable)', collect, [])
    .option('--json', 'print as JSON')
    .action(async (options) => setExitCode(await pluginsCommand(options, io)));

  program
    .command('create')
    .description('scaffold a new package')
    .command('destination')
    .description('scaffold a destination plugin package (same as `npm create ferry-destination`)')
    .argument('<name>', 'machine name of the destination, e.g. acme')
    .addOption(
      new Option('-t, --template <template>', 'the shape of the vendor API')
        .choices(['bulk-csv', 'bulk-json', 'batch'])
        .default('bulk-json'),
    )
    .option('--dir <folder>', 'where to write it (default: ./ferry-destination-<name>)')
    .option('--package-name <name>', 'npm package name (default: ferry-destination-<name>)')
    .option('--display-name <text>', 'human name (default: the name, capitalised)')
    .option('-y, --yes', 'no prompts: take the defaults')
    .action(async (name: string, options) => setExitCode(await createCommand(name, options, io)));
};
