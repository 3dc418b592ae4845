import { defineConfig } from 'tsup';

// templates/ is shipped as files (package.json "files"), read at run time next to dist/.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
