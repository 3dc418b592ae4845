/*
 * The Scheduler runs steps at times: "submit job J now", "check job J at 10:42", "wake J, its
 * callback arrived". The engine decides what a step does; the scheduler only decides when and how
 * many at once. The in-process scheduler (timers) is the default; a queue-backed one (pg-boss) runs
 * the same contract tests (test/helpers/scheduler-suite.ts), so the engine cannot tell them apart.
 */

/** What a step does: `plan` reads a run's source into jobs; `submit` and `check` drive one job. */
export type StepKind = 'plan' | 'submit' | 'check';

/** A step, addressed by ids only: whoever runs it loads what it needs from the store. */
export interface Step {
  readonly kind: StepKind;
  /** The run id for `plan`, the job id for `submit` and `check`. */
  readonly id: string;
  /** Concurrency group: the destination's key (a run's plan uses its run id). */
  readonly group: string;
}

export type StepHandler = (step: Step) => Promise<void>;

export interface SchedulerStart {
  readonly handler: StepHandler;
  /** Steps of one group that may run at once. */
  readonly concurrency: (group: string) => number;
  /** A step that threw: the scheduler carries on with the others. */
  readonly onError: (step: Step, error: unknown) => void;
}

export interface Scheduler {
  /** Starts handing due steps to the handler. Called once. */
  readonly start: (start: SchedulerStart) => void;
  /**
   * Runs `step` at `at` (epoch ms; now or earlier: as soon as possible). One pending step per
   * (kind, id): scheduling it again moves it. A step that is running when it is scheduled again
   * runs again once it has ended.
   */
  readonly schedule: (step: Step, at: number) => Promise<void>;
  /** Runs a pending step now instead of at its time (a vendor callback arrived); no-op if none is pending. */
  readonly wake: (kind: StepKind, id: string) => void;
  /** Drops a pending step; a running one finishes. */
  readonly cancel: (kind: StepKind, id: string) => void;
  /** Pending steps (for status and tests). */
  readonly pending: () => number;
  /** Stops timers, drops pending steps and waits for running ones. */
  readonly close: () => Promise<void>;
}
