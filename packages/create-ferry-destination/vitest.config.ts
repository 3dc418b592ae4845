import { defineConfig } from 'vitest/config';

// CI and laptops run every package's suite at once on few cores; tests that do real HTTP against
// the sandbox or spawn processes must not fail on vitest's 5 s default when the machine is busy.
export default defineConfig({
  // templates/ holds the generated packages' tests, run by them, not here.
  test: { include: ['test/**/*.test.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
});
