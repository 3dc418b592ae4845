import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { starterConfig } from '../../config/index.ts';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { type CommandIO, errorMessage } from '../io.ts';

export interface InitCommandOptions {
  /** Where to write (default `ferry.config.ts` in the working directory). */
  readonly file?: string;
  /** Replace an existing file. */
  readonly force?: boolean;
  /** Base URL of the SendGrid emulator the starter config points at. */
  readonly sandboxUrl?: string;
  readonly json?: boolean;
}

/** `ferry init`: writes a commented starter config that syncs `contacts.csv` to the local sandbox. */
export const initCommand = async (options: InitCommandOptions, io: CommandIO): Promise<number> => {
  try {
    const path = resolve(io.cwd, options.file ?? 'ferry.config.ts');
    if (existsSync(path) && options.force !== true) {
      throw new Error(`[ferry] ${path} already exists; use --force to replace it`);
    }
    writeFileSync(
      path,
      starterConfig(options.sandboxUrl === undefined ? {} : { sandboxUrl: options.sandboxUrl }),
      'utf8',
    );
    if (options.json === true) io.stdout.write(jsonDocument('init', 0, { path }));
    else {
      io.stdout.write(
        `Wrote ${path}.\n\nNext:\n  1. put your profiles in contacts.csv (columns id, email, first_name, last_name)\n` +
          '  2. ferry sandbox          # local emulators of the vendor APIs, in another terminal\n' +
          '  3. ferry verify && ferry sync\n\nAdd .ferry/ (the sync state) to .gitignore.\n',
      );
    }
    return 0;
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError('init', errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  }
};
