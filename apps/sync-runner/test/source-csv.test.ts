import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CsvSourceConfig } from '../src/config/schema.ts';
import { readSource, SourceError, type SourceItem, sourceColumns } from '../src/source/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-source-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const file = (content: string | Buffer): string => {
  fileCount += 1;
  const path = join(dir, `input-${fileCount}.csv`);
  writeFileSync(path, content);
  return path;
};

const csv = (path: string, extra: Partial<CsvSourceConfig> = {}): CsvSourceConfig => ({
  type: 'csv',
  path,
  delimiter: ',',
  encoding: 'utf8',
  idColumn: 'id',
  columns: {},
  ...extra,
});

/** Every item, out of the arrays readSource gives them in. */
const collect = async (batches: AsyncIterable<readonly SourceItem[]>): Promise<SourceItem[]> => {
  const items: SourceItem[] = [];
  for await (const batch of batches) {
    expect(batch.length).toBeGreaterThan(0);
    items.push(...batch);
  }
  return items;
};

const read = async (content: string | Buffer, extra: Partial<CsvSourceConfig> = {}): Promise<SourceItem[]> =>
  collect(readSource(csv(file(content), extra)));

/** `row:line:kind:id` per item, the shape most assertions care about. */
const shape = (items: readonly SourceItem[]): string[] =>
  items.map((item) => `${item.row}:${item.line}:${item.kind}:${item.id ?? ''}`);

