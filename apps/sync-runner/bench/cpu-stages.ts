/**
 * Where a `ferry sync` spent its time, by pipeline stage, from a V8 CPU profile:
 *
 *   node --cpu-prof --cpu-prof-dir=bench-data/prof src/cli.ts sync -c <config> --state <db> -q
 *   pnpm exec node bench/cpu-stages.ts bench-data/prof/CPU.*.cpuprofile
 *
 * Each sample goes to the stage of the innermost frame that names one (fast-csv's parser, the source
 * reader, mapping, fingerprints, the state store, the plugin, the engine, module loading), so a
 * callback running inside another stage counts for itself. GC and idle time are V8's own entries.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const STAGES: readonly (readonly [string, (url: string, name: string) => boolean])[] = [
  ['fast-csv parser', (url) => url.includes('/@fast-csv/')],
  ['source: decode, frame, ids, column types', (url) => /\/apps\/sync-runner\/src\/source\//.test(url)],
  ['fingerprint (SHA-256 of mapped fields)', (url) => url.endsWith('/src/fingerprint.ts')],
  ['mapping', (url) => url.includes('/apps/sync-runner/src/mapping/')],
  [
    'state store (Kysely + SQLite)',
    (url) => url.includes('/kysely') || url.includes('/apps/sync-runner/src/store/') || url === 'node:sqlite',
  ],
  [
    'plugin: measure, encode, HTTP',
    (url) =>
      url.includes('/packages/plugin-') ||
      url.includes('/packages/core/src/http/') ||
      url.includes('/packages/core/src/pack.ts') ||
      url.includes('/undici') ||
      url.startsWith('node:zlib') ||
      url.startsWith('node:internal/deps/undici'),
  ],
  ['engine (lanes, jobs, channel)', (url) => url.includes('/apps/sync-runner/src/engine/')],
  [
    'start-up: loading modules',
    (url, name) => url.startsWith('node:internal/modules') || name === 'compileSourceTextModule',
  ],
];

const file = process.argv[2];
if (file === undefined) throw new Error('usage: node bench/cpu-stages.ts <file.cpuprofile>');
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

// core's CSV module serves both sides: the encoder and writer (first half of the file) for plugins,
// parseCsv (second half) for the source. Async frames lose their callers, so the line tells them apart.
const CORE_CSV_PARSING_FROM_LINE = readFileSync(
  new URL('../../../packages/core/src/csv.ts', import.meta.url),
  'utf8',
)
  .split('\n')
  .findIndex((line) => line.startsWith('export interface CsvRecordItem'));

const stageOf = (leaf: number): string => {
  const root = byId.get(leaf)!.callFrame.functionName;
  if (root === '(garbage collector)') return 'garbage collector';
  if (root === '(idle)') return 'idle (waiting for the sandbox, timers)';
  if (root === '(program)') return 'V8/Node internals';
  const stack: ProfileNode[] = [];
  for (let id: number | undefined = leaf; id !== undefined; id = parentOf.get(id)) stack.push(byId.get(id)!);
  for (const node of stack) {
    const { url, functionName } = node.callFrame;
    if (url.endsWith('/packages/core/src/csv.ts')) {
      return node.callFrame.lineNumber >= CORE_CSV_PARSING_FROM_LINE
        ? 'source: decode, frame, ids, column types'
        : 'plugin: measure, encode, HTTP';
    }
    for (const [stage, matches] of STAGES) if (matches(url, functionName)) return stage;
  }
  return 'other (streams, promises, Node)';
};

const totals = new Map<string, number>();
let total = 0;
for (const [index, sample] of profile.samples.entries()) {
  const micros = profile.timeDeltas[index] ?? 0;
  total += micros;
  const stage = stageOf(sample);
  totals.set(stage, (totals.get(stage) ?? 0) + micros);
}
console.log(`| stage | CPU s | share |\n| --- | ---: | ---: |`);
for (const [stage, micros] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`| ${stage} | ${(micros / 1e6).toFixed(2)} | ${((100 * micros) / total).toFixed(1)}% |`);
}
console.log(`| total (profile wall clock) | ${(total / 1e6).toFixed(2)} | 100% |`);
