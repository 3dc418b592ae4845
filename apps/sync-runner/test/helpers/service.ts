import { type RunningCli, runCli, spawnCli, waitFor } from './e2e.ts';

/* `ferry serve` as a child process on a free port, and HTTP helpers for the service tests. */

export interface RunningService {
  readonly cli: RunningCli;
  readonly url: string;
}

export const startService = async (
  dir: string,
  args: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<RunningService> => {
  // Tests poll fast; a test of the rate limit passes its own --rate-limit, which comes last and wins.
  const cli = spawnCli(dir, ['serve', '--port', '0', '--rate-limit', '100000', ...args], env);
  let exited = false;
  void cli.done.then(() => {
    exited = true;
  });
  const url = await waitFor('ferry serve to listen', () => {
    if (exited) throw new Error(`ferry serve exited: ${cli.stderr()}`);
    return /listening on (http:\/\/\S+)/.exec(cli.stdout())?.[1];
  });
  return { cli, url };
};

export const createApiToken = async (dir: string, scope: 'read' | 'write'): Promise<string> => {
  const result = await runCli(dir, ['tokens', 'create', '--scope', scope, '--json']);
  if (result.code !== 0) throw new Error(`ferry tokens create failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { token: string }).token;
};

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Reads a server-sent-events stream until `until` says stop; returns the events. */
export const readEvents = async (
  url: string,
  headers: Record<string, string>,
  until: (event: { id?: string; event: string; data: unknown }) => boolean = () => false,
): Promise<{ id?: string; event: string; data: unknown }[]> => {
  const response = await fetch(url, { headers });
  if (response.status !== 200 || response.body === null) throw new Error(`events: HTTP ${response.status}`);
  const events: { id?: string; event: string; data: unknown }[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      const fields: Record<string, string> = {};
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
      }
      if (fields.event === undefined) continue;
      const event = {
        ...(fields.id === undefined ? {} : { id: fields.id }),
        event: fields.event,
        data: JSON.parse(fields.data ?? 'null') as unknown,
      };
      events.push(event);
      // Leaving the loop cancels the body.
      if (until(event)) return events;
    }
  }
  return events;
};

/** `ferry webhooks secret --json`: the callback signing secret, created now. */
export const createCallbackSecret = async (dir: string): Promise<string> => {
  const result = await runCli(dir, ['webhooks', 'secret', '--json']);
  if (result.code !== 0) throw new Error(`ferry webhooks secret failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { secret: string }).secret;
};
