import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type FileSourceConfig, sourceSchema } from '../src/config/schema.ts';
import { readSource, SourceError, type SourceItem } from '../src/source/index.ts';

/** The broken-input corpus (see test/fixtures/bad-input/README.md), shared with the reliability harness. */
const FIXTURES = new URL('./fixtures/bad-input/', import.meta.url);

interface Case {
  readonly source: Record<string, unknown>;
  readonly items?: readonly Record<string, unknown>[];
  readonly throws?: string;
}

const cases = JSON.parse(readFileSync(new URL('cases.json', FIXTURES), 'utf8')) as Record<string, Case>;

/** What the corpus records of an item: numbers, id and reason, not the record's values. */
const summary = (item: SourceItem): Record<string, unknown> =>
  item.kind === 'record' ? { kind: item.kind, row: item.row, line: item.line, id: item.id } : { ...item };

describe('broken input corpus', () => {
  it('has a case for every kind of fault', () => {
    expect(Object.keys(cases).length).toBeGreaterThanOrEqual(12);
  });

  for (const [file, expected] of Object.entries(cases)) {
    it(file, async () => {
      const source = sourceSchema.parse({
        ...expected.source,
        path: fileURLToPath(new URL(file, FIXTURES)),
      }) as FileSourceConfig;
      const items: Record<string, unknown>[] = [];
      const reading = (async () => {
        for await (const batch of readSource(source)) items.push(...batch.map(summary));
      })();
      if (expected.throws !== undefined) {
        await expect(reading).rejects.toThrow(SourceError);
        await expect(reading).rejects.toThrow(expected.throws);
        return;
      }
      await reading;
      expect(items).toEqual(expected.items);
    });
  }
});
