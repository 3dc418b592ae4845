import type { ConformanceHarness, HeldProfiles } from '@ferry/core/testing';
import { type RunningSandbox, startSandbox } from '@ferry/sandbox';

/** The local SendGrid emulator for integration and conformance tests (real HTTP on loopback). */

export const SANDBOX_KEY = 'SG.sandbox-test-key';
export const LIST_NEWSLETTER = '3f9c1a52-7c1e-4d5e-9a0b-1c2d3e4f5a6b';
export const LIST_CUSTOMERS = '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586';

export interface Sandbox {
  readonly running: RunningSandbox;
  readonly url: string;
  readonly get: <T = Record<string, unknown>>(path: string) => Promise<T>;
  readonly put: (path: string, body: unknown) => Promise<void>;
  readonly reset: () => Promise<void>;
  /** The contact the sandbox holds for an e-mail, as its search endpoint shows it. */
  readonly contact: (email: string) => Promise<SandboxContact | undefined>;
  readonly stats: () => Promise<{
    requests: Record<string, number>;
    total: number;
    faultsFired: Record<string, number>;
  }>;
  readonly close: () => Promise<void>;
}

export interface SandboxContact {
  readonly id: string;
  readonly email: string;
  readonly list_ids: string[];
  readonly custom_fields: Record<string, unknown>;
  readonly [field: string]: unknown;
}

export const startSendgridSandbox = async (
  sendgrid: Record<string, unknown> = {},
  timing: { startDelayMs?: number; recordsPerSecond?: number } = {},
): Promise<Sandbox> => {
  const running = await startSandbox({
    eloqua: false,
    startDelayMs: 0,
    recordsPerSecond: Number.POSITIVE_INFINITY,
    ...timing,
    sendgrid: {
      apiKey: SANDBOX_KEY,
      customFields: [
        { name: 'notes', field_type: 'Text' },
        { name: 'score', field_type: 'Number' },
        { name: 'birthday', field_type: 'Date' },
      ],
      lists: [
        { id: LIST_NEWSLETTER, name: 'Newsletter' },
        { id: LIST_CUSTOMERS, name: 'Customers' },
      ],
      ...sendgrid,
    },
  });
  const url = running.sendgrid?.url;
  if (url === undefined) throw new Error('the SendGrid sandbox did not start');
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    if (!response.ok) throw new Error(`sandbox ${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  const send = async (method: string, path: string, body?: unknown): Promise<void> => {
    const response = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!response.ok)
      throw new Error(`sandbox ${method} ${path}: HTTP ${response.status}: ${await response.text()}`);
  };
  return {
    running,
    url,
    get,
    put: (path, body) => send('PUT', path, body),
    reset: () => send('POST', '/__sandbox/reset'),
    contact: async (email) => {
      const found = await get<{ contacts: SandboxContact[] }>(
        `/__sandbox/contacts?email=${encodeURIComponent(email)}`,
      );
      // The inspection route also matches alternate e-mails; the harness wants the primary one.
      return found.contacts.find((contact) => contact.email === email.toLowerCase());
    },
    stats: () => get('/__sandbox/stats'),
    close: () => running.close(),
  };
};

/** Reserved fields are read back by name; custom fields come keyed by name in `custom_fields`. */
export const readHeld = async (sandbox: Sandbox, identities: readonly string[]): Promise<HeldProfiles> => {
  const held: Record<string, { fields: Record<string, unknown>; lists: string[] } | undefined> = {};
  for (const identity of identities) {
    const contact = await sandbox.contact(identity);
    held[identity] =
      contact === undefined
        ? undefined
        : { fields: { ...contact, ...contact.custom_fields }, lists: contact.list_ids };
  }
  return held;
};

/**
 * The conformance harness against one shared sandbox: reset before each case, faults through the
 * sandbox's own fault rules, HTTP retries off so faults reach the plugin (the kit's advice).
 */
export const sandboxHarness = (
  sandbox: () => Sandbox,
  options: Record<string, unknown>,
  extra: Partial<ConformanceHarness> = {},
): ConformanceHarness => ({
  options: () => ({ apiKey: SANDBOX_KEY, baseUrl: sandbox().url, ...options }),
  read: (identities) => readHeld(sandbox(), identities),
  context: () => ({ httpOverrides: { retries: 0, rateLimitRetries: 0 } }),
  beforeEach: () => sandbox().reset(),
  faults: {
    failNextStatusChecks: (count) =>
      sandbox().running.sendgrid?.server.faults.add({
        endpoint: 'sendgrid.importStatus',
        kind: 'unavailable',
        count,
      }),
    forgetJob: () =>
      sandbox().running.sendgrid?.server.faults.add({
        endpoint: 'sendgrid.importStatus',
        kind: 'vanish',
        count: 1,
      }),
    rateLimit: (count) =>
      sandbox().running.sendgrid?.server.faults.add({
        endpoint: '*',
        kind: 'rate_limit',
        count,
        retryAfterSeconds: 0.2,
      }),
  },
  ...extra,
});
