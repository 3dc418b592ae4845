import type { Comparison } from './expect.ts';
import type { Report } from './report.ts';
import type { FinalStates } from './store.ts';

export const reportComparison = (
  report: Report,
  scenario: string,
  destination: string,
  comparison: Comparison,
  expected: number,
): void => {
  report.check(
    scenario,
    `${destination} holds exactly the ${expected.toLocaleString('en-US')} expected contacts with the latest values`,
    comparison.missing === 0 && comparison.stale === 0 && comparison.extra === 0,
    `${comparison.matched} match, ${comparison.missing} missing, ${comparison.stale} stale, ${comparison.extra} unexpected` +
      (comparison.examples.length > 0 ? `; e.g. ${comparison.examples.join(' | ')}` : ''),
  );
};

export const reportStates = (
  report: Report,
  scenario: string,
  destination: string,
  states: FinalStates,
): void => {
  report.check(
    scenario,
    `store: every profile has exactly one final state at ${destination}`,
    states.absent === 0 && states.unknown === 0 && states.notFinal === 0,
    `${states.rows} rows ${JSON.stringify(states.statuses)}, ${states.absent} absent, ${states.unknown} unknown, ` +
      `${states.notFinal} not in their final state${states.examples.length > 0 ? `; e.g. ${states.examples.join(', ')}` : ''}`,
  );
};
