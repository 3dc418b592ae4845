import type { z } from 'zod';
import { createHttpClient } from './http/http-client.ts';
import { type Logger, silentLogger } from './logger.ts';
import { collectSecrets, parseOptions } from './options.ts';
import type { AsyncSource, SourceContext } from './source-contract.ts';

/*
 * Sources are recognised by a registered symbol, as destinations are by their contract stamp: a
 * plugin with its own copy of @ferry/core stamps the key the runner reads.
 */
const SOURCE_KEY: unique symbol = Symbol.for('ferry.source.contract') as never;

/** The version of the source contract (the `AsyncSource` interface and its semantics). */
export const SOURCE_CONTRACT_VERSION = '1.0.0';

/**
 * Identity helper, like `defineDestination`: returns its argument, typed, so option types flow from
 * the zod schema into every method, and stamps it with the source contract version.
 */
export const defineSource = <Schema extends z.ZodType>(source: AsyncSource<Schema>): AsyncSource<Schema> => {
  if (!Object.hasOwn(source, SOURCE_KEY)) {
    Object.defineProperty(source, SOURCE_KEY, { value: SOURCE_CONTRACT_VERSION, enumerable: false });
  }
  return source;
};

/** The source contract version `value` was made for by `defineSource`, or `undefined`. */
export const sourceContractVersionOf = (value: unknown): string | undefined => {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const version = (value as Record<symbol, unknown>)[SOURCE_KEY];
  return typeof version === 'string' ? version : undefined;
};

export interface CreateSourceContextInput {
  /** Raw options (from config or a test); parsed with the source's schema. */
  readonly options: unknown;
  /** The name errors and logs carry (the runner passes `source`); default: the source's name. */
  readonly label?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  readonly httpOverrides?: Partial<Parameters<typeof createHttpClient>[0]>;
}

/**
 * Builds the `ctx` a source's methods receive: parsed options (a ConfigError naming the key when
 * they are wrong) and an HTTP client that knows the source's rate limits and secrets.
 */
export const createSourceContext = <Schema extends z.ZodType>(
  source: AsyncSource<Schema>,
  input: CreateSourceContextInput,
): SourceContext<z.output<Schema>> => {
  const label = input.label ?? source.name;
  const options = parseOptions(label, source.options, input.options);
  const limits = source.limits?.(options) ?? {};
  const logger = input.logger ?? silentLogger;
  const signal = input.signal ?? new AbortController().signal;
  const http = createHttpClient({
    destination: label,
    secrets: collectSecrets(source.options, options),
    logger,
    signal,
    ...(limits.requestsPerSecond === undefined ? {} : { requestsPerSecond: limits.requestsPerSecond }),
    ...(limits.maxConcurrentRequests === undefined ? {} : { maxConcurrent: limits.maxConcurrentRequests }),
    ...input.httpOverrides,
  });
  return { destination: label, options, http, logger, signal };
};