describe('readSource (CSV): well-formed input', () => {
  it('reads records keyed by header, numbering rows like a spreadsheet', async () => {
    const items = await read('id,email,name\n1,a@x.com,Ann\n2,b@x.com,Bob\n');
    expect(items).toEqual([
      { kind: 'record', row: 2, line: 2, id: '1', record: { id: '1', email: 'a@x.com', name: 'Ann' } },
      { kind: 'record', row: 3, line: 3, id: '2', record: { id: '2', email: 'b@x.com', name: 'Bob' } },
    ]);
  });

  it('gives records without a prototype, so any column name is data', async () => {
    const [item] = await read('id,constructor,__proto__\n1,a,b\n');
    expect(item?.kind).toBe('record');
    if (item?.kind !== 'record') return;
    expect(Object.getPrototypeOf(item.record)).toBeNull();
    expect(item.record.constructor).toBe('a');
    expect(Object.keys(item.record)).toEqual(['id', 'constructor', '__proto__']);
  });

  it('strips a UTF-8 byte order mark', async () => {
    const items = await read('\uFEFFid,email\n1,a@x.com\n');
    expect(items[0]).toMatchObject({ kind: 'record', id: '1', record: { id: '1', email: 'a@x.com' } });
  });

  it('reads CRLF, LF, CR-only and mixed line endings with exact line numbers', async () => {
    for (const [name, text] of [
      ['crlf', 'id,v\r\n1,a\r\n2,b\r\n'],
      ['lf', 'id,v\n1,a\n2,b\n'],
      ['cr', 'id,v\r1,a\r2,b\r'],
      ['mixed', 'id,v\r\n1,a\n2,b\r'],
      ['no final break', 'id,v\n1,a\r\n2,b'],
    ] as const) {
      const items = await read(text);
      expect(shape(items), name).toEqual(['2:2:record:1', '3:3:record:2']);
      expect(
        items.map((item) => item.kind === 'record' && item.record.v),
        name,
      ).toEqual(['a', 'b']);
    }
  });

  it('keeps line breaks inside quoted values and counts them in `line`, not in `row`', async () => {
    const items = await read('id,notes\r\n1,"two\r\nlines"\r\n2,"three\nmixed\rlines"\n3,plain\n');
    expect(shape(items)).toEqual(['2:2:record:1', '3:4:record:2', '4:7:record:3']);
    expect(items.map((item) => item.kind === 'record' && item.record.notes)).toEqual([
      'two\r\nlines',
      'three\nmixed\rlines',
      'plain',
    ]);
  });

  it('reads quoted delimiters, doubled quotes and spaces before a quote as fast-csv does', async () => {
    const [item] = await read('id,a,b,c\n1,"x, y","say ""hi""",  "padded"\n');
    expect(item).toMatchObject({ kind: 'record', record: { a: 'x, y', b: 'say "hi"', c: 'padded' } });
  });

  it('skips blank lines and delimiter-only rows silently, still counting them', async () => {
    const items = await read('\n\nid,v\n\n1,a\n   \n,\n2,b\n\n');
    expect(shape(items)).toEqual(['5:5:record:1', '8:8:record:2']);
  });

  it('uses the configured delimiter (semicolon, tab)', async () => {
    expect((await read('id;v\n1;a,b\n', { delimiter: ';' }))[0]).toMatchObject({
      record: { id: '1', v: 'a,b' },
    });
    expect((await read('id\tv\n1\t a \n', { delimiter: '\t' }))[0]).toMatchObject({
      record: { id: '1', v: ' a ' },
    });
  });

  it('decodes latin1 (windows-1252) and UTF-16LE with its byte order mark', async () => {
    const latin1 = Buffer.from('id,name\n1,Jos\xe9 \x80\n', 'latin1');
    expect((await read(latin1, { encoding: 'latin1' }))[0]).toMatchObject({ record: { name: 'José €' } });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,name\n1,Zoë 中\n', 'utf16le')]);
    expect((await read(utf16, { encoding: 'utf16le' }))[0]).toMatchObject({ record: { name: 'Zoë 中' } });
  });

  it('reads 100 KB values whole, across read chunks', async () => {
    const big = 'x'.repeat(100 * 1024);
    const quoted = `${'y'.repeat(60 * 1024)}\n"${'z'.repeat(60 * 1024)}`;
    const items = await read(`id,big,quoted\n1,${big},"${quoted.replaceAll('"', '""')}"\n2,small,s\n`);
    // The quoted value holds a line break, so the next record starts on line 4.
    expect(shape(items)).toEqual(['2:2:record:1', '3:4:record:2']);
    const [first] = items;
    if (first?.kind !== 'record') throw new Error('expected a record');
    expect(first.record.big).toBe(big);
    expect(first.record.quoted).toBe(quoted);
  });

  it('trims ids and header names; ignores columns without a name', async () => {
    const items = await read(' id , email ,\n 7 ,a@x.com,extra\n');
    expect(items[0]).toEqual({
      kind: 'record',
      row: 2,
      line: 2,
      id: '7',
      record: { id: ' 7 ', email: 'a@x.com' },
    });
  });

  it('converts declared column types; empty typed values are null', async () => {
    const items = await read(
      'id,age,vip,signed_up,at,name\n1,42,yes,2024-03-01,2024-03-01 12:30+02:00,\n2,,,,,x\n',
      {
        columns: { age: 'number', vip: 'boolean', signed_up: 'date', at: 'date', name: 'string' },
      },
    );
    expect(items.map((item) => item.kind === 'record' && item.record)).toEqual([
      { id: '1', age: 42, vip: true, signed_up: '2024-03-01', at: '2024-03-01T10:30:00.000Z', name: '' },
      { id: '2', age: null, vip: null, signed_up: null, at: null, name: 'x' },
    ]);
  });

  it('reads a header-only file as no records', async () => {
    expect(await read('id,email\n')).toEqual([]);
  });
});

