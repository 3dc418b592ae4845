import {
  collectSecrets,
  createContext,
  createRedactor,
  type DestinationContext,
  type Limits,
  type Logger,
} from '@ferry/core';
import type { SyncDestination } from '../engine/types.ts';

/*
 * One destination, wired for this process: options parsed once by the plugin's schema, limits read
 * once, one context (and so one HTTP client, one rate limiter) for every call the process makes to
 * it — see the DestinationContext contract in core for what plugins may cache per context. Bad
 * options do not throw here: the destination carries its error, and the run reports it for that
 * destination alone.
 */

export type WiredDestination = SyncDestination &
  (
    | {
        readonly ok: true;
        readonly ctx: DestinationContext<unknown>;
        readonly limits: Limits;
        /** The values of the options the plugin marks secret. */
        readonly secrets: readonly string[];
        /** Removes those secrets from a text. */
        readonly redact: (text: string) => string;
      }
    | { readonly ok: false; readonly error: string }
  );

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const wireDestination = (
  destination: SyncDestination,
  process: { readonly logger: Logger; readonly signal: AbortSignal },
): WiredDestination => {
  try {
    const ctx = createContext(destination.plugin, {
      ...destination.context,
      options: destination.options,
      logger: process.logger,
      signal: process.signal,
    });
    const secrets = collectSecrets(destination.plugin.options, ctx.options);
    const limits = destination.plugin.limits(ctx.options);
    return { ...destination, ok: true, ctx, limits, secrets, redact: createRedactor(secrets) };
  } catch (cause) {
    // Bad options (a ConfigError naming the key, never the value) or a broken plugin.
    return { ...destination, ok: false, error: messageOf(cause) };
  }
};
