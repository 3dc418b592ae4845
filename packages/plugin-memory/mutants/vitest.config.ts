import { defineConfig } from 'vitest/config';

// Only the mutated copies that mutants/run.ts writes; the package's own tests use vitest.config.ts.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['.mutants/*/test/conformance.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
