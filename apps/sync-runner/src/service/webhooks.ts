import { randomBytes } from 'node:crypto';
import type { Logger } from '@ferry/core';
import { Webhook } from 'standardwebhooks';
import type { RunSummary } from '../engine/summary.ts';
import type { StateStore } from '../store/state-store.ts';
import type { DueDelivery } from '../store/webhook-store.ts';
import { runStateOf } from './run-view.ts';
import { checkWebhookUrl } from './webhook-urls.ts';

/*
 * Completion webhooks in the Standard Webhooks v1 format, from a durable outbox in the store. When
 * a run ends, one delivery per endpoint is written (`run.completed`, `run.completed_with_errors`,
 * `run.failed`, `run.canceled`, a thin body with the run id, counts and links); a dispatcher sends
 * what is due, signed (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC>`),
 * and retries timeouts, refused connections, 5xx and 429 (honouring Retry-After) on a schedule,
 * with the same `webhook-id`. 410 disables the endpoint; other answers end the delivery as failed.
 * At start the outbox is filled for runs that ended while no process could do it (a crash).
 */

/** The Standard Webhooks spec's retry schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

const TICK_MS = 250;
const ATTEMPT_TIMEOUT_MS = 10_000;

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

const EVENT_TYPES = {
  completed: 'run.completed',
  completed_with_errors: 'run.completed_with_errors',
  failed: 'run.failed',
  canceled: 'run.canceled',
} as const;

export interface WebhookDispatcher {
  /** Writes the deliveries of a run that ended (idempotent). */
  readonly runEnded: (runId: string) => Promise<void>;
  /** Fills the outbox for runs that ended recently, then sends what is due, until `stop`. */
  readonly start: () => Promise<void>;
  readonly stop: () => Promise<void>;
}

export const createWebhookDispatcher = (options: {
  readonly store: StateStore;
  readonly logger: Logger;
  readonly retryScheduleMs?: readonly number[];
  readonly allowPrivate?: boolean;
  readonly publicUrl?: string;
}): WebhookDispatcher => {
  const { store, logger } = options;
  const schedule = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const base = options.publicUrl?.replace(/\/$/, '') ?? '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();

  const runEnded: WebhookDispatcher['runEnded'] = async (runId) => {
    const run = await store.getRun(runId);
    // Runs the service started (or took over); a CLI run on the same store sends none.
    if (run === undefined || run.status === 'running' || run.finishedAt === null) return;
    if ((run.options as { service?: boolean } | null)?.service !== true) return;
    const state = runStateOf(run, []);
    const type = EVENT_TYPES[state as keyof typeof EVENT_TYPES] ?? 'run.failed';
    const summary = run.summary as RunSummary | null;
    const self = `${base}/v1/runs/${encodeURIComponent(runId)}`;
    const payload = JSON.stringify({
      type,
      timestamp: new Date(run.finishedAt).toISOString(),
      data: {
        runId,
        status: state,
        exitCode: summary?.exitCode ?? null,
        counts: {
          records: summary?.source.records ?? 0,
          badRows: summary?.source.badRows ?? 0,
          exported: summary?.destinations.reduce((sum, d) => sum + d.exported, 0) ?? 0,
          rejected: summary?.destinations.reduce((sum, d) => sum + d.rejected, 0) ?? 0,
        },
        links: { run: self, records: `${self}/records`, badRows: `${self}/bad-rows` },
      },
    });
    await store.enqueueDeliveries({
      runId,
      type,
      endedAt: run.finishedAt,
      at: Date.now(),
      payload,
      newId: () => `msg_${randomBytes(12).toString('hex')}`,
    });
  };

  const retryAfterMs = (header: string | null): number | undefined => {
    if (header === null) return undefined;
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
  };

  const deliver = async (delivery: DueDelivery): Promise<void> => {
    const at = Date.now();
    const retryAt = (afterMs?: number): number | null => {
      const wait = schedule[delivery.attempts.length];
      return wait === undefined ? null : at + Math.max(wait, afterMs ?? 0);
    };
    let status: number | null = null;
    let error: string | null = null;
    let retryAfter: number | undefined;
    try {
      await checkWebhookUrl(delivery.url, options.allowPrivate ?? false);
      const signature = new Webhook(delivery.secret).sign(delivery.id, new Date(at), delivery.payload);
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ferry-webhooks/1',
          'webhook-id': delivery.id,
          'webhook-timestamp': String(Math.floor(at / 1000)),
          'webhook-signature': signature,
        },
        body: delivery.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      status = response.status;
      retryAfter = retryAfterMs(response.headers.get('retry-after'));
      await response.body?.cancel();
    } catch (cause) {
      error = cause instanceof Error ? cause.message : String(cause);
    }
    const attempt = { at, status, error };
    if (status !== null && status >= 200 && status < 300) {
      await store.recordDeliveryAttempt(delivery.id, attempt, { state: 'delivered', next: null });
      return;
    }
    if (status === 410) {
      await store.recordDeliveryAttempt(delivery.id, attempt, { state: 'failed', next: null });
      await store.disableWebhookEndpoint(delivery.endpointId, at, 'the endpoint answered 410 Gone');
      logger.warn(`[ferry] webhook endpoint ${delivery.endpointId} answered 410: disabled`);
      return;
    }
    const retryable = status === null || status === 429 || status >= 500;
    const next = retryable ? retryAt(status === 429 || status === 503 ? retryAfter : undefined) : null;
    await store.recordDeliveryAttempt(delivery.id, attempt, {
      state: next === null ? 'failed' : 'pending',
      next,
    });
    if (next === null)
      logger.warn(
        `[ferry] webhook ${delivery.id} to endpoint ${delivery.endpointId} failed: ${status ?? error}`,
      );
  };

  const tick = async (): Promise<void> => {
    try {
      for (const delivery of await store.dueDeliveries(Date.now(), 20)) {
        if (stopped) return;
        await deliver(delivery);
      }
    } catch (cause) {
      logger.error('[ferry] webhook dispatch failed', { error: String(cause) });
    }
  };

  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      ticking = tick().finally(loop);
    }, TICK_MS);
  };

  return {
    runEnded,
    start: async () => {
      // Runs that ended while no process wrote their deliveries (the enqueue is once per endpoint and run).
      for (const run of await store.listRuns(200))
        if (run.status !== 'running' && run.finishedAt !== null && Date.now() - run.finishedAt < 86_400_000)
          await runEnded(run.id);
      loop();
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await ticking;
    },
  };
};
