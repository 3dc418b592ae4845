import { defineConfig } from 'vitest/config';

// The conformance cases do real HTTP against the loopback fake vendor; give busy CI machines time.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 60_000 },
});
