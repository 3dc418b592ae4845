/**
 * The yardstick of the sync benchmark (issue 7): the same CSV file parsed by fast-csv alone (header
 * row, one object per row), rows counted and nothing else done with them. `ferry sync` no longer
 * reads with fast-csv (its single-pass reader, src/source/csv-framer.ts, reads the file ~5× faster),
 * so this is a fixed reference for "how long does reading a CSV take", not a floor.
 *
 *   pnpm exec node bench/parse-only.ts bench-data/profiles-1000000.csv
 *
 * Prints `{ rows, ms }` as JSON (the parse alone, without process start-up).
 */
import { createReadStream } from 'node:fs';
import { parse } from 'fast-csv';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: node bench/parse-only.ts <file.csv>');

const started = performance.now();
const rows = await new Promise<number>((resolve, reject) => {
  let count = 0;
  createReadStream(path)
    .on('error', reject)
    .pipe(parse({ headers: true }))
    .on('error', reject)
    .on('data', () => {
      count += 1;
    })
    .on('end', () => resolve(count));
});
process.stdout.write(`${JSON.stringify({ rows, ms: performance.now() - started })}\n`);
