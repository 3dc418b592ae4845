import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { ScaffoldError, scaffoldDestination } from './scaffold.ts';
import { isTemplateName, TEMPLATES, type TemplateName } from './templates.ts';

/*
 * `npm create ferry-destination [name] -- [--template bulk-json|bulk-csv|batch] [--dir <folder>]
 * [--package-name <name>] [--display-name <text>] [--yes]`. Asks for what is missing on a terminal;
 * with --yes, or without a terminal, takes the defaults (the name is then required).
 */

export interface CreateCliIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly cwd: string;
}

const usage = `usage: create-ferry-destination <name> [--template ${Object.keys(TEMPLATES).join('|')}] [--dir <folder>] [--package-name <name>] [--display-name <text>] [--yes]\n`;

export const runCreateCli = async (argv: readonly string[], io: CreateCliIO): Promise<number> => {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    return 1;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.stdout.write(usage);
    for (const info of Object.values(TEMPLATES))
      io.stdout.write(`  ${info.name.padEnd(10)} ${info.summary}\n`);
    return 0;
  }
  const interactive = values.yes !== true && io.stdin.isTTY === true;
  const prompt = interactive ? createInterface({ input: io.stdin, output: io.stdout }) : undefined;
  try {
    let name = positionals[0];
    if (name === undefined && prompt !== undefined)
      name = (await prompt.question('Destination name (e.g. acme): ')).trim();
    if (name === undefined || name === '') {
      io.stderr.write(`a destination name is required\n${usage}`);
      return 1;
    }
    let template = values.template;
    if (template === undefined && prompt !== undefined) {
      const names = Object.keys(TEMPLATES);
      io.stdout.write(
        `Templates:\n${Object.values(TEMPLATES)
          .map((t) => `  ${t.name.padEnd(10)} ${t.summary}`)
          .join('\n')}\n`,
      );
      template =
        (await prompt.question(`Template (${names.join(', ')}) [bulk-json]: `)).trim() || 'bulk-json';
    }
    if (template !== undefined && !isTemplateName(template)) {
      io.stderr.write(
        `unknown template ${JSON.stringify(template)}; choose one of ${Object.keys(TEMPLATES).join(', ')}\n`,
      );
      return 1;
    }
    const result = await scaffoldDestination({
      name,
      cwd: io.cwd,
      ...(template === undefined ? {} : { template: template as TemplateName }),
      ...(values.dir === undefined ? {} : { dir: values.dir }),
      ...(values['package-name'] === undefined ? {} : { packageName: values['package-name'] }),
      ...(values['display-name'] === undefined ? {} : { displayName: values['display-name'] }),
      ...(values.core === undefined ? {} : { coreSpec: values.core }),
    });
    io.stdout.write(
      `Created ${result.packageName} (${result.template}) in ${result.dir}: ${result.files.length} files.\n\n` +
        `Next:\n  cd ${result.dir}\n  npm install\n  npm test          # the conformance suite against a loopback fake vendor\n\n` +
        'Then implement against the vendor\'s API docs: see "Writing a destination" in the Ferry docs.\n',
    );
    return 0;
  } catch (error) {
    io.stderr.write(
      `${error instanceof ScaffoldError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  } finally {
    prompt?.close();
  }
};

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      template: { type: 'string', short: 't' },
      dir: { type: 'string' },
      'package-name': { type: 'string' },
      'display-name': { type: 'string' },
      // For testing unreleased versions: the @ferry/core spec to depend on (e.g. file:../core.tgz).
      core: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      help: { type: 'boolean', short: 'h' },
    },
  });
