// biome-ignore-all lint/suspicious/noExplicitAny: JSON Schema is untyped data
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../src/config/index.ts';

const SCHEMA_FILE = fileURLToPath(new URL('../ferry.config.schema.json', import.meta.url));

/**
 * Compared as data, not text, so Biome may format the file as it likes. To regenerate it:
 * `FERRY_UPDATE_SCHEMA=1 pnpm exec vitest run test/config-json-schema` (a missing file is written
 * outside CI too).
 */
const updating = process.env.FERRY_UPDATE_SCHEMA === '1' || (!existsSync(SCHEMA_FILE) && !process.env.CI);

describe('configJsonSchema', () => {
  it('matches the committed ferry.config.schema.json', () => {
    const schema = configJsonSchema();
    if (updating) {
      writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
      try {
        execFileSync('pnpm', ['exec', 'biome', 'format', '--write', SCHEMA_FILE], { stdio: 'ignore' });
      } catch {
        // Unformatted is still correct; `pnpm format` fixes the layout.
      }
    }
    const committed: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(
      committed,
      'ferry.config.schema.json is stale: run FERRY_UPDATE_SCHEMA=1 pnpm exec vitest run test/config-json-schema',
    ).toEqual(schema);
  });

  it('describes the config as written: defaults optional, environment references allowed', () => {
    const schema = configJsonSchema() as {
      required: string[];
      properties: {
        destinations: { additionalProperties: { required: string[]; properties: Record<string, any> } };
      };
    };
    expect(schema.required).toEqual(['source', 'destinations']);
    const destination = schema.properties.destinations.additionalProperties;
    expect(destination.required).toEqual(['plugin', 'identity']);
    expect(destination.properties.mode).toMatchObject({ default: 'upsert', enum: ['upsert', 'mirror'] });
    expect(destination.properties.mirror.properties.maxDeleteFraction).toMatchObject({ default: 0.1 });
    expect(JSON.stringify(schema)).toContain('"env"');
  });
});
