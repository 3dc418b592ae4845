import {
  type Clock,
  ConfigError,
  createContext,
  type FieldValue,
  type Logger,
  systemClock,
} from '@ferry/core';
import type { SyncDestination } from '../engine/types.ts';
import { fingerprint } from '../mapping/fingerprint.ts';
import { downloadExport, finishExport, storedExportItems } from '../source/export.ts';
import type { SourceItem, SourceValue } from '../source/types.ts';
import type { StateStore } from '../store/state-store.ts';
import { wireExportSource } from '../wiring/config-source.ts';

/*
 * `ferry reconcile <destination>`: export what the vendor holds (the destination plugin's read-back
 * source, downloaded through the store like any export source), and compare it with what Ferry
 * confirmed there:
 *   - **missing**: confirmed by the destination, not at the vendor any more;
 *   - **changed**: at the vendor with other values than the ones Ferry confirmed, field by field.
 *     Ferry keeps a fingerprint of what was confirmed, not the values, so the values come from the
 *     source: a profile is compared only when the source still maps to exactly the confirmed
 *     fingerprint (otherwise the next sync sends it anyway, and it is counted as `unsynced`);
 *   - **unknown**: at the vendor, but no profile Ferry confirmed there has its identity.
 * `fix` forgets the confirmations of the missing and changed profiles, so the next sync sends them.
 */

export type DriftKind = 'missing' | 'changed' | 'unknown';

export interface FieldDrift {
  readonly field: string;
  /** What Ferry confirmed (from the source, under the confirmed fingerprint). */
  readonly ferry: FieldValue;
  /** What the vendor holds. */
  readonly vendor: SourceValue;
}

export interface Drift {
  readonly kind: DriftKind;
  readonly identity: string;
  /** The profile, for `missing` and `changed`. */
  readonly profileId?: string;
  /** For `changed`: the fields that differ. */
  readonly fields?: readonly FieldDrift[];
}

export interface ReconcileReport {
  readonly destination: string;
  /** Contacts the vendor's export held. */
  readonly vendorRecords: number;
  /** Profiles the destination confirmed, in Ferry's state. */
  readonly confirmed: number;
  /** Confirmed profiles compared field by field. */
  readonly compared: number;
  /**
   * Confirmed profiles not compared field by field — their source changed since (the next sync sends
   * them) or they left the source — whose presence at the vendor was checked only.
   */
  readonly unsynced: number;
  readonly counts: Readonly<Record<DriftKind, number>>;
  readonly drift: readonly Drift[];
  /** With `fix`: profiles re-queued for the next sync. */
  readonly requeued?: number;
}

export interface ReconcileRequest {
  readonly store: StateStore;
  readonly destination: SyncDestination;
  /** The destination fields the config maps (what the vendor is asked to export). */
  readonly fields: readonly string[];
  /** How long to wait for the vendor to prepare the export. */
  readonly deadlineMs: number;
  /** The configured source, read once (its records give the values Ferry confirmed). */
  readonly source: AsyncIterable<SourceItem | readonly SourceItem[]>;
  readonly fix: boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Called with the vendor export's progress (records stored so far). */
  readonly onProgress?: (rows: number, total: number | null) => void;
}

const PAGE = 1000;
const identityKey = (identity: string): string => identity.trim().toLowerCase();

const text = (value: FieldValue | SourceValue | undefined): string =>
  value === null || value === undefined
    ? ''
    : value instanceof Date
      ? value.toISOString()
      : String(value).trim();

/** Whether the vendor's value is the confirmed one, as far as the vendor's text can say. */
export const sameValue = (ferry: FieldValue, vendor: SourceValue | undefined): boolean => {
  if (text(ferry) === text(vendor)) return true;
  if (typeof ferry === 'number' && vendor !== null && vendor !== undefined && String(vendor).trim() !== '')
    return Number(vendor) === ferry;
  if (typeof ferry === 'boolean') return String(vendor).trim().toLowerCase() === String(ferry);
  if (ferry instanceof Date) {
    const parsed = Date.parse(String(vendor));
    return !Number.isNaN(parsed) && parsed === ferry.getTime();
  }
  return false;
};

async function* flatten(
  source: AsyncIterable<SourceItem | readonly SourceItem[]>,
): AsyncGenerator<SourceItem[]> {
  for await (const chunk of source) yield Array.isArray(chunk) ? [...chunk] : [chunk as SourceItem];
}

