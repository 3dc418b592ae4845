/*
 * Checks and figures. A failed check does not stop the harness: every scenario runs, then the
 * summary lists what failed and the process exits 1.
 */

export interface Check {
  readonly scenario: string;
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export class Report {
  readonly checks: Check[] = [];
  readonly notes: string[] = [];

  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  check(scenario: string, name: string, ok: boolean, detail?: string): boolean {
    this.checks.push({ scenario, name, ok, ...(detail === undefined ? {} : { detail }) });
    this.log(`  ${ok ? 'ok  ' : 'FAIL'} [${scenario}] ${name}${detail === undefined ? '' : ` — ${detail}`}`);
    return ok;
  }

  /** A check that two values are equal, showing both when they are not. */
  equal(scenario: string, name: string, actual: unknown, expected: unknown): boolean {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    return this.check(
      scenario,
      name,
      a === e,
      a === e ? a.slice(0, 200) : `got ${a?.slice(0, 1500)}, expected ${e?.slice(0, 1500)}`,
    );
  }

  /** Records a scenario that threw: it counts as a failed check. */
  crashed(scenario: string, error: unknown): void {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.check(scenario, 'scenario ran to the end', false, message);
  }

  failures(): Check[] {
    return this.checks.filter((check) => !check.ok);
  }
}

export const formatMs = (ms: number): string =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 120_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${(ms / 60_000).toFixed(1)} min`;
