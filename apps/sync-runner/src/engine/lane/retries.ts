import type { LaneState } from './lane-state.ts';
import type { Planner } from './plan.ts';

/*
 * Retry planning: profiles in `retry_wait` whose backoff ended are packed into new jobs from the
 * change the store kept. While jobs are running more may come due; retries due later than
 * `maxRetryWaitMs` are left for the next run rather than keeping the process alive.
 */

export const planRetries = async (lane: LaneState, planner: Planner): Promise<void> => {
  const { run, settings, plannedOf } = lane;
  if (run.dryRun) return;
  const { store, clock } = run;
  const batch = Math.min(50_000, (lane.limits?.maxProfilesPerJob ?? 1000) * lane.maxJobsInFlight);
  while (!lane.stopped() && !lane.stalled()) {
    const due = await store.dueRetries(lane.key, clock.now(), batch);
    if (due.length > 0) {
      for (const member of due) plannedOf.set(member.change, member);
      await planner.pack(due.map((member) => member.change));
      continue;
    }
    if (lane.active.size > 0) {
      await lane.changed();
      continue;
    }
    const next = await store.nextRetryAt(lane.key);
    if (next === undefined || next - clock.now() > settings.maxRetryWaitMs) return;
    await clock.sleep(next - clock.now(), lane.signal).catch(() => undefined);
  }
};
