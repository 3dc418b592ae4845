import { rm } from 'node:fs/promises';
import type { Logger } from '@ferry/core';
import type { SourceConfig } from '../config/schema.ts';
import type { Engine } from '../engine/engine.ts';
import { readSource } from '../source/index.ts';
import type { SourceItem } from '../source/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { configuredSource } from '../wiring/config-source.ts';
import type { RunFeeds } from './run-feeds.ts';
import type { RunTrigger, ServiceRunOptions } from './run-view.ts';
import { type StoredUpload, uploadPath, uploadSource } from './uploads.ts';

/*
 * Starts runs for the API and, at start-up, takes over the runs a dead service left: a run's
 * source is the configured one or its upload, found again from the run's recorded options. An
 * upload is removed once its run has ended.
 */

export interface Launcher {
  readonly start: (request: {
    readonly destinations?: readonly string[];
    readonly dryRun: boolean;
    readonly full: boolean;
    readonly upload?: StoredUpload;
    /** Default `api`. */
    readonly trigger?: RunTrigger;
    /** Where the run's completion callback goes (recorded with the run, so it survives a crash). */
    readonly callbackUrl?: string;
    /** The request's Idempotency-Key, recorded with the run: a retry after a crash finds the run. */
    readonly idempotency?: { readonly tokenId: string; readonly key: string };
  }) => Promise<string>;
  /** Takes over every `running` run no live process drives; returns their ids. */
  readonly resumeAll: () => Promise<string[]>;
  /** Runs started or resumed here that have not ended. */
  readonly active: () => number;
}

export const createLauncher = (services: {
  readonly engine: Engine;
  readonly store: StateStore;
  readonly source: SourceConfig;
  readonly uploadsDir: string;
  readonly feeds: RunFeeds;
  readonly logger: Logger;
  /** A run started or taken over here ended (its row says how). */
  readonly onEnded?: (runId: string) => Promise<void>;
}): Launcher => {
  const { engine, feeds, logger } = services;
  const running = new Set<string>();
  // The configured source (an export source reads through the store); uploads are files.
  const configured = configuredSource(services.source, { store: services.store, logger });
  const sourceOf = (upload: ServiceRunOptions['upload']): AsyncIterable<SourceItem[]> =>
    upload === undefined
      ? configured.open()
      : readSource(
          uploadSource(services.source, uploadPath(services.uploadsDir, upload.file), upload.format),
        );

  const watch = (runId: string, upload: ServiceRunOptions['upload']): void => {
    running.add(runId);
    void engine
      .waitForRun(runId)
      .catch((error: unknown) =>
        logger.error(`[ferry] run ${runId} ended in error`, { error: String(error) }),
      )
      .finally(async () => {
        running.delete(runId);
        try {
          await services.onEnded?.(runId);
        } catch (error) {
          logger.error(`[ferry] could not record the end of run ${runId}`, { error: String(error) });
        }
        if (upload !== undefined) await rm(uploadPath(services.uploadsDir, upload.file), { force: true });
      });
  };

  return {
    start: async (request) => {
      const upload =
        request.upload === undefined
          ? undefined
          : { file: request.upload.file, format: request.upload.format };
      const { runId } = await engine.startRun({
        source: sourceOf(upload),
        ...(request.destinations === undefined ? {} : { destinations: request.destinations }),
        dryRun: request.dryRun,
        full: request.full,
        runOptions: {
          service: true,
          trigger: request.trigger ?? 'api',
          ...(upload === undefined ? {} : { upload }),
          ...(upload === undefined ? {} : { upload }),
          ...(request.callbackUrl === undefined ? {} : { callbackUrl: request.callbackUrl }),
          ...(request.idempotency === undefined ? {} : { idempotency: request.idempotency }),
        },
      });
      feeds.follow(runId);
      watch(runId, upload);
      return runId;
    },
    resumeAll: async () => {
      const taken: string[] = [];
      for (const run of await services.store.listRuns(1000, { status: 'running' })) {
        const { upload } = (run.options ?? {}) as ServiceRunOptions;
        try {
          feeds.follow(run.id);
          const ids = await engine.resumeRuns({ runId: run.id, source: () => sourceOf(upload) });
          for (const id of ids) {
            watch(id, upload);
            taken.push(id);
          }
        } catch (error) {
          // Driven by a live process, or not resumable here: say so and go on with the others.
          logger.warn(`[ferry] did not take over run ${run.id}: ${String(error)}`);
        }
      }
      return taken;
    },
    active: () => running.size,
  };
};
