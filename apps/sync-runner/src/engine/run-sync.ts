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
  const { source, dryRun, full, force, signal, runOptions, onProgress, ...engineOptions } = request;
  const engine = openEngine(engineOptions);
  try {
    const { runId } = await engine.startRun({
      source,
      ...(dryRun === undefined ? {} : { dryRun }),
      ...(full === undefined ? {} : { full }),
      ...(force === undefined ? {} : { force }),
      ...(signal === undefined ? {} : { signal }),
      ...(runOptions === undefined ? {} : { runOptions }),
    });
    const stop = engine.subscribe(runId, (event) => {
      if (event.type === 'progress') onProgress?.(event.progress);
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
