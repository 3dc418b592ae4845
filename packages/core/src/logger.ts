/** Structured fields attached to a log line. Never put secrets here: they are not redacted again. */
export type LogFields = Readonly<Record<string, unknown>>;

export type LogFn = (message: string, fields?: LogFields) => void;

/** The small logger plugins get on `ctx.logger`; the runner adapts pino to it. */
export interface Logger {
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

const noop: LogFn = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** A logger that keeps every line, for tests that assert on what was (or was not) logged. */
export const createMemoryLogger = (): Logger & {
  readonly lines: { level: keyof Logger; message: string; fields?: LogFields }[];
} => {
  const lines: { level: keyof Logger; message: string; fields?: LogFields }[] = [];
  const at =
    (level: keyof Logger): LogFn =>
    (message, fields) => {
      lines.push(fields === undefined ? { level, message } : { level, message, fields });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};
