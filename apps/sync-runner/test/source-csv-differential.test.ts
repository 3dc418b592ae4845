import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from '@ferry/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvSourceConfig } from '../src/config/schema.ts';
import { createCsvFramer, type FramedRecord } from '../src/source/csv-framer.ts';
import { readSource, type SourceItem } from '../src/source/index.ts';

/*
 * The CSV reader cuts fields itself; fast-csv (core's `parseCsv`) is the reference it must agree with
 * on every record fast-csv can read. Random text, from a seeded generator so that a failure can be
 * replayed: fast-check is not a dependency of this package.
 *
 * U+FEFF is left out of the generated text: fast-csv drops it at the start of whatever text it has
 * buffered when a chunk arrives, so what it makes of a record starting with one depends on where the
 * chunks fall. The reader keeps it as data.
 */

/** mulberry32: small, seedable, good enough to spread test cases. */
const randomFrom = (seed: number) => {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    below: (count: number): number => Math.floor(next() * count),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!,
    chance: (probability: number): boolean => next() < probability,
  };
};
type Random = ReturnType<typeof randomFrom>;

const DELIMITERS = [',', ';', '\t', '|'] as const;
const SPACES = [' ', '  ', '\t', '\u00a0', '\u3000', '\u2009'];
const TEXT = ['a', 'b', 'Zoë', '中文', '😀', 'x y', '0', ',', ';', '|', "'"];
const LINE_BREAKS = ['\n', '\r\n', '\r'];

/** fast-csv's rows of `text`: values with their row and line numbers. */
const fastCsvRows = async (text: string, delimiter: string) => {
  const rows: { row: number; line: number; values: string[] }[] = [];
  for await (const item of parseCsv(text, { headers: false, delimiter })) {
    rows.push({
      row: item.row,
      line: item.line,
      values: item.kind === 'record' ? Object.values(item.record) : [...item.values],
    });
  }
  return rows;
};

const frame = (chunks: readonly string[], delimiter: string): FramedRecord[] => {
  const framer = createCsvFramer({ delimiter, maxRecordLength: 1_000_000 });
  const out: FramedRecord[] = [];
  for (const chunk of chunks) out.push(...framer.push(chunk));
  out.push(...framer.end());
  return out;
};

/** `text` cut at up to three random places. */
const randomCuts = (random: Random, text: string): string[] => {
  const cuts = Array.from({ length: random.below(4) }, () => random.below(text.length + 1)).sort(
    (a, b) => a - b,
  );
  const chunks: string[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(text.slice(from, cut));
    from = cut;
  }
  chunks.push(text.slice(from));
  return chunks;
};

/** Anything at all: quotes, doubled quotes, delimiters, spaces and line breaks in any order. */
const soup = (random: Random, delimiter: string): string => {
  const tokens = [...TEXT, delimiter, delimiter, '"', '"', '""', ...SPACES, ...LINE_BREAKS, ''];
  let text = '';
  const length = random.below(60);
  for (let index = 0; index < length; index += 1) text += random.pick(tokens);
  return text;
};

const randomValue = (random: Random, delimiter: string): string => {
  const tokens = [...TEXT, delimiter, '"', ...SPACES, ...LINE_BREAKS];
  let value = '';
  const length = random.chance(0.2) ? 0 : random.below(6);
  for (let index = 0; index < length; index += 1) value += random.pick(tokens);
  return value;
};

const spaces = (random: Random, delimiter: string): string =>
  random.chance(0.6) ? '' : random.pick(SPACES.filter((space) => !space.includes(delimiter)));

