import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/*
 * Builds the dashboard into dashboard/dist: one ES module bundle (the app and uPlot), one style
 * sheet (ours and uPlot's), index.html. No CDN: everything the page loads comes from `ferry serve`.
 */

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const out = here('./dist/');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: here('./src/main.ts'), styles: here('./src/styles.css') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
copyFileSync(here('./src/index.html'), `${out}index.html`);
console.log(`dashboard built into ${out}`);
