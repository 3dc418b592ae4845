#!/usr/bin/env node
import { runCreateCli } from './run-cli.ts';

// The bin of `npm create ferry-destination`; the logic is in run-cli.ts (also used by `ferry create`).
process.exitCode = await runCreateCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
});