describe('readSource (CSV): bad rows are reported and reading goes on', () => {
  it('reports wrong column counts', async () => {
    const items = await read('id,a,b\n1,x\n2,x,y,z\n3,x,y\n');
    expect(items).toEqual([
      { kind: 'bad', row: 2, line: 2, reason: 'expected 3 columns (as in the header), found 2' },
      { kind: 'bad', row: 3, line: 3, reason: 'expected 3 columns (as in the header), found 4' },
      { kind: 'record', row: 4, line: 4, id: '3', record: { id: '3', a: 'x', b: 'y' } },
    ]);
  });

  it('reports text after a closing quote in that row only', async () => {
    const items = await read('id,a,b\n1,"x"y,z\n2,ok,ok\n');
    expect(items[0]).toEqual({
      kind: 'bad',
      row: 2,
      line: 2,
      reason: 'broken quoting in column 2 ("a"): text after the closing quote',
    });
    expect(shape(items)).toEqual(['2:2:bad:', '3:3:record:2']);
  });

  it('reports a stray quote at the row where it opened and resumes on the next line', async () => {
    const items = await read('id,a,b\n1,"stray,x\n2,ok,ok\n3,"q",z\n4,ok,ok\n');
    expect(items[0]).toEqual({
      kind: 'bad',
      row: 2,
      line: 2,
      reason:
        'broken quoting: the quote that opens column 2 ("a") on line 2 is never closed; reading resumed on line 3',
    });
    expect(shape(items)).toEqual(['2:2:bad:', '3:3:record:2', '4:4:record:3', '5:5:record:4']);
  });

  it('reports an unclosed quote running to the end of the file without losing the rows after it', async () => {
    const items = await read('id,a\n1,ok\n2,"never closed\n3,ok\n4,ok\n');
    expect(shape(items)).toEqual(['2:2:record:1', '3:3:bad:', '4:4:record:3', '5:5:record:4']);
    expect(items[1]).toMatchObject({ reason: expect.stringContaining('on line 3 is never closed') });
  });

  it('reports an unclosed quote on the last line', async () => {
    const items = await read('id,a\n1,"open');
    expect(items).toEqual([
      {
        kind: 'bad',
        row: 2,
        line: 2,
        reason: 'broken quoting: the quote that opens column 2 ("a") on line 2 is never closed',
      },
    ]);
  });

  it('gives up on a runaway quote at maxRecordLength instead of buffering the file', async () => {
    const rows = Array.from({ length: 2000 }, (_, index) => `${index + 3},ok`).join('\n');
    const path = file(`id,a\n1,ok\n2,"open\n${rows}\n`);
    const items = await collect(readSource(csv(path), { maxRecordLength: 1000 }));
    expect(items.filter((item) => item.kind === 'bad')).toHaveLength(1);
    expect(items.filter((item) => item.kind === 'record')).toHaveLength(2001);
    expect(items[1]).toMatchObject({ kind: 'bad', row: 3, line: 3 });
    expect(items.at(-1)).toMatchObject({ kind: 'record', id: '2002', row: 2003, line: 2003 });
  });

  it('skips a line longer than maxRecordLength', async () => {
    const path = file(`id,a\n1,${'x'.repeat(5000)}\n2,ok\n`);
    const items = await collect(readSource(csv(path), { maxRecordLength: 1000 }));
    expect(items).toEqual([
      { kind: 'bad', row: 2, line: 2, reason: 'row longer than 1000 characters; skipped to the next line' },
      { kind: 'record', row: 3, line: 3, id: '2', record: { id: '2', a: 'ok' } },
    ]);
  });

  it('reports invalid UTF-8 with the row and column', async () => {
    const content = Buffer.concat([
      Buffer.from('id,name,city\n1,ok,Oslo\n2,'),
      Buffer.from([0x4a, 0xc3, 0x28]),
      Buffer.from(',Rome\n3,ok,Paris\n'),
    ]);
    const items = await read(content);
    expect(items[1]).toEqual({
      kind: 'bad',
      row: 3,
      line: 3,
      id: '2',
      reason: 'invalid UTF-8 in column "name"',
    });
    expect(shape(items)).toEqual(['2:2:record:1', '3:3:bad:2', '4:4:record:3']);
  });

  it('reports a missing id', async () => {
    const items = await read('id,email\n,a@x.com\n   ,b@x.com\n3,c@x.com\n');
    expect(items.slice(0, 2)).toEqual([
      { kind: 'bad', row: 2, line: 2, reason: 'missing id: column "id" is empty' },
      { kind: 'bad', row: 3, line: 3, reason: 'missing id: column "id" is empty' },
    ]);
  });

  it('reports values that do not fit the declared type, with the id', async () => {
    const items = await read(
      'id,age,vip,since\n1,abc,yes,2024-01-01\n2,1,maybe,2024-01-01\n3,1,no,2024-02-30\n4,0x10,no,\n',
      {
        columns: { age: 'number', vip: 'boolean', since: 'date' },
      },
    );
    expect(items.map((item) => item.kind === 'bad' && `${item.id} ${item.reason}`)).toEqual([
      '1 column "age": expected a number, got "abc"',
      '2 column "vip": expected true or false (also yes/no, y/n, 1/0), got "maybe"',
      '3 column "since": expected a date such as 2024-03-01 or 2024-03-01T12:00:00Z, got "2024-02-30"',
      '4 column "age": expected a number, got "0x10"',
    ]);
  });

  it('keeps file order when bad and good rows interleave', async () => {
    const items = await read('id,a\n1,x\n2,"y"z\n3\n4,w\n5,"open\n6,v\n');
    expect(shape(items)).toEqual([
      '2:2:record:1',
      '3:3:bad:',
      '4:4:bad:',
      '5:5:record:4',
      '6:6:bad:',
      '7:7:record:6',
    ]);
  });

  it('does not report duplicate ids (the engine does, through the store)', async () => {
    expect(shape(await read('id\n1\n1\n'))).toEqual(['2:2:record:1', '3:3:record:1']);
  });
});

