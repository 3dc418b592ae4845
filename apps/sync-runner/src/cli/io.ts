import type { LogFields, Logger } from '@ferry/core';

/** Where a command reads and writes, so tests can run commands in-process. */
export interface CommandIO {
  readonly stdout: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ctrl-C: aborted on the first SIGINT. */
  readonly signal: AbortSignal;
}

export type LogLevel = keyof Logger;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

const renderFields = (fields: LogFields | undefined): string => {
  if (fields === undefined) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out += ` ${key}=${typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))}`;
  }
  return out;
};

/**
 * Plain log lines (`12:03:04 WARN message key="value"`) for people reading a terminal or a CI log.
 * Every line goes through `redact` last, whatever put a secret into it.
 */
export const createLineLogger = (options: {
  readonly write: (line: string) => void;
  readonly level: LogLevel;
  readonly redact: (text: string) => string;
}): Logger => {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (RANK[level] < RANK[options.level]) return;
      const time = new Date().toISOString().slice(11, 19);
      const line = `${time} ${level.toUpperCase().padEnd(5)} ${message}${renderFields(fields)}`;
      options.write(`${options.redact(line).replace(/[\r\n]+/g, ' ')}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

/** An error's message for the user: core's errors are already prefixed and redacted. */
export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
