/*
 * `--json` output: one JSON document on stdout per command, described in docs/cli.md. Consumers
 * rely on it, so fields are only ever added; a breaking change bumps `schemaVersion`.
 */

export const JSON_SCHEMA_VERSION = 1;

export type CommandName =
  | 'sync'
  | 'resume'
  | 'status'
  | 'errors'
  | 'retry'
  | 'verify'
  | 'init'
  | 'plugins'
  | 'create'
  | 'tokens'
  | 'reconcile'
  | 'webhooks';

/** The document: `schemaVersion`, `command`, `exitCode`, then the command's own fields. */
export const jsonDocument = (
  command: CommandName,
  exitCode: number,
  payload: Readonly<Record<string, unknown>>,
): string =>
  `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, command, exitCode, ...payload }, null, 2)}\n`;

/** What every command prints with `--json` when it could not run. */
export const jsonError = (command: CommandName, message: string): string =>
  jsonDocument(command, 1, { error: message });
