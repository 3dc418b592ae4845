import { configDefaults, defineConfig } from 'vitest/config';

// CI and laptops run every package's suite at once on few cores; tests that do real HTTP against
// the sandbox or spawn processes must not fail on vitest's 5 s default when the machine is busy.
// .mutants/ holds the mutated copies of mutants/run.ts, which runs them with its own config.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 60_000, exclude: [...configDefaults.exclude, '.mutants/**'] },
});
