import { openEngine } from './engine.ts';
import type { RunSummary } from './summary.ts';
import type { SyncRequest } from './types.ts';

/*
 * One sync from start to end in this process: open an engine, start the run, wait for it, close.
 * What `ferry sync` does; the service keeps one engine open instead.
 */

/**
 * Runs one sync and returns its summary. Throws only when the run cannot be recorded at all (the
 * store failed) or a destination stayed busy longer than `destinationWaitMs`; every other problem
 * is in the summary and its exit code.
 */
export const runSync = async (request: SyncRequest): Promise<RunSummary> => {
  const engine = openEngine({
    store: request.store,
    destinations: request.destinations,
    ...(request.settings === undefined ? {} : { settings: request.settings }),
    ...(request.clock === undefined ? {} : { clock: request.clock }),
    ...(request.logger === undefined ? {} : { logger: request.logger }),
    ...(request.random === undefined ? {} : { random: request.random }),
    ...(request.callbacks === undefined ? {} : { callbacks: request.callbacks }),
  });
  try {
    const { runId } = await engine.startRun({
      source: request.source,
      ...(request.dryRun === undefined ? {} : { dryRun: request.dryRun }),
      ...(request.full === undefined ? {} : { full: request.full }),
      ...(request.force === undefined ? {} : { force: request.force }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.runOptions === undefined ? {} : { runOptions: request.runOptions }),
    });
    const stop =
      request.onProgress === undefined
        ? () => undefined
        : engine.subscribe(runId, (event) => {
            if (event.type === 'progress') request.onProgress?.(event.progress);
          });
    try {
      return await engine.waitForRun(runId);
    } finally {
      stop();
    }
  } finally {
    await engine.close();
  }
};
