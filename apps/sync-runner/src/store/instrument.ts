import { channel } from 'node:diagnostics_channel';
import type { StateStore } from './state-store.ts';

/*
 * Store writes are published on a diagnostics channel (Node's instrumentation hook, free while
 * nobody subscribes), so tools can watch a sync's durable progress without the engine knowing about
 * them: tracing, or the crash tests, which kill the process at an exact write (test/helpers/
 * crash-preload.ts). The message is published before the write starts.
 */

export const STORE_WRITE_CHANNEL = 'ferry:store:write';

/** The writes that make up the engine's durable progress (lease and lane bookkeeping left out). */
export const STORE_WRITES = [
  'createRun',
  'finishRun',
  'interruptRuns',
  'markSeen',
  'forgetSeen',
  'addBadRows',
  'planJob',
  'addJobMembers',
  'markSubmitting',
  'markSubmitted',
  'recordCheck',
  'settleJob',
  'failJob',
  'requeueJob',
  'recordRejects',
  'requeueProblems',
  'startExport',
  'markExportReady',
  'appendExportPage',
  'markExportDownloaded',
  'dropExport',
  'forgetConfirmed',
  // The service's answer to an Idempotency-Key request, so a test can die between run and answer.
  'saveIdempotentResponse',
] as const satisfies readonly (keyof StateStore)[];

export type StoreWrite = (typeof STORE_WRITES)[number];

export interface StoreWriteMessage {
  readonly write: StoreWrite;
  /** The store's printable location. */
  readonly location: string;
}

const writes = channel(STORE_WRITE_CHANNEL);

/** The store, with every write in STORE_WRITES announced on STORE_WRITE_CHANNEL before it runs. */
export const instrumentStore = (store: StateStore): StateStore => {
  const wrapped: Record<string, unknown> = { ...store };
  for (const name of STORE_WRITES) {
    const original = store[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => {
      if (writes.hasSubscribers)
        writes.publish({ write: name, location: store.location } satisfies StoreWriteMessage);
      return original(...args);
    };
  }
  return wrapped as unknown as StateStore;
};
