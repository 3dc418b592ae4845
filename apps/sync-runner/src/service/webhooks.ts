import { createHash, randomBytes } from 'node:crypto';
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
 *
 * Endpoints come from the API (their secret in the store), the config (their secret in the config
 * only) and a run's `Ferry-Async-Callback-Url` (signed with the service's callback secret, created
 * by `ferry webhooks secret`); each secret is looked up at each attempt, so a rotation applies to
 * deliveries still pending.
 */

/** The Standard Webhooks spec's retry schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

const TICK_MS = 250;
const ATTEMPT_TIMEOUT_MS = 10_000;

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** The name of the service secret that signs per-run callbacks, in the store's `service_secrets`. */
export const CALLBACK_SECRET = 'callback-signing';

export interface ConfigEndpoint {
  readonly url: string;
  readonly secret: string;
  readonly events?: readonly string[];
}

/** A config endpoint is known by its URL: another URL is another endpoint (the old one is disabled). */
export const configEndpointId = (url: string): string =>
  `wc_${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;

/** The endpoint of a run's `Ferry-Async-Callback-Url`. */
export const runEndpointId = (runId: string): string => `wr_${runId}`;

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
  /** The config's endpoints (`service.webhooks`); their secrets stay in memory, never in the store. */
  readonly configEndpoints?: readonly ConfigEndpoint[];
}): WebhookDispatcher => {
  const { store, logger } = options;
  const configEndpoints = (options.configEndpoints ?? []).map((endpoint) => ({
    ...endpoint,
    id: configEndpointId(endpoint.url),
  }));
  const configSecrets = new Map(configEndpoints.map((endpoint) => [endpoint.id, endpoint.secret]));
  const schedule = options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const base = options.publicUrl?.replace(/\/$/, '') ?? '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();

  const runEnded: WebhookDispatcher['runEnded'] = async (runId) => {
    const run = await store.getRun(runId);
    // Runs the service started (or took over); a CLI run on the same store sends none.
    if (run === undefined || run.status === 'running' || run.finishedAt === null) return;
    const runOptions = run.options as { service?: boolean; callbackUrl?: string } | null;
    if (runOptions?.service !== true) return;
    if (typeof runOptions.callbackUrl === 'string')
      await store.ensureRunEndpoint({
        id: runEndpointId(runId),
        runId,
        url: runOptions.callbackUrl,
        createdAt: run.startedAt,
      });
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

  /** The signing secret of the delivery's endpoint; throws (a failed attempt, retried) when there is none. */
  const secretOf = async (delivery: DueDelivery): Promise<string> => {
    if (delivery.endpointKind === 'api') return delivery.secret;
    if (delivery.endpointKind === 'config') {
      const secret = configSecrets.get(delivery.endpointId);
      if (secret === undefined) throw new Error('the endpoint is no longer in the config');
      return secret;
    }
    const secret = await store.getServiceSecret(CALLBACK_SECRET);
    if (secret === undefined)
      throw new Error('no callback signing secret: create one with `ferry webhooks secret`');
    return secret.value;
  };

  const deliver = async (delivery: DueDelivery): Promise<void> => {
    const at = Date.now();
    const retryAt = (afterMs?: number): number | null => {
      // A redelivery starts the schedule over.
      const wait = schedule[delivery.attempts.length - delivery.attemptsBase];
      return wait === undefined ? null : at + Math.max(wait, afterMs ?? 0);
    };
    let status: number | null = null;
    let error: string | null = null;
    let retryAfter: number | undefined;
    try {
      await checkWebhookUrl(delivery.url, options.allowPrivate ?? false);
      const signature = new Webhook(await secretOf(delivery)).sign(
        delivery.id,
        new Date(at),
        delivery.payload,
      );
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
    const attempt = {
      at,
      status,
      error,
      ...(delivery.attemptsBase > 0 && delivery.attempts.length === delivery.attemptsBase
        ? { redelivery: true as const }
        : {}),
    };
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
      await store.syncConfigEndpoints(
        configEndpoints.map(({ id, url, events }) => ({ id, url, events: events ?? null })),
        Date.now(),
      );
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
