import type { HeldProfiles } from '@ferry/core/testing';
import { type FaultRule, type RunningSandbox, type SandboxOptions, startSandbox } from '@ferry/sandbox';

/** The sandbox's default Basic credentials (ELOQUA_DEFAULTS). */
export const SANDBOX_AUTH = {
  type: 'basic',
  site: 'FerrySandbox',
  username: 'sandbox.user',
  password: 'sandbox-password',
} as const;

/** Lists the sandbox seeds. */
export const SANDBOX_LISTS = ['1001', '1002'] as const;

export interface EloquaSandbox {
  readonly url: string;
  readonly close: () => Promise<void>;
  readonly reset: () => Promise<void>;
  readonly setFaults: (rules: readonly FaultRule[]) => void;
  /** Calls per endpoint id since the last reset, from `/__sandbox/stats`. */
  readonly stats: () => Promise<{ readonly requests: Record<string, number>; readonly total: number }>;
  readonly read: (identities: readonly string[], fieldNames?: readonly string[]) => Promise<HeldProfiles>;
  readonly get: <T>(path: string) => Promise<T>;
}

export const startEloquaSandbox = async (
  eloqua: NonNullable<SandboxOptions['eloqua']> = {},
  common: Omit<SandboxOptions, 'eloqua' | 'sendgrid'> = { zeroDelay: true },
): Promise<EloquaSandbox> => {
  const running: RunningSandbox = await startSandbox({ ...common, sendgrid: false, eloqua });
  const started = running.eloqua;
  if (started === undefined) throw new Error('the Eloqua sandbox did not start');
  const { url, server } = started;
  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    url,
    close: running.close,
    reset: async () => {
      const response = await fetch(`${url}/__sandbox/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`reset: ${response.status}`);
    },
    setFaults: (rules) => server.faults.set(rules),
    stats: () => get('/__sandbox/stats'),
    get,
    /**
     * What the sandbox holds per identity, straight from its inspection route. Empty fields are left
     * out by the sandbox; `fieldNames` are filled in as '' so an empty value compares equal.
     */
    read: async (identities, fieldNames = []) => {
      const held: Record<string, HeldProfiles[string]> = {};
      for (const identity of identities) {
        const response = await fetch(`${url}/__sandbox/contacts?email=${encodeURIComponent(identity)}`);
        if (response.status === 404) {
          held[identity] = undefined;
          continue;
        }
        if (!response.ok) throw new Error(`read ${identity}: ${response.status}`);
        const view = (await response.json()) as { fields: Record<string, string>; listIds: number[] };
        const fields: Record<string, string> = {};
        for (const name of fieldNames) fields[name] = '';
        held[identity] = { fields: { ...fields, ...view.fields }, lists: view.listIds.map(String) };
      }
      return held;
    },
  };
};
