/*
 * `ferry serve`'s completion webhooks in the state store: endpoints, and the outbox of deliveries
 * that a dispatcher sends and retries (at least once, the same `webhook-id` every time).
 */

/**
 * Where an endpoint comes from, which also says where its signing secret is: `api` endpoints keep
 * their own (POST /v1/webhook-endpoints), `config` ones have it in the config (never in the store),
 * `run` ones (a run's `Ferry-Async-Callback-Url`) are signed with the service's callback secret.
 */
export type EndpointKind = 'api' | 'config' | 'run';

export interface WebhookEndpoint {
  readonly id: string;
  readonly kind: EndpointKind;
  readonly url: string;
  /** The event types sent to it; null for all. */
  readonly events: readonly string[] | null;
  readonly createdAt: number;
  readonly disabledAt: number | null;
  readonly disabledReason: string | null;
}

export interface DeliveryAttempt {
  readonly at: number;
  /** The HTTP status, or null when there was no answer (refused, timed out). */
  readonly status: number | null;
  readonly error: string | null;
  /** The first attempt after a `redeliver`. */
  readonly redelivery?: true;
}

export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly runId: string;
  readonly type: string;
  readonly state: 'pending' | 'delivered' | 'failed';
  readonly attempts: readonly DeliveryAttempt[];
  readonly nextAttemptAt: number | null;
  readonly createdAt: number;
  /** Attempts made before the last redelivery; the retry schedule counts from there. */
  readonly attemptsBase: number;
  readonly endpointKind: EndpointKind;
  readonly url: string;
}

export type DueDelivery = WebhookDelivery & { readonly payload: string } & (
    | { readonly endpointKind: 'api'; readonly secret: string }
    | { readonly endpointKind: 'config' | 'run' }
  );

export interface RedeliverResult {
  /** Deliveries made due again, each with its `webhook-id`. */
  readonly redelivered: readonly string[];
  /** Deliveries left alone: their endpoint is disabled. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

export interface WebhookStore {
  readonly createWebhookEndpoint: (endpoint: {
    id: string;
    url: string;
    secret: string;
    createdAt: number;
    events?: readonly string[] | null;
  }) => Promise<void>;
  /** The `api` and `config` endpoints (a run's callback is shown with its deliveries). */
  readonly listWebhookEndpoints: () => Promise<WebhookEndpoint[]>;
  /** Removes an `api` endpoint and its deliveries; false when there is no such `api` endpoint. */
  readonly deleteWebhookEndpoint: (id: string) => Promise<boolean>;
  readonly disableWebhookEndpoint: (id: string, at: number, reason: string) => Promise<void>;
  /**
   * Makes the `config` endpoints these (by id): new ones are added, listed ones enabled again with
   * their URL and events, the others disabled (`removed from the config`), keeping their history.
   */
  readonly syncConfigEndpoints: (
    endpoints: readonly { id: string; url: string; events: readonly string[] | null }[],
    at: number,
  ) => Promise<void>;
  /** Adds the `run` endpoint of a run's callback URL unless it exists. */
  readonly ensureRunEndpoint: (endpoint: {
    id: string;
    runId: string;
    url: string;
    createdAt: number;
  }) => Promise<void>;
  /**
   * Puts a delivery of the run's event in the outbox for every enabled endpoint created before
   * `endedAt` whose events include `type`, and the run's own callback, once per endpoint and run
   * whatever the number of calls; returns how many were new.
   */
  readonly enqueueDeliveries: (delivery: {
    runId: string;
    type: string;
    endedAt: number;
    at: number;
    payload: string;
    newId: () => string;
  }) => Promise<number>;
  /** Pending deliveries due at `now` to enabled endpoints, oldest first. */
  readonly dueDeliveries: (now: number, limit: number) => Promise<DueDelivery[]>;
  /** Appends an attempt; `next` null ends the delivery in `state`. */
  readonly recordDeliveryAttempt: (
    id: string,
    attempt: DeliveryAttempt,
    outcome: { state: 'pending' | 'delivered' | 'failed'; next: number | null },
  ) => Promise<void>;
  readonly listDeliveries: (runId: string) => Promise<WebhookDelivery[]>;
  /**
   * Makes the run's deliveries (or the one with `deliveryId`) due at `at` again, with the same id,
   * the retry schedule starting over; deliveries to a disabled endpoint are skipped.
   */
  readonly redeliver: (runId: string, deliveryId: string | undefined, at: number) => Promise<RedeliverResult>;
  readonly getServiceSecret: (name: string) => Promise<{ value: string; createdAt: number } | undefined>;
  /** Sets (or replaces) a secret of the service. */
  readonly setServiceSecret: (name: string, value: string, at: number) => Promise<void>;
}
