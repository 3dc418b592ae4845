import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runCli, sandboxJson, spawnCli, tempProject, waitFor } from './helpers/e2e.ts';

/*
 * The getting-started path of docs/cli.md, with nothing but the CLI: `ferry sandbox` in the
 * background, `ferry init`, a contacts.csv, `ferry verify` and `ferry sync`. Free ports stand in for
 * the defaults (4010 Eloqua, 4011 SendGrid) so the test cannot collide with a sandbox already running.
 */

describe('ferry init + ferry sandbox + ferry sync (e2e)', () => {
  const project = tempProject('e2e-init');
  afterAll(() => project.remove());

  it('syncs the starter config to the emulators that `ferry sandbox` serves', async () => {
    const eloquaPort = await freePort();
    const sendgridPort = await freePort();
    const sandbox = spawnCli(project.dir, [
      'sandbox',
      '--eloqua-port',
      String(eloquaPort),
      '--sendgrid-port',
      String(sendgridPort),
    ]);
    try {
      await waitFor('the sandbox to start', () =>
        sandbox.stdout().includes('Sandbox running') ? true : undefined,
      );
      expect(sandbox.stdout()).toContain(`eloqua    http://127.0.0.1:${eloquaPort}`);
      expect(sandbox.stdout()).toContain(`sendgrid  http://127.0.0.1:${sendgridPort}`);

      const init = await runCli(project.dir, ['init', '--sandbox-url', `http://127.0.0.1:${sendgridPort}`]);
      expect(init.code, init.stderr).toBe(0);
      // The commented-out Eloqua destination works as written once uncommented.
      const configPath = join(project.dir, 'ferry.config.ts');
      const starter = readFileSync(configPath, 'utf8');
      const start = starter.indexOf('    // eloqua: {');
      const end = starter.indexOf('    // },\n', start) + '    // },\n'.length;
      expect(start).toBeGreaterThan(0);
      writeFileSync(
        configPath,
        starter.slice(0, start) +
          starter.slice(start, end).replace(/^ {4}\/\/ /gm, '    ') +
          starter.slice(end),
      );
      writeFileSync(
        join(project.dir, 'contacts.csv'),
        'id,email,first_name,last_name\n1,ada@example.com,Ada,Lovelace\n2,Alan@Example.com ,Alan,Turing\n',
      );
      // As a user would: no secrets set, the sandbox defaults apply; only the Eloqua port differs.
      const env = {
        SENDGRID_API_KEY: '',
        ELOQUA_PASSWORD: '',
        ELOQUA_LOGIN_URL: `http://127.0.0.1:${eloquaPort}`,
      };

      const verify = await runCli(project.dir, ['verify'], env);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      const sync = await runCli(project.dir, ['sync', '--json'], env);
      expect(sync.code, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({
        destinations: [
          { destination: 'sendgrid', exported: 2 },
          { destination: 'eloqua', exported: 2 },
        ],
      });
      const sendgrid = await sandboxJson<{ contacts: { email: string; first_name: string }[] }>(
        `http://127.0.0.1:${sendgridPort}`,
        '/__sandbox/contacts',
      );
      expect(sendgrid.contacts.map((c) => [c.email, c.first_name])).toEqual([
        ['ada@example.com', 'Ada'],
        ['alan@example.com', 'Alan'],
      ]);
      const eloqua = await sandboxJson<{ items: { emailAddress: string }[] }>(
        `http://127.0.0.1:${eloquaPort}`,
        '/__sandbox/contacts',
      );
      expect(eloqua.items.map((c) => c.emailAddress).sort()).toEqual(['ada@example.com', 'alan@example.com']);
    } finally {
      sandbox.child.kill('SIGINT');
      const stopped = await sandbox.done;
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toContain('Sandbox stopped');
    }
  }, 60_000);
});
