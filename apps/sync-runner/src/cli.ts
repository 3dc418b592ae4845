#!/usr/bin/env node
import { applyHeapProfile } from './cli/heap.ts';
import type { CommandIO } from './cli/io.ts';
import { buildProgram } from './cli/program.ts';

/*
 * The `ferry` executable: wires the process (signals, streams, exit code) to the command line in
 * cli/program.ts. The library face is index.ts.
 */

applyHeapProfile();

export const main = async (): Promise<void> => {
  // `ferry errors --csv | head`: the reader went away; that is the end of the output, not a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) {
      process.stderr.write('\n[ferry] stopped at once\n');
      process.exit(130);
    }
    process.stderr.write('\n[ferry] stopping gracefully (Ctrl-C again to quit at once)\n');
    controller.abort(new Error('[ferry] interrupted'));
  });
  const io: CommandIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  };
  let exitCode = 0;
  try {
    await buildProgram(io, (code) => {
      exitCode = code;
    }).parseAsync(process.argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    exitCode = 1;
  }
  process.exitCode = exitCode;
  // Exit on our own once output is flushed, should a library keep a handle open.
  setTimeout(() => process.exit(exitCode), 2000).unref();
};

if (import.meta.main) await main();
