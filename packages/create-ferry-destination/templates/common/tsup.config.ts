import { defineConfig } from 'tsup';

// ESM only, with type declarations; @ferry/core and zod stay external (peer and regular dependencies).
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
