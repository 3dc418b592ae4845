/**
 * The source reader alone: `readSource` over a profiles file with the sync benchmark's column types,
 * items counted and nothing else done with them. Compare with bench/parse-only.ts (fast-csv alone).
 *
 *   pnpm exec node bench/read-only.ts bench-data/profiles-1000000.csv
 *
 * Prints `{ records, bad, ms }` as JSON (the read alone, without process start-up).
 */
import type { CsvSourceConfig } from '../src/config/schema.ts';
import { readSource } from '../src/source/index.ts';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: node bench/read-only.ts <file.csv>');

// As declared in bench/sync.bench.ts.
const source: CsvSourceConfig = {
  type: 'csv',
  path,
  delimiter: ',',
  encoding: 'utf8',
  idColumn: 'id',
  columns: {
    employees: 'number',
    orders: 'number',
    lifetime_value: 'number',
    is_customer: 'boolean',
    signup_date: 'date',
    last_order_at: 'date',
  },
};

const started = performance.now();
let records = 0;
let bad = 0;
for await (const items of readSource(source)) {
  for (const item of items) {
    if (item.kind === 'record') records += 1;
    else bad += 1;
  }
}
process.stdout.write(`${JSON.stringify({ records, bad, ms: Math.round(performance.now() - started) })}\n`);
