import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

/*
 * `pnpm demo:serve` runs as the README says: sandbox, `ferry serve`, a CSV with mistakes posted
 * with a callback URL, the signed callback verified, the rejects downloaded; exit 0. Run whole, so
 * the demo cannot rot.
 */

const DEMO = fileURLToPath(new URL('../demo/demo-serve.ts', import.meta.url));

it('pnpm demo:serve: posts, gets the verified callback, downloads the rejects, exits 0', async () => {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code, output).toBe(0);
  expect(output).toMatch(/✓ 202 Accepted in \d+ ms/);
  expect(output).toContain('✓ verified with the callback secret: run.completed_with_errors, 2000 records');
  expect(output).toContain('rejected,sendgrid,C-01303');
  expect(output).toContain('✓ 5 bad rows');
  expect(output).not.toContain('✗');
}, 180_000);
