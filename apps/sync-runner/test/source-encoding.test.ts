import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvSourceConfig, JsonlSourceConfig } from '../src/config/schema.ts';
import { readSource, SourceError, type SourceItem } from '../src/source/index.ts';

/**
 * Only bytes that are not text in the file's encoding are refused. U+FFFD is a character like any
 * other (UTF-8 `EF BF BD`, UTF-16LE `FD FF`): a row holding it is read as it is.
 */

const dir = mkdtempSync(join(tmpdir(), 'ferry-source-encoding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const file = (content: Buffer, ext: string): string => {
  fileCount += 1;
  const path = join(dir, `input-${fileCount}.${ext}`);
  writeFileSync(path, content);
  return path;
};

const collect = async (batches: AsyncIterable<readonly SourceItem[]>): Promise<SourceItem[]> => {
  const items: SourceItem[] = [];
  for await (const batch of batches) items.push(...batch);
  return items;
};

const readCsv = (content: Buffer, encoding: CsvSourceConfig['encoding'] = 'utf8') =>
  collect(
    readSource({
      type: 'csv',
      path: file(content, 'csv'),
      delimiter: ',',
      encoding,
      idColumn: 'id',
      columns: {},
    } satisfies CsvSourceConfig),
  );

const readJsonl = (content: Buffer, encoding: JsonlSourceConfig['encoding'] = 'utf8') =>
  collect(
    readSource({
      type: 'jsonl',
      path: file(content, 'jsonl'),
      encoding,
      idField: 'id',
      properties: {},
    } satisfies JsonlSourceConfig),
  );

const outcome = (item: SourceItem | undefined) =>
  item === undefined ? undefined : item.kind === 'bad' ? item.reason : item.record;

const FFFD = '\uFFFD';
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');

describe('a literal U+FFFD is text', () => {
  it('CSV, UTF-8: the row is read with the character', async () => {
    const items = await readCsv(utf8(`id,name\n1,J${FFFD}rg\n2,${FFFD}\n`));
    expect(Buffer.from([0xef, 0xbf, 0xbd]).toString('utf8')).toBe(FFFD);
    expect(items.map(outcome)).toEqual([
      { id: '1', name: `J${FFFD}rg` },
      { id: '2', name: FFFD },
    ]);
  });

  it('CSV, UTF-8: in the header row too', async () => {
    const items = await readCsv(utf8(`id,na${FFFD}me\n1,x\n`));
    expect(items.map(outcome)).toEqual([{ id: '1', [`na${FFFD}me`]: 'x' }]);
  });

  it('CSV, UTF-8: its three bytes split between two reads of the file', async () => {
    // The file is read 64 KiB at a time: put EF | BF BD across the first boundary.
    const head = 'id,name\n';
    const filler = `1,${'a'.repeat(64 * 1024 - head.length - 6)}\n`;
    const content = Buffer.concat([utf8(head + filler), utf8(`2,${FFFD}x\n`)]);
    expect(content.indexOf(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(64 * 1024 - 1);
    const items = await readCsv(content);
    expect(items.map(outcome)[1]).toEqual({ id: '2', name: `${FFFD}x` });
  });

  it('CSV, UTF-16LE', async () => {
    const items = await readCsv(
      Buffer.concat([Buffer.from([0xff, 0xfe]), utf16(`id,name\n1,${FFFD}\n`)]),
      'utf16le',
    );
    expect(items.map(outcome)).toEqual([{ id: '1', name: FFFD }]);
  });

  it('JSONL, UTF-8 and UTF-16LE', async () => {
    expect((await readJsonl(utf8(`{"id":"1","name":"J${FFFD}rg"}\n`))).map(outcome)).toEqual([
      { id: '1', name: `J${FFFD}rg` },
    ]);
    expect((await readJsonl(utf16(`{"id":"1","name":"${FFFD}"}\n`), 'utf16le')).map(outcome)).toEqual([
      { id: '1', name: FFFD },
    ]);
  });
});

describe('bytes that are not text are still refused, row by row', () => {
  it('CSV, UTF-8: a bad byte, an encoded surrogate, a sequence cut by the end of the file', async () => {
    const items = await readCsv(
      Buffer.concat([
        utf8('id,name\n1,'),
        Buffer.from([0xc3, 0x28]),
        utf8(`\n2,${FFFD}\n3,`),
        Buffer.from([0xed, 0xa0, 0x80]),
        utf8('\n4,ok\n5,'),
        Buffer.from([0xe2, 0x82]),
      ]),
    );
    expect(items.map(outcome)).toEqual([
      'invalid UTF-8 in column "name"',
      { id: '2', name: FFFD },
      'invalid UTF-8 in column "name"',
      { id: '4', name: 'ok' },
      'invalid UTF-8 in column "name"',
    ]);
  });

  it('CSV, UTF-8: a bad byte right at a read boundary', async () => {
    const head = 'id,name\n';
    const filler = `1,${'a'.repeat(64 * 1024 - head.length - 6)}\n`;
    const content = Buffer.concat([utf8(`${head}${filler}2,`), Buffer.from([0xe2, 0x28]), utf8('\n3,ok\n')]);
    expect(content.indexOf(0xe2)).toBe(64 * 1024 - 1);
    const items = await readCsv(content);
    expect(items.map(outcome).slice(1)).toEqual(['invalid UTF-8 in column "name"', { id: '3', name: 'ok' }]);
  });

  it('CSV, UTF-8: a header that is not UTF-8 stops the read', async () => {
    await expect(
      readCsv(Buffer.concat([utf8('id,n'), Buffer.from([0xff]), utf8('\n1,x\n')])),
    ).rejects.toThrow(SourceError);
  });

  it('CSV, UTF-16LE: a lone surrogate', async () => {
    const content = Buffer.concat([utf16('id,name\n1,'), Buffer.from([0x00, 0xd8]), utf16('x\n2,ok\n')]);
    expect((await readCsv(content, 'utf16le')).map(outcome)).toEqual([
      'invalid UTF-16 in column "name"',
      { id: '2', name: 'ok' },
    ]);
  });

  it('JSONL, UTF-8', async () => {
    const content = Buffer.concat([
      utf8('{"id":"1","name":"J'),
      Buffer.from([0xc3, 0x28]),
      utf8(`"}\n{"id":"2","name":"${FFFD}"}\n`),
    ]);
    expect((await readJsonl(content)).map(outcome)).toEqual([
      'invalid UTF-8 in property "name"',
      { id: '2', name: FFFD },
    ]);
  });
});
