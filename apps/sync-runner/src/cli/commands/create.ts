import type { CommandIO } from '../io.ts';

export interface CreateCommandOptions {
  readonly template?: string;
  readonly dir?: string;
  readonly packageName?: string;
  readonly displayName?: string;
  readonly yes?: boolean;
}

/**
 * `ferry create destination <name>`: the same scaffolder as `npm create ferry-destination`, without
 * prompts (the options have defaults). Exit 0 when the package was written, else 1.
 */
export const createCommand = async (
  name: string,
  options: CreateCommandOptions,
  io: CommandIO,
): Promise<number> => {
  // Loaded only for this command: no other command needs the templates.
  const { ScaffoldError, isTemplateName, scaffoldDestination } = await import('create-ferry-destination');
  const template = options.template ?? 'bulk-json';
  if (!isTemplateName(template)) {
    io.stderr.write(`unknown template ${JSON.stringify(template)}; choose bulk-json, bulk-csv or batch\n`);
    return 1;
  }
  try {
    const result = await scaffoldDestination({
      name,
      template,
      cwd: io.cwd,
      ...(options.dir === undefined ? {} : { dir: options.dir }),
      ...(options.packageName === undefined ? {} : { packageName: options.packageName }),
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
    });
    io.stdout.write(
      `Created ${result.packageName} (${result.template}) in ${result.dir}: ${result.files.length} files.\n\n` +
        `Next:\n  cd ${result.dir}\n  npm install\n  npm test          # the conformance suite against a loopback fake vendor\n\n` +
        "Then implement against the vendor's API docs: see docs/writing-a-destination.md.\n",
    );
    return 0;
  } catch (error) {
    io.stderr.write(
      `${error instanceof ScaffoldError || !(error instanceof Error) ? String(error instanceof Error ? error.message : error) : (error.stack ?? error.message)}\n`,
    );
    return 1;
  }
};
