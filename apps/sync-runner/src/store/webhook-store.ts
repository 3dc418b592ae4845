/*
 * `ferry serve`'s completion webhooks in the state store: endpoints, and the outbox of deliveries
 * that a dispatcher sends and retries (at least once, the same `webhook-id` every time).
 */

export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly createdAt: number;
  readonly disabledAt: number | null;
  readonly disabledReason: string | null;
}

export interface DeliveryAttempt {
  readonly at: number;
  /** The HTTP status, or null when there was no answer (refused, timed out). */
  readonly status: number | null;
  readonly error: string | null;
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
}

export interface DueDelivery extends WebhookDelivery {
  readonly url: string;
  readonly secret: string;
  readonly payload: string;
}

export interface WebhookStore {
  readonly createWebhookEndpoint: (endpoint: {
    id: string;
    url: string;
    secret: string;
    createdAt: number;
  }) => Promise<void>;
  readonly listWebhookEndpoints: () => Promise<WebhookEndpoint[]>;
  readonly deleteWebhookEndpoint: (id: string) => Promise<boolean>;
  readonly disableWebhookEndpoint: (id: string, at: number, reason: string) => Promise<void>;
  /**
   * Puts a delivery of the run's event in the outbox for every enabled endpoint created before
   * `endedAt`, once per endpoint and run whatever the number of calls; returns how many were new.
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
}
