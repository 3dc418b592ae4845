import type { ProfileStateSummary } from '../../store/state-store.ts';

/**
 * Whether a profile read from the source must be sent, given what the store knows about it.
 * Unchanged profiles cost nothing: the comparison is against what the destination *confirmed*, or
 * against what is already on its way or known to be refused.
 */
export const needsSend = (
  state: ProfileStateSummary | undefined,
  fingerprint: string,
  full: boolean,
): boolean => {
  if (state === undefined) return true;
  switch (state.status) {
    // Already planned or submitted with exactly these values: the job in flight covers it, --full or not.
    case 'pending':
      return state.fingerprint !== fingerprint;
    // The retry phase sends it from the stored change when its backoff ends; new values go at once.
    case 'retry_wait':
      return state.fingerprint !== fingerprint;
    // Refused for good with these values: sending them again would be refused again (`ferry retry` clears it).
    case 'rejected':
      return full || state.fingerprint !== fingerprint;
    case 'exported':
      return full || state.confirmedFingerprint !== fingerprint;
    case 'deleted':
      return true;
  }
};
