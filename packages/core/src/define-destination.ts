import type { z } from 'zod';
import type { Destination, DestinationContext } from './contract.ts';
import { stampContract } from './contract-version.ts';
import { createHttpClient } from './http/http-client.ts';
import type { HttpClient } from './http/types.ts';
import { type Logger, silentLogger } from './logger.ts';
import { collectSecrets, parseOptions } from './options.ts';

/**
 * Identity helper: returns its argument, typed, so option types flow from the zod schema into
 * every method without annotations. It also stamps the object with the contract version
 * (`CONTRACT_VERSION`, a non-enumerable symbol key), which is how the runner recognises a
 * destination export and checks it was built for a contract it speaks.
 */
export const defineDestination = <Schema extends z.ZodType>(
  destination: Destination<Schema>,
): Destination<Schema> => stampContract(destination);

export interface CreateContextInput {
  /** Raw options (from config or a test); parsed with the destination's schema. */
  readonly options: unknown;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly callbackUrl?: string;
  /** Replace the HTTP client (tests); by default one is built from the destination's limits. */
  readonly http?: HttpClient;
  /** Overrides for the default HTTP client (timeouts, retries) — tests use short ones. */
  readonly httpOverrides?: Partial<Parameters<typeof createHttpClient>[0]>;
}

/**
 * Builds the `ctx` a destination's methods receive: parsed options (ConfigError naming the key when
 * they are wrong), and an HTTP client that knows the destination's rate limits and its secrets, so
 * it can keep them out of every error and log line.
 */
export const createContext = <Schema extends z.ZodType>(
  destination: Destination<Schema>,
  input: CreateContextInput,
): DestinationContext<z.output<Schema>> => {
  const options = parseOptions(destination.name, destination.options, input.options);
  const limits = destination.limits(options);
  const logger = input.logger ?? silentLogger;
  const signal = input.signal ?? new AbortController().signal;
  const http =
    input.http ??
    createHttpClient({
      destination: destination.name,
      secrets: collectSecrets(destination.options, options),
      logger,
      signal,
      ...(limits.requestsPerSecond === undefined ? {} : { requestsPerSecond: limits.requestsPerSecond }),
      ...(limits.maxConcurrentRequests === undefined ? {} : { maxConcurrent: limits.maxConcurrentRequests }),
      ...input.httpOverrides,
    });
  return {
    destination: destination.name,
    options,
    http,
    logger,
    signal,
    ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
  };
};
