import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCreateCli } from '../src/run-cli.ts';
import { ScaffoldError, scaffoldDestination } from '../src/scaffold.ts';
import { TEMPLATES, type TemplateName } from '../src/templates.ts';

// The generated packages are installed and tested for real in apps/sync-runner/test/packaging.test.ts;
// these check the file work: layout, placeholders, refusals.
const root = mkdtempSync(join(tmpdir(), 'ferry-scaffold-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LAYOUT = [
  '.github/workflows/ci.yml',
  '.gitignore',
  'README.md',
  'package.json',
  'scripts/fake-vendor.mjs',
  'src/client.ts',
  'src/index.ts',
  'src/mapping.ts',
  'src/operations/account.ts',
  'src/options.ts',
  'src/types.ts',
  'test/conformance.test.ts',
  'test/mapping.test.ts',
  'tsconfig.json',
  'tsup.config.ts',
  'vitest.config.ts',
];

describe('scaffoldDestination', () => {
  for (const template of Object.keys(TEMPLATES) as TemplateName[]) {
    it(`writes the ${template} package in the DESIGN layout with every placeholder filled`, async () => {
      const dir = join(root, template);
      const result = await scaffoldDestination({ name: 'acme-crm', template, dir });
      expect(result.files).toEqual(expect.arrayContaining(LAYOUT));
      expect(
        result.files.some(
          (file) => file.startsWith('src/operations/') && file !== 'src/operations/account.ts',
        ),
      ).toBe(true);
      for (const file of result.files) {
        expect(readFileSync(join(dir, file), 'utf8'), file).not.toMatch(/__[A-Z][A-Z_]*__/);
      }
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(manifest).toMatchObject({
        name: 'ferry-destination-acme-crm',
        peerDependencies: { '@ferry/core': '^0.1.0' },
        devDependencies: { '@ferry/core': '^0.1.0' },
      });
      const index = readFileSync(join(dir, 'src', 'index.ts'), 'utf8');
      expect(index).toContain("name: 'acme-crm'");
      expect(index).toContain('export const acmeCrm = defineDestination({');
      expect(readFileSync(join(dir, 'src', 'options.ts'), 'utf8')).toContain('apiKey: secret(');
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(readme).toContain(
        `| delete (mirror mode) | ${TEMPLATES[template].capabilities.delete ? 'yes' : 'no'} |`,
      );
      expect(readme).toContain('| profiles per job |');
    });
  }

  it('refuses a non-empty folder, a bad name and an unknown template', async () => {
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    await expect(scaffoldDestination({ name: 'acme', dir: busy })).rejects.toThrow(`${busy} is not empty`);
    expect(readFileSync(join(busy, 'notes.txt'), 'utf8')).toBe('mine');
    await expect(scaffoldDestination({ name: 'Acme CRM', dir: join(root, 'x') })).rejects.toThrow(
      ScaffoldError,
    );
    await expect(
      scaffoldDestination({ name: 'acme', dir: join(root, 'y'), template: 'soap' as TemplateName }),
    ).rejects.toThrow('unknown template "soap"');
  });
});

describe('create-ferry-destination CLI', () => {
  const io = () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => {
      out += String(chunk);
    });
    stderr.on('data', (chunk) => {
      err += String(chunk);
    });
    return { io: { stdout, stderr, stdin: new PassThrough(), cwd: root }, out: () => out, err: () => err };
  };

  it('scaffolds with --yes and no prompts, into ./ferry-destination-<name> by default', async () => {
    const run = io();
    expect(
      await runCreateCli(
        ['hubspot', '--yes', '--template', 'batch', '--package-name', '@acme/ferry-hubspot'],
        run.io,
      ),
    ).toBe(0);
    expect(run.out()).toContain(
      `Created @acme/ferry-hubspot (batch) in ${join(root, 'ferry-destination-hubspot')}`,
    );
    expect(
      JSON.parse(readFileSync(join(root, 'ferry-destination-hubspot', 'package.json'), 'utf8')).name,
    ).toBe('@acme/ferry-hubspot');
  });

  it('exits 1 with the reason for a missing name or an existing folder', async () => {
    const missing = io();
    expect(await runCreateCli(['--yes'], missing.io)).toBe(1);
    expect(missing.err()).toContain('a destination name is required');
    const again = io();
    expect(await runCreateCli(['hubspot', '--yes'], again.io)).toBe(1);
    expect(again.err()).toContain('is not empty');
  });
});
