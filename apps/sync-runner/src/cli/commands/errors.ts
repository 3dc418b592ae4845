import {
  type ErrorEntry,
  errorsCsv,
  formatBadRows,
  formatProfileIssues,
} from '../../report/errors-report.ts';
import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatCount } from '../../report/table.ts';
import type { BadRow, ProfileIssue, RunRecord, StateStore } from '../../store/state-store.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { openCommandStore, type StoreOptions } from './setup.ts';

export interface ErrorsCommandOptions extends StoreOptions {
  readonly destination?: string;
  /** The run whose bad rows to show; default the latest run that read the source for real. */
  readonly run?: string;
  readonly csv?: boolean;
  readonly json?: boolean;
  /** Rows shown per section in the table (default 50); CSV and JSON show everything. */
  readonly limit?: number;
}

const PAGE = 1000;

async function* problemsOf(store: StateStore, destination: string | undefined): AsyncGenerator<ProfileIssue> {
  let after: { destination: string; profileId: string } | undefined;
  for (;;) {
    const page = await store.listProblems({
      ...(destination === undefined ? {} : { destination }),
      ...(after === undefined ? {} : { after }),
      limit: PAGE,
    });
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return;
    after = { destination: last.destination, profileId: last.profileId };
  }
}

async function* badRowsOf(store: StateStore, runId: string | undefined): AsyncGenerator<BadRow> {
  if (runId === undefined) return;
  let afterRow = 0;
  for (;;) {
    const page = await store.listBadRows(runId, afterRow, PAGE);
    yield* page;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return;
    afterRow = last.row;
  }
}

/** Bad rows are recorded by real runs only; a dry run or a run still going has none to show. */
const latestRealRun = async (store: StateStore): Promise<RunRecord | undefined> =>
  (await store.listRuns(50)).find(
    (run) => run.status !== 'running' && (run.options as { dryRun?: boolean } | null)?.dryRun !== true,
  );

const take = async <T>(items: AsyncIterable<T>, limit: number): Promise<{ shown: T[]; total: number }> => {
  const shown: T[] = [];
  let total = 0;
  for await (const item of items) {
    total += 1;
    if (shown.length < limit) shown.push(item);
  }
  return { shown, total };
};

/** `ferry errors`: rejected and waiting profiles, and the bad rows of the latest run. */
export const errorsCommand = async (options: ErrorsCommandOptions, io: CommandIO): Promise<number> => {
  let store: StateStore | undefined;
  try {
    store = await openCommandStore(options, io);
    const runId = options.run ?? (await latestRealRun(store))?.id;
    if (options.run !== undefined && (await store.getRun(options.run)) === undefined) {
      throw new Error(`[ferry] no run ${JSON.stringify(options.run)} in ${store.location}`);
    }
    const open = store;
    if (options.csv === true) {
      async function* entries(): AsyncGenerator<ErrorEntry> {
        for await (const issue of problemsOf(open, options.destination)) yield { kind: 'profile', issue };
        if (runId !== undefined)
          for await (const badRow of badRowsOf(open, runId)) yield { kind: 'bad_row', runId, badRow };
      }
      for await (const chunk of errorsCsv(entries())) {
        if (!io.stdout.write(chunk)) await new Promise((resolve) => io.stdout.once('drain', resolve));
      }
      return 0;
    }
    if (options.json === true) {
      const problems: ProfileIssue[] = [];
      for await (const issue of problemsOf(open, options.destination)) problems.push(issue);
      const badRows: BadRow[] = [];
      for await (const row of badRowsOf(open, runId)) badRows.push(row);
      io.stdout.write(
        jsonDocument('errors', 0, {
          problems: problems.map((p) => ({ ...p, updatedAt: new Date(p.updatedAt).toISOString() })),
          badRows: { runId: runId ?? null, rows: badRows },
        }),
      );
      return 0;
    }
    const limit = options.limit ?? 50;
    const problems = await take(problemsOf(open, options.destination), limit);
    const bad = await take(badRowsOf(open, runId), limit);
    const out: string[] = [];
    if (problems.total === 0) out.push('No rejected or waiting profiles.');
    else {
      out.push(
        `${formatCount(problems.total)} profiles rejected or waiting for a retry:`,
        '',
        formatProfileIssues(problems.shown).trimEnd(),
      );
      if (problems.total > problems.shown.length)
        out.push(`… and ${formatCount(problems.total - problems.shown.length)} more (use --csv)`);
    }
    out.push('');
    if (runId === undefined) out.push('No runs yet.');
    else if (bad.total === 0) out.push(`No bad rows in run ${runId}.`);
    else {
      out.push(`${formatCount(bad.total)} bad rows in run ${runId}:`, '', formatBadRows(bad.shown).trimEnd());
      if (bad.total > bad.shown.length)
        out.push(`… and ${formatCount(bad.total - bad.shown.length)} more (use --csv)`);
    }
    io.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError('errors', errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};
