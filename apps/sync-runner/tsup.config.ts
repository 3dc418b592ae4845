import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts', 'src/bin.ts', 'src/service/verify-webhook.ts'],
  format: ['esm'],
  // Keep `node:` on builtin imports: tsup strips it by default, and `node:sqlite` (like every builtin
  // added since Node 18) exists only with the prefix — a dist importing 'sqlite' dies at start.
  removeNodeProtocol: false,
  external: [/^node:/],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
