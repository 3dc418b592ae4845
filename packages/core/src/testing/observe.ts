import type { Destination, DestinationContext, JobHandle, JobMember } from '../contract.ts';
import type { HttpBody, HttpClient } from '../http/types.ts';
import type { LogFields, Logger } from '../logger.ts';

/*
 * What the conformance kit sees of a destination while a case runs: every handle, outcome, thrown
 * error and log line it produced (to look for secrets in), the requests it made through ctx.http
 * (to count them and size their bodies), and the secrets of every context it was given. The kit
 * wraps the destination and its contexts once; the recorder is cleared at the start of each case.
 */

export interface Artifact {
  /** Where the text came from, for the failure message: `handle from exportProfiles`, `log line`... */
  readonly where: string;
  readonly text: string;
}

export interface Recorder {
  readonly secrets: Set<string>;
  readonly artifacts: Artifact[];
  /** Requests made through ctx.http. */
  httpRequests: number;
  /** Body size of each request made through ctx.http with a string, byte or JSON body, in order. */
  readonly requestBodyBytes: number[];
  readonly reset: () => void;
  readonly record: (where: string, value: unknown) => void;
}

const describeError = (error: unknown): string => {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message, error.stack ?? ''];
  try {
    parts.push(JSON.stringify(error));
  } catch {
    // Circular details: the message and stack are what users see anyway.
  }
  if (error.cause !== undefined) parts.push(describeError(error.cause));
  return parts.join('\n');
};

const textOf = (value: unknown): string => {
  if (value instanceof Error) return describeError(value);
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

export const createRecorder = (): Recorder => {
  const recorder: Recorder = {
    secrets: new Set(),
    artifacts: [],
    httpRequests: 0,
    requestBodyBytes: [],
    reset: () => {
      recorder.secrets.clear();
      recorder.artifacts.length = 0;
      recorder.httpRequests = 0;
      recorder.requestBodyBytes.length = 0;
    },
    record: (where, value) => {
      recorder.artifacts.push({ where, text: textOf(value) });
    },
  };
  return recorder;
};

/** A logger that records every line (message and fields) and passes it on. */
export const recordingLogger = (recorder: Recorder, next: Logger | undefined): Logger => {
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      recorder.record(`${level} log line`, `${message} ${textOf(fields ?? {})}`);
      next?.[level](message, fields);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
};

const bodyBytes = (body: HttpBody | undefined, json: unknown): number | undefined => {
  if (json !== undefined) return Buffer.byteLength(JSON.stringify(json), 'utf8');
  if (body === undefined) return undefined;
  const value = typeof body === 'function' ? body() : body;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (value instanceof Uint8Array) return value.byteLength;
  // A stream: reading it here would consume it; harness.jobBytes is the way to size those.
  return undefined;
};

/** The client the plugin gets: the same one, counting requests and sizing bodies on the way. */
export const recordingHttp = (recorder: Recorder, inner: HttpClient): HttpClient => ({
  request: (request) => {
    recorder.httpRequests += 1;
    // Calling a body factory once more is allowed: the client itself calls it again on every retry.
    const bytes = bodyBytes(request.body, request.json);
    if (bytes !== undefined) recorder.requestBodyBytes.push(bytes);
    return inner.request(request);
  },
  with: (defaults) => recordingHttp(recorder, inner.with(defaults)),
});

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/**
 * The destination as the cases call it: same methods, but results and errors are recorded, and
 * handles and members are handed over frozen copies, as the runner reads them from its store — a
 * plugin that writes into them (a poll counter in the handle) fails at once.
 */
export const observeDestination = <D extends Destination>(destination: D, recorder: Recorder): D => {
  const guard = async <T>(method: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      recorder.record(`error thrown by ${method}`, error);
      throw error;
    }
  };
  const frozen = <T>(value: T): T => deepFreeze(structuredClone(value));
  type Ctx = DestinationContext<unknown>;
  const observed = {
    ...destination,
    verify: (ctx: Ctx, request: Parameters<D['verify']>[1]) =>
      guard('verify', async () => {
        const result = await destination.verify(ctx as never, request);
        recorder.record('verify result', result);
        return result;
      }),
    exportProfiles: (ctx: Ctx, batch: Parameters<D['exportProfiles']>[1]) =>
      guard('exportProfiles', async () => {
        const result = await destination.exportProfiles(ctx as never, batch);
        recorder.record('handle from exportProfiles', result.job);
        recorder.record('submission outcomes', result.rejected);
        return result;
      }),
    checkStatus: (ctx: Ctx, job: JobHandle, members: readonly JobMember[]) =>
      guard('checkStatus', async () => {
        const status = await destination.checkStatus(ctx as never, frozen(job), frozen(members));
        recorder.record('status from checkStatus', status);
        return status;
      }),
    ...(destination.cleanup === undefined
      ? {}
      : {
          cleanup: (ctx: Ctx, job: JobHandle) =>
            guard('cleanup', () =>
              (destination.cleanup as NonNullable<D['cleanup']>)(ctx as never, frozen(job)),
            ),
        }),
  };
  return observed as unknown as D;
};
