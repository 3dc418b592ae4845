import type { ProfileChange } from '@ferry/core';
import type { DestinationSummary } from '../summary.ts';
import type { LaneState } from './lane-state.ts';
import type { Planner } from './plan.ts';

/*
 * Mirror mode, planned once the source was read to the end: profiles the destination confirmed
 * that this run did not read are deleted — unless the safety checks refuse (the plugin cannot
 * delete, the read was incomplete, unreadable rows may hide them, or too many would go).
 */

const MIRROR_PAGE = 1000;

export const planMirrorDeletes = async (
  lane: LaneState,
  planner: Planner,
  end: { readonly sourceComplete: boolean; readonly rowsWithoutId: number },
): Promise<DestinationSummary['mirror']> => {
  const { destination, plugin, run, prefix, counters, plannedOf } = lane;
  if (destination.mode !== 'mirror' || lane.stopped() || lane.stalled()) return undefined;
  const { store, runId } = run;
  const { confirmed, unseen } = await store.countConfirmed(lane.key, runId);
  const fraction = confirmed === 0 ? 0 : unseen / confirmed;
  let refusal: string | undefined;
  if (!plugin.capabilities.delete) refusal = `${plugin.displayName} cannot delete profiles`;
  else if (!end.sourceComplete) refusal = 'the source was not read to the end';
  else if (end.rowsWithoutId > 0 && unseen > 0) {
    refusal = `${end.rowsWithoutId} bad rows had no readable id, so any of the ${unseen} absent profiles may still be in the source`;
  } else if (unseen > 0 && fraction > destination.maxDeleteFraction && !run.force) {
    refusal =
      `${unseen} of ${confirmed} profiles (${(fraction * 100).toFixed(1)}%) are absent from the source, more than ` +
      `maxDeleteFraction ${(destination.maxDeleteFraction * 100).toFixed(1)}%; check the source, or run with --force`;
  }
  const refused = refusal !== undefined && unseen > 0;
  const summary: NonNullable<DestinationSummary['mirror']> = {
    confirmed,
    absent: unseen,
    maxDeleteFraction: destination.maxDeleteFraction,
    refused,
    ...(refused ? { reason: `${prefix} mirror deletes refused: ${refusal}` } : {}),
  };
  if (unseen === 0) return summary;
  if (refused) {
    run.logger.error(summary.reason ?? '');
    return summary;
  }
  if (run.dryRun) {
    counters.deletesQueued += unseen;
    return summary;
  }
  const pages = async function* deletes(): AsyncGenerator<ProfileChange> {
    let after: string | undefined;
    for (;;) {
      const page = await store.unseenConfirmed(lane.key, runId, after, MIRROR_PAGE);
      if (page.length === 0) return;
      for (const { profileId, identity } of page) {
        const change: ProfileChange = { kind: 'delete', profileId, identity };
        plannedOf.set(change, { change, fingerprint: null, attempts: 0 });
        yield change;
      }
      after = page.at(-1)?.profileId;
    }
  };
  await planner.pack(pages());
  return summary;
};
