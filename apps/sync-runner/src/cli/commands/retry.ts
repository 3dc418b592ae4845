import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatCount } from '../../report/table.ts';
import type { StateStore } from '../../store/state-store.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { openCommandStore, type StoreOptions } from './setup.ts';

export interface RetryCommandOptions extends StoreOptions {
  readonly destination?: string;
  readonly json?: boolean;
}

/**
 * `ferry retry`: rejected profiles are sent again by the next sync (their fingerprint is forgotten,
 * so they count as changed), and profiles waiting for a retry become due at once.
 */
export const retryCommand = async (options: RetryCommandOptions, io: CommandIO): Promise<number> => {
  let store: StateStore | undefined;
  try {
    store = await openCommandStore(options, io);
    const { rejected, waiting } = await store.requeueProblems(options.destination, Date.now());
    if (options.json === true) io.stdout.write(jsonDocument('retry', 0, { requeued: { rejected, waiting } }));
    else {
      io.stdout.write(
        rejected + waiting === 0
          ? 'Nothing to retry.\n'
          : `Re-queued ${formatCount(rejected)} rejected and ${formatCount(waiting)} waiting profiles; ` +
              'run `ferry sync` to send them.\n',
      );
    }
    return 0;
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError('retry', errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};
