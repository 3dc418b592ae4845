import { AuthError, ConfigError, type VerifyResult } from '@ferry/core';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { printable } from '../../report/table.ts';
import { configRedactor, toSyncDestination } from '../../wiring/config-destinations.ts';
import { wireDestination } from '../../wiring/destination-context.ts';
import { type CommandIO, createLineLogger, errorMessage } from '../io.ts';
import { loadCommandConfig, type StoreOptions, selectDestinations } from './setup.ts';

export interface VerifyCommandOptions extends StoreOptions {
  readonly destination?: readonly string[];
  readonly json?: boolean;
}

interface DestinationCheck extends VerifyResult {
  readonly destination: string;
  readonly plugin: string;
}

/**
 * `ferry verify`: each destination's "test connection" — credentials, permissions, and that the
 * mapped fields and the configured lists exist. Exit 0 when every destination is fine, else 1.
 */
export const verifyCommand = async (options: VerifyCommandOptions, io: CommandIO): Promise<number> => {
  let redact = (text: string): string => text;
  try {
    const loaded = await loadCommandConfig(options, io);
    const names = selectDestinations(loaded.config, options.destination);
    const logger = createLineLogger({
      write: (line) => io.stderr.write(line),
      level: 'warn',
      redact: (text) => redact(text),
    });
    // Wired once: options parsed, one context per destination, as a sync would use them.
    const destinations = [];
    for (const name of names) {
      const destination = await toSyncDestination(name, loaded.config.destinations[name]!, loaded.dir);
      destinations.push(wireDestination(destination, { logger, signal: io.signal }));
    }
    redact = configRedactor(loaded, destinations);
    const checks: DestinationCheck[] = [];
    for (const destination of destinations) {
      const config = loaded.config.destinations[destination.key]!;
      const request = {
        fields: Object.keys(config.fields),
        lists: [...new Set([...config.lists.add, ...config.lists.remove])],
      };
      let result: VerifyResult;
      try {
        result = destination.ok
          ? await destination.plugin.verify(destination.ctx, request)
          : { ok: false, problems: [{ kind: 'option', message: redact(destination.error) }] };
      } catch (error) {
        const kind =
          error instanceof AuthError ? 'auth' : error instanceof ConfigError ? 'option' : 'permission';
        result = { ok: false, problems: [{ kind, message: redact(errorMessage(error)) }] };
      }
      checks.push({ destination: destination.key, plugin: destination.plugin.name, ...result });
    }
    const exitCode = checks.every((check) => check.ok) ? 0 : 1;
    if (options.json === true) {
      io.stdout.write(redact(jsonDocument('verify', exitCode, { destinations: checks })));
      return exitCode;
    }
    const lines: string[] = [];
    for (const check of checks) {
      if (check.ok)
        lines.push(`ok    ${check.destination} (${check.plugin}): connection, fields and lists verified`);
      else {
        lines.push(`FAIL  ${check.destination} (${check.plugin}):`);
        for (const problem of check.problems) {
          const subject = problem.subject === undefined ? '' : ` ${problem.subject}:`;
          lines.push(`        - ${problem.kind}${subject} ${printable(redact(problem.message))}`);
        }
      }
    }
    io.stdout.write(`${lines.join('\n')}\n`);
    return exitCode;
  } catch (error) {
    const message = redact(errorMessage(error));
    if (options.json === true) io.stdout.write(jsonError('verify', message));
    io.stderr.write(`${message}\n`);
    return 1;
  }
};