export const reconcile = async (request: ReconcileRequest): Promise<ReconcileReport> => {
  const { store, destination } = request;
  const clock = request.clock ?? systemClock;
  const plugin = destination.plugin;
  const readBack = plugin.readBack;
  if (readBack === undefined)
    throw new ConfigError(
      destination.key,
      `${plugin.displayName} cannot read back what it holds, so it cannot be reconciled`,
    );
  // The destination's options, parsed as a sync parses them; the read-back source's from those.
  const destinationCtx = createContext(plugin, { options: destination.options });
  const wired = wireExportSource(readBack.source, readBack.options(destinationCtx.options, request.fields), {
    label: `reconcile:${destination.key}`,
    ...(request.logger === undefined ? {} : { logger: request.logger }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
  });
  const identityField = readBack.identityField(destinationCtx.options);
  const exportOptions = {
    store,
    source: wired.plugin,
    ctx: wired.ctx,
    key: `reconcile:${destination.key}`,
    deadlineMs: request.deadlineMs,
    clock,
    ...(request.logger === undefined ? {} : { logger: request.logger }),
    ...(request.signal === undefined ? {} : { signal: request.signal }),
    ...(request.onProgress === undefined ? {} : { onPage: request.onProgress }),
  };

  // 1. What the vendor holds, by identity (one entry per vendor contact).
  const exported = await downloadExport(exportOptions);
  const vendor = new Map<string, Readonly<Record<string, SourceValue>>>();
  for await (const items of storedExportItems(store, exported, identityField))
    for (const item of items) if (item.kind === 'record') vendor.set(identityKey(item.id), item.record);

  const drift: Drift[] = [];
  const known = new Set<string>();
  const checked = new Set<string>();
  let compared = 0;
  let unsynced = 0;

  // 2. Confirmed profiles still in the source: compared field by field when the source maps to the
  //    confirmed fingerprint.
  const keepLists = plugin.capabilities.lists;
  for await (const items of flatten(request.source)) {
    const records = items.filter((item) => item.kind === 'record');
    const states = await store.getProfileStates(
      destination.key,
      records.map((item) => item.id),
    );
    for (const item of records) {
      const state = states.get(item.id);
      if (state?.status !== 'exported' || state.confirmedFingerprint === null || checked.has(item.id))
        continue;
      const mapped = destination.map(item.record);
      if (!mapped.ok) continue;
      const lists =
        keepLists &&
        mapped.lists !== undefined &&
        (mapped.lists.add.length > 0 || mapped.lists.remove.length > 0)
          ? mapped.lists
          : undefined;
      if (fingerprint(mapped.fields, lists) !== state.confirmedFingerprint) continue;
      checked.add(item.id);
      known.add(identityKey(mapped.identity));
      const held = vendor.get(identityKey(mapped.identity));
      if (held === undefined) {
        drift.push({ kind: 'missing', identity: mapped.identity, profileId: item.id });
        continue;
      }
      compared += 1;
      const differing: FieldDrift[] = [];
      for (const [field, value] of Object.entries(mapped.fields)) {
        const theirs = held[field];
        const same =
          field === identityField
            ? identityKey(text(value)) === identityKey(text(theirs))
            : sameValue(value, theirs);
        if (!same) differing.push({ field, ferry: value, vendor: theirs ?? null });
      }
      if (differing.length > 0)
        drift.push({ kind: 'changed', identity: mapped.identity, profileId: item.id, fields: differing });
    }
  }

  // 3. Every confirmed profile: presence at the vendor for those not compared above.
  let confirmed = 0;
  for (let after: string | undefined; ; ) {
    const page = await store.listConfirmed(destination.key, after, PAGE);
    for (const profile of page) {
      confirmed += 1;
      known.add(identityKey(profile.identity));
      if (checked.has(profile.profileId)) continue;
      unsynced += 1;
      if (!vendor.has(identityKey(profile.identity)))
        drift.push({ kind: 'missing', identity: profile.identity, profileId: profile.profileId });
    }
    if (page.length < PAGE) break;
    after = page.at(-1)?.profileId;
  }

  // 4. At the vendor, unknown to Ferry.
  for (const [key, record] of vendor) {
    if (!known.has(key)) drift.push({ kind: 'unknown', identity: String(record[identityField] ?? key) });
  }

  await finishExport(exportOptions, exported);
  const order: Record<DriftKind, number> = { missing: 0, changed: 1, unknown: 2 };
  drift.sort((a, b) => order[a.kind] - order[b.kind] || a.identity.localeCompare(b.identity));
  const counts = { missing: 0, changed: 0, unknown: 0 };
  for (const entry of drift) counts[entry.kind] += 1;

  let requeued: number | undefined;
  if (request.fix) {
    const ids = drift.flatMap((entry) => (entry.profileId === undefined ? [] : [entry.profileId]));
    requeued = await store.forgetConfirmed(destination.key, ids, clock.now());
  }
  return {
    destination: destination.key,
    vendorRecords: vendor.size,
    confirmed,
    compared,
    unsynced,
    counts,
    drift,
    ...(requeued === undefined ? {} : { requeued }),
  };
};
