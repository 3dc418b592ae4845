import { setFlagsFromString } from 'node:v8';

/*
 * V8 sizes its heap for throughput: the young generation grows to 128 MB on a machine with a lot of
 * memory, and the old generation may grow to several times what survived the last full collection.
 * A sync's live data is small (jobs stream through the state store), so most of a default heap is
 * headroom: a 300,000-profile Eloqua sync peaked at 689 MB of RSS, and at 312 MB with these two
 * flags, for ~20% more CPU (docs/benchmarks.md). They are heap-growth heuristics that V8 reads at
 * each collection, which is why they still apply when set here, after start-up (the size limits,
 * `--max-semi-space-size` and `--max-old-space-size`, do not: those need `node` flags).
 */
export const LEAN_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=10'] as const;

/** Keeps the heap lean unless `FERRY_HEAP=node` asks for V8's defaults (faster, more memory). */
export const applyHeapProfile = (env: NodeJS.ProcessEnv = process.env): 'lean' | 'node' => {
  if (env.FERRY_HEAP === 'node') return 'node';
  for (const flag of LEAN_HEAP_FLAGS) setFlagsFromString(flag);
  return 'lean';
};
