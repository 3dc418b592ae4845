import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Destination } from '@ferry/core';
import { memory, readMemoryStore, resetMemoryStore } from '@ferry/plugin-memory';
import type { EngineSettings } from '../../src/engine/settings.ts';
import type { SyncDestination, SyncRequest } from '../../src/engine/types.ts';
import type { MapResult } from '../../src/mapping/compile.ts';
import type { SourceItem, SourceRecord } from '../../src/source/types.ts';
import { openStateStore } from '../../src/store/open-store.ts';
import type { StateStore } from '../../src/store/state-store.ts';

/** Short waits everywhere, so jobs settle in milliseconds. */
export const fastSettings: Partial<EngineSettings> = {
  chunkSize: 50,
  firstCheckDelayMs: 5,
  maxCheckIntervalMs: 40,
  retryBaseMs: 5,
  retryMaxMs: 20,
  maxRetryWaitMs: 2000,
};

export interface Person {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly city?: string;
}

export const people = (count: number, from = 0): Person[] =>
  Array.from({ length: count }, (_, index) => {
    const n = index + from;
    return { id: `p${String(n).padStart(5, '0')}`, email: `person${n}@example.com`, firstName: `Name${n}` };
  });

let row = 1;
/** Source items for people, with rows numbered like a CSV after its header. */
export const recordsOf = (list: readonly Person[]): SourceItem[] => {
  row = 1;
  return list.map((person) => {
    row += 1;
    const record: SourceRecord = {
      id: person.id,
      email: person.email,
      first_name: person.firstName,
      city: person.city ?? null,
    };
    return { kind: 'record', row, line: row, id: person.id, record };
  });
};

export const sourceOf = async function* (items: readonly SourceItem[]): AsyncGenerator<SourceItem> {
  for (const item of items) yield item;
};

/** A stand-in mapping: e-mail → identity, first_name and city → fields; an empty e-mail fails. */
export const mapPerson = (record: SourceRecord): MapResult => {
  const email = record.email;
  if (typeof email !== 'string' || email === '')
    return { ok: false, field: 'email', reason: 'email is empty' };
  const fields: Record<string, string | null> = { firstName: String(record.first_name ?? '') };
  if (record.city !== null && record.city !== undefined) fields.city = String(record.city);
  return { ok: true, identity: email, fields };
};

export interface MemoryFixture {
  readonly namespace: string;
  readonly dir: string;
  readonly statePath: string;
  readonly open: () => Promise<StateStore>;
  readonly destination: (
    overrides?: Partial<SyncDestination> & { options?: Record<string, unknown> },
  ) => SyncDestination;
  readonly request: (
    store: StateStore,
    items: readonly SourceItem[],
    overrides?: Partial<SyncRequest> & {
      destination?: Partial<SyncDestination> & { options?: Record<string, unknown> };
    },
  ) => SyncRequest;
  readonly held: () => ReturnType<typeof readMemoryStore>['contacts'];
  /** exportProfiles calls made so far through `destination()`. */
  readonly exportCalls: () => number;
  readonly dispose: () => void;
}

/** The memory plugin, counting its export calls (the vendor forgets imports once they are cleaned up). */
const countingMemory = (counter: { exports: number }): Destination => {
  const plugin = memory as unknown as Destination;
  return {
    ...plugin,
    exportProfiles: async (ctx, batch) => {
      counter.exports += 1;
      return plugin.exportProfiles(ctx, batch);
    },
  };
};

let fixtures = 0;

/** A temp dir with a state file, and a fresh memory-vendor namespace. */
export const memoryFixture = (baseOptions: Record<string, unknown> = {}): MemoryFixture => {
  fixtures += 1;
  const namespace = `engine-${process.pid}-${fixtures}-${Math.random().toString(36).slice(2, 8)}`;
  resetMemoryStore(namespace);
  const dir = mkdtempSync(join(tmpdir(), 'ferry-engine-'));
  const statePath = join(dir, '.ferry', 'state.db');
  const counter = { exports: 0 };
  const plugin = countingMemory(counter);
  const destination: MemoryFixture['destination'] = (overrides = {}) => {
    const { options, ...rest } = overrides;
    return {
      key: 'mem',
      plugin,
      options: {
        namespace,
        apiKey: 'test-api-key-123',
        processing: { perJobMs: 5 },
        limits: { maxProfilesPerJob: 20, maxJobsInFlight: 2 },
        ...baseOptions,
        ...options,
      },
      mode: 'upsert',
      maxDeleteFraction: 0.5,
      map: mapPerson,
      ...rest,
    };
  };
  return {
    namespace,
    dir,
    statePath,
    open: () => openStateStore({ location: statePath }),
    destination,
    request: (store, items, overrides = {}) => {
      const { destination: destinationOverrides, settings, ...rest } = overrides;
      return {
        store,
        source: sourceOf(items),
        destinations: [destination(destinationOverrides)],
        settings: { ...fastSettings, ...settings },
        ...rest,
      };
    },
    held: () => readMemoryStore(namespace).contacts,
    exportCalls: () => counter.exports,
    dispose: () => {
      resetMemoryStore(namespace);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** The vendor's contacts as `email → firstName`, sorted, for comparisons. */
export const heldNames = (contacts: ReturnType<MemoryFixture['held']>): Record<string, unknown> =>
  Object.fromEntries(
    [...contacts]
      .sort((a, b) => a.email.localeCompare(b.email))
      .map((contact) => [contact.email, contact.fields.firstName]),
  );

export const expectedNames = (list: readonly Person[]): Record<string, unknown> =>
  Object.fromEntries(
    [...list]
      .sort((a, b) => a.email.localeCompare(b.email))
      .map((person) => [person.email, person.firstName]),
  );

/** Every profile's status at the destination `mem`. */
export const statusCounts = async (store: StateStore): Promise<Record<string, number>> =>
  Object.fromEntries((await store.profileCounts('mem')).map((row) => [row.key, row.count]));
