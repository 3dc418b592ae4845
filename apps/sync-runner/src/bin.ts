#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';

/*
 * The `ferry` bin, compiled JavaScript for plain Node 22.12 and later (the state store falls back
 * where node:sqlite lacks `columns()` (22.16) or `iterate()` (22.13)). Two things differ from
 * running src/cli.ts on Node 24:
 *   - Before 22.13, node:sqlite exists only behind --experimental-sqlite: without it, the store's
 *     static `import 'node:sqlite'` kills the process at start. The bin re-runs itself with the flag
 *     then, passing stdio, arguments and the exit code through.
 *   - import.meta.main does not exist before Node 24.2, so cli.ts cannot tell it is the entry point;
 *     this file calls its main.
 */

if (isBuiltin('node:sqlite')) {
  const { main } = await import('./cli.ts');
  await main();
} else {
  const child = spawn(
    process.execPath,
    [
      '--experimental-sqlite',
      '--disable-warning=ExperimentalWarning',
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit' },
  );
  // Ctrl-C reaches the child directly (same process group); it decides how to stop.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128 + (signal === 'SIGINT' ? 2 : 15));
  });
}
