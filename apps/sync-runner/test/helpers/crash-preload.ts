import { subscribe } from 'node:diagnostics_channel';
import { STORE_WRITE_CHANNEL, type StoreWriteMessage } from '../../src/store/instrument.ts';

/*
 * Preloaded into a `ferry` process by the crash tests and the reliability harness
 * (`node --import <this file> src/cli.ts …`): with FERRY_TEST_CRASH_AFTER_WRITES=N it lets N store
 * writes through and kills the process with SIGKILL just before write N+1, naming it on stderr.
 * FERRY_TEST_CRASH_BEFORE=markSubmitted[:K] kills it before the K-th write of that name (default 1);
 * FERRY_TEST_CRASH_AFTER=markSubmitted kills it at the first write after one of that name (right
 * after a submit was recorded, say). Without any of them it does nothing.
 */

const after = process.env.FERRY_TEST_CRASH_AFTER_WRITES;
const before = process.env.FERRY_TEST_CRASH_BEFORE;
const afterNamed = process.env.FERRY_TEST_CRASH_AFTER;

const kill = (message: StoreWriteMessage, count: number): void => {
  // stderr is synchronous on pipes and files, so the line is out before the process dies.
  process.stderr.write(`[ferry] crash hook: killed before write ${count} (${message.write})\n`);
  process.kill(process.pid, 'SIGKILL');
};

if (after !== undefined || before !== undefined || afterNamed !== undefined) {
  const limit = after === undefined ? Number.POSITIVE_INFINITY : Number(after);
  const [name, nth] = (before ?? '').split(':');
  const wanted = Number(nth ?? 1);
  let writes = 0;
  let named = 0;
  let passed = false;
  subscribe(STORE_WRITE_CHANNEL, (raw) => {
    const message = raw as StoreWriteMessage;
    if (message.write === name) named += 1;
    if (writes >= limit || (message.write === name && named >= wanted) || passed) kill(message, writes + 1);
    if (message.write === afterNamed) passed = true;
    writes += 1;
  });
}
