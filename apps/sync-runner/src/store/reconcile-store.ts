/*
 * What `ferry reconcile` reads and changes in the state: the profiles a destination confirmed, and
 * forgetting a confirmation so the next sync sends the profile again (`--fix`).
 */

export interface ConfirmedProfile {
  readonly profileId: string;
  readonly identity: string;
  readonly confirmedFingerprint: string;
}

export interface ReconcileStore {
  /** Profiles `exported` at the destination, by profile id, after `afterProfileId`. */
  readonly listConfirmed: (
    destination: string,
    afterProfileId: string | undefined,
    limit: number,
  ) => Promise<ConfirmedProfile[]>;
  /**
   * Forgets what the destination confirmed for these profiles (only those still `exported`), so the
   * next sync's diff sends them again. Returns how many were changed.
   */
  readonly forgetConfirmed: (
    destination: string,
    profileIds: readonly string[],
    at: number,
  ) => Promise<number>;
}