describe('readSource (CSV): problems with the file as a whole', () => {
  const failure = async (
    content: string | Buffer,
    extra: Partial<CsvSourceConfig> = {},
  ): Promise<SourceError> => {
    try {
      await read(content, extra);
    } catch (error) {
      expect(error).toBeInstanceOf(SourceError);
      return error as SourceError;
    }
    throw new Error('expected a SourceError');
  };

  it('refuses an empty file and a missing one', async () => {
    expect((await failure('')).message).toContain('the file is empty: no header row');
    expect((await failure('\n \n')).message).toContain('the file is empty: no header row');
    const items = readSource(csv(join(dir, 'nope.csv')));
    await expect(async () => {
      for await (const _ of items);
    }).rejects.toThrow(/nope\.csv: file not found/);
  });

  it('refuses a header without the id column, naming the columns', async () => {
    expect((await failure('email,name\n1,2\n')).message).toContain(
      'id column "id" (source.idColumn) is not in the header; columns: "email", "name"',
    );
  });

  it('refuses duplicate column names and declared columns that do not exist', async () => {
    expect((await failure('id,a,a\n')).message).toContain('two columns named "a"');
    expect((await failure('id,a\n', { columns: { b: 'number' } })).message).toContain(
      'column "b" in source.columns is not in the header',
    );
  });

  it('refuses a header that is not valid in the encoding, suggesting source.encoding', async () => {
    const error = await failure(Buffer.from('id,nam\xe9\n1,x\n', 'latin1'));
    expect(error.message).toContain('the header row is not valid UTF-8; is source.encoding right?');
  });

  it('refuses a header with broken quoting', async () => {
    expect((await failure('id,"a\n1,2\n')).message).toContain('cannot read the header row (line 1)');
  });
});

describe('sourceColumns', () => {
  it('gives the CSV header names, checked like readSource does', async () => {
    expect(await sourceColumns(csv(file('\n id ,email,,name\n1,a,b,c\n')))).toEqual(['id', 'email', 'name']);
    await expect(sourceColumns(csv(file('email\n')))).rejects.toThrow(SourceError);
    await expect(sourceColumns(csv(file('')))).rejects.toThrow('the file is empty');
  });

  it('has nothing to say about JSONL', async () => {
    expect(
      await sourceColumns({
        type: 'jsonl',
        path: 'unused.jsonl',
        encoding: 'utf8',
        idField: 'id',
        properties: {},
      }),
    ).toBeUndefined();
  });
});

describe('readSource (CSV): streaming', () => {
  it('stops reading when the consumer breaks, and can be aborted', async () => {
    const path = file(`id\n${Array.from({ length: 50_000 }, (_, index) => index + 1).join('\n')}\n`);
    // Items come a chunk's worth at a time: breaking after the first chunk leaves most of the file unread.
    let count = 0;
    for await (const items of readSource(csv(path))) {
      count += items.length;
      break;
    }
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(50_000);

    const controller = new AbortController();
    const reading = (async () => {
      let seen = 0;
      for await (const items of readSource(csv(path), { signal: controller.signal })) {
        seen += items.length;
        controller.abort();
      }
      return seen;
    })();
    await expect(reading).rejects.toThrow(/abort/i);
  });
});
