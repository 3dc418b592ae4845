import { defineConfig } from 'vitest/config';

// One file, run once: pack, npm install (from the registry for third-party packages), scaffold a
// plugin, run its tests, sync. Minutes, not seconds, on a busy machine.
export default defineConfig({
  test: { testTimeout: 15 * 60_000, hookTimeout: 15 * 60_000 },
});