/** A value written as CSV: quoted when it must be or at random, sometimes with spaces around the quotes. */
const encodeValue = (random: Random, value: string, delimiter: string): string => {
  const mustQuote = /["\r\n]/.test(value) || value.includes(delimiter);
  if (!mustQuote && random.chance(0.7)) return value;
  const quoted = `"${value.replaceAll('"', '""')}"`;
  return `${spaces(random, delimiter)}${quoted}${spaces(random, delimiter)}`;
};

/**
 * A well-formed file: a header, rows of random values (a few of the wrong length), blank lines.
 * `blankRows`: the rows with nothing but whitespace and delimiters, which the reader skips. fast-csv
 * gives them as rows of blank values, and so it gives rows of quoted empty values too: its rows alone
 * cannot say which to expect.
 */
const wellFormedCsv = (random: Random, delimiter: string, rows: number) => {
  const columns = 1 + random.below(5);
  const header = ['id', ...Array.from({ length: columns - 1 }, (_, index) => `c${index + 1}`)];
  let text = '';
  const addLine = (content: string): void => {
    // An empty line after a CR would make a CRLF of it, and one line of the two.
    const lineBreak = random.pick(LINE_BREAKS);
    text += content + (content === '' && text.endsWith('\r') ? '\r' : lineBreak);
  };
  addLine(header.join(delimiter));
  let row = 1;
  const blankRows = new Set<number>();
  for (let index = 0; index < rows; index += 1) {
    if (random.chance(0.05)) {
      row += 1;
      blankRows.add(row);
      addLine(random.pick(['', '  ', delimiter.repeat(columns - 1)]));
    }
    const count = random.chance(0.03) ? columns + random.pick([-1, 1]) : columns;
    const values = Array.from({ length: count }, (_, column) =>
      // Mostly readable ids, sometimes padded; an empty one is a bad row, and that is compared too.
      column === 0 && random.chance(0.9)
        ? `${spaces(random, delimiter)}id${index}${spaces(random, delimiter)}`
        : randomValue(random, delimiter),
    );
    const encoded = values.map((value) => encodeValue(random, value, delimiter));
    row += 1;
    if (encoded.every((value) => value.trim() === '')) blankRows.add(row);
    addLine(encoded.join(delimiter));
  }
  return { text: random.chance(0.5) ? text : text.replace(/(\r\n|\r|\n)$/, ''), blankRows };
};

describe('the CSV reader agrees with fast-csv', () => {
  it('on the fields of every record fast-csv reads, whatever the text and chunk boundaries', async () => {
    const random = randomFrom(20_240_301);
    let compared = 0;
    for (let round = 0; round < 3000; round += 1) {
      const delimiter = random.pick(DELIMITERS);
      const text = soup(random, delimiter);
      const records = frame([text], delimiter);
      const context = `${JSON.stringify(text)} (delimiter ${JSON.stringify(delimiter)})`;
      expect(frame(randomCuts(random, text), delimiter), context).toEqual(records);
      for (const record of records) {
        if (record.problem !== undefined) continue;
        // As the reader used to hand records to fast-csv: one at a time, with a line break.
        const rows = await fastCsvRows(`${record.text}\n`, delimiter);
        expect(
          rows.map((row) => row.values),
          `${context}, record ${record.row}`,
        ).toEqual([record.fields]);
        compared += 1;
      }
      // Where fast-csv can read the whole text, row and line numbers agree too.
      if (records.every((record) => record.problem === undefined)) {
        const rows = await fastCsvRows(text, delimiter);
        const byRow = new Map(records.map((record) => [record.row, record]));
        for (const row of rows) {
          const record = byRow.get(row.row);
          if (record === undefined) {
            // A blank record: the reader skips it, fast-csv gives it as blank values.
            expect(
              row.values.every((value) => value.trim() === ''),
              context,
            ).toBe(true);
            continue;
          }
          expect([row.line, row.values], `${context}, row ${row.row}`).toEqual([record.line, record.fields]);
          byRow.delete(row.row);
        }
        expect([...byRow.keys()], context).toEqual([]);
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  describe('through readSource, on files spanning many read chunks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-source-differential-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const compare = async (
      { text, blankRows }: ReturnType<typeof wellFormedCsv>,
      delimiter: string,
      encoding: 'utf8' | 'utf16le',
      name: string,
    ) => {
      const path = join(dir, name);
      writeFileSync(path, encoding === 'utf8' ? text : Buffer.from(`\ufeff${text}`, 'utf16le'));
      const source: CsvSourceConfig = { type: 'csv', path, delimiter, encoding, idColumn: 'id', columns: {} };
      const items: SourceItem[] = [];
      for await (const batch of readSource(source)) items.push(...batch);

      const [header, ...rows] = await fastCsvRows(text, delimiter);
      const expected = rows.flatMap((row): SourceItem[] => {
        if (blankRows.has(row.row)) return [];
        const at = { row: row.row, line: row.line };
        if (row.values.length !== header!.values.length) {
          const reason = `expected ${header!.values.length} columns (as in the header), found ${row.values.length}`;
          return [{ kind: 'bad', ...at, reason }];
        }
        const id = row.values[0]!.trim();
        if (id === '') return [{ kind: 'bad', ...at, reason: 'missing id: column "id" is empty' }];
        const record = Object.fromEntries(header!.values.map((name, index) => [name, row.values[index]!]));
        return [{ kind: 'record', ...at, id, record }];
      });
      // Compared a row at a time so that a failure names one row rather than dumping the file.
      for (const [index, item] of items.entries()) {
        const want = expected[index];
        const got = item.kind === 'record' ? { ...item, record: { ...item.record } } : item;
        expect(got, `${name}, row ${want?.row}`).toEqual(want);
      }
      expect(items.length, name).toBe(expected.length);
      return items.length;
    };

    it('large files', async () => {
      const random = randomFrom(7);
      let items = 0;
      for (let round = 0; round < 6; round += 1) {
        const delimiter = random.pick(DELIMITERS);
        const file = wellFormedCsv(random, delimiter, 10_000);
        expect(file.text.length).toBeGreaterThan(64 * 1024);
        items += await compare(file, delimiter, round % 2 === 0 ? 'utf8' : 'utf16le', `large-${round}.csv`);
      }
      expect(items).toBeGreaterThan(20_000);
    });

    it('many small files', async () => {
      const random = randomFrom(11);
      for (let round = 0; round < 150; round += 1) {
        const delimiter = random.pick(DELIMITERS);
        await compare(
          wellFormedCsv(random, delimiter, random.below(12)),
          delimiter,
          'utf8',
          `small-${round}.csv`,
        );
      }
    });
  });
});
