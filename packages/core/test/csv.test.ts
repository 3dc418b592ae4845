import { Readable } from 'node:stream';
import fc from 'fast-check';
import { writeToString } from 'fast-csv';
import { describe, expect, it } from 'vitest';
import {
  CsvError,
  type CsvParseItem,
  type CsvParseOptions,
  type CsvValue,
  type CsvWriteOptions,
  createCsvRowEncoder,
  encodeCsvRow,
  parseCsv,
  writeCsv,
} from '../src/csv.ts';

const collect = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
};

const written = async (rows: Iterable<readonly CsvValue[]>, options: CsvWriteOptions): Promise<Buffer> =>
  Buffer.concat(await collect(writeCsv(rows, options)));

const parsed = (input: string | Buffer | Readable, options?: CsvParseOptions): Promise<CsvParseItem[]> =>
  collect(parseCsv(input, options));

/** Strings rich in what CSV must escape: delimiters, quotes, every line break, spaces, emoji, NUL. */
const nastyString = fc.string({
  unit: fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        ',',
        ';',
        '"',
        '\r',
        '\n',
        '\r\n',
        ' ',
        '\t',
        "'",
        '=',
        '-',
        '+',
        '@',
        '|',
        '\0',
      ),
    },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom('👩‍👩‍👧', 'é', 'ß', '中', '\u00a0', '\ufeff', '\u2028') },
  ),
  maxLength: 12,
});

/** Unique non-empty column names, with the same nastiness. */
const headerNames = (count: number) =>
  fc.uniqueArray(
    nastyString.filter((name) => name !== ''),
    { minLength: count, maxLength: count },
  );

const table = fc.integer({ min: 1, max: 5 }).chain((columns) =>
  fc.record({
    headers: headerNames(columns),
    rows: fc.array(fc.array(nastyString, { minLength: columns, maxLength: columns }), { maxLength: 8 }),
    lineBreak: fc.constantFrom('\r\n' as const, '\n' as const),
    delimiter: fc.constantFrom(',', ';', '\t', '|'),
  }),
);

const recordOf = (headers: readonly string[], values: readonly string[]): Record<string, string> =>
  Object.fromEntries(headers.map((header, index) => [header, values[index]!]));

describe('encodeCsvRow', () => {
  it('quotes only what RFC 4180 needs and doubles quotes', () => {
    expect(encodeCsvRow(['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\rx', 'crlf\r\ny'])).toBe(
      'plain,"a,b","say ""hi""","two\nlines","cr\rx","crlf\r\ny"\r\n',
    );
    expect(encodeCsvRow(['😀 ünï', "it's", 'a|b', '  padded  '])).toBe("😀 ünï,it's,a|b,  padded  \r\n");
  });

  it('writes null and undefined as empty fields', () => {
    expect(encodeCsvRow([null, 'x', undefined, ''])).toBe(',x,,\r\n');
  });

  it('keeps one-field rows and whitespace-only fields from reading as blank lines', () => {
    expect(encodeCsvRow([''])).toBe('""\r\n');
    expect(encodeCsvRow([null])).toBe('""\r\n');
    expect(encodeCsvRow(['  '])).toBe('"  "\r\n');
    expect(encodeCsvRow([' ', 'x'])).toBe('" ",x\r\n');
    expect(encodeCsvRow([])).toBe('\r\n');
    // Would be taken for a byte order mark at the start of a file.
    expect(encodeCsvRow(['\ufeffx', 'y'])).toBe('"\ufeffx",y\r\n');
  });

  it('honours the delimiter and line break options', () => {
    const encode = createCsvRowEncoder({ delimiter: ';', lineBreak: '\n' });
    expect(encode(['a;b', 'c,d', 'e'])).toBe('"a;b";c,d;e\n');
    expect(encodeCsvRow(['a\tb', 'c'], { delimiter: '\t' })).toBe('"a\tb"\tc\r\n');
    expect(encodeCsvRow(['a]b', 'c'], { delimiter: ']' })).toBe('"a]b"]c\r\n');
  });

  it('rejects unusable options', () => {
    expect(() => createCsvRowEncoder({ delimiter: '"' })).toThrow(TypeError);
    expect(() => createCsvRowEncoder({ delimiter: ',,' })).toThrow(TypeError);
    expect(() => createCsvRowEncoder({ delimiter: '\n' })).toThrow(TypeError);
    expect(() => createCsvRowEncoder({ lineBreak: '\r' as '\n' })).toThrow(TypeError);
  });

  it('protects spreadsheet users from formulas when asked', () => {
    const encode = createCsvRowEncoder({ formulaProtection: true });
    expect(encode(['=1+1', '+1 555', '-5', '@SUM(A1)', '\tx', '\rx', 'a=b', 'safe'])).toBe(
      `'=1+1,'+1 555,'-5,'@SUM(A1),'\tx,"'\rx",a=b,safe\r\n`,
    );
    expect(encode(['=HYPERLINK("http://x","y")'])).toBe(`"'=HYPERLINK(""http://x"",""y"")"\r\n`);
    expect(encodeCsvRow(['=1+1', '-5'])).toBe('=1+1,-5\r\n');
  });

  it('agrees with fast-csv’s formatter on ordinary data', async () => {
    // fast-csv deletes NUL, quotes `|`, and leaves the blank-line and BOM look-alikes unquoted; see csv.ts.
    const ordinary = nastyString.filter((value) => !/[\0|]|^\s+$|^\ufeff/.test(value) && value !== '');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 5 }).chain((columns) =>
          fc.array(fc.array(ordinary, { minLength: columns, maxLength: columns }), {
            minLength: 1,
            maxLength: 5,
          }),
        ),
        async (rows) => {
          const reference = await writeToString(rows, { rowDelimiter: '\r\n', includeEndRowDelimiter: true });
          expect(rows.map((row) => encodeCsvRow(row)).join('')).toBe(reference);
        },
      ),
    );
  });
});

describe('writeCsv', () => {
  it('writes the header row, then every row exactly as encodeCsvRow encodes it', async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.boolean(),
        fc.integer({ min: 1, max: 64 }),
        async ({ headers, rows, lineBreak, delimiter }, formulaProtection, chunkBytes) => {
          const format = { lineBreak, delimiter, formulaProtection };
          const bytes = await written(rows, { headers, chunkBytes, ...format });
          const expected = [headers, ...rows].map((row) => encodeCsvRow(row, format)).join('');
          expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
          // What plugins measure is what they send.
          const measured = [headers, ...rows].reduce(
            (sum, row) => sum + Buffer.byteLength(encodeCsvRow(row, format)),
            0,
          );
          expect(bytes.length).toBe(measured);
        },
      ),
    );
  });

  it('takes records by header name and async input', async () => {
    async function* rows() {
      yield { email: 'a@x.io', name: 'A, Jr.' };
      yield { name: 'B', ignored: 'nope' };
    }
    const bytes = Buffer.concat(await collect(writeCsv(rows(), { headers: ['email', 'name'] })));
    expect(bytes.toString()).toBe('email,name\r\na@x.io,"A, Jr."\r\n,B\r\n');
  });

  it('writes a BOM when asked, and no header row when told not to', async () => {
    const bytes = await written([['1']], { headers: ['n'], bom: true, writeHeaders: false });
    expect([...bytes]).toEqual([0xef, 0xbb, 0xbf, 0x31, 0x0d, 0x0a]);
  });

  it('writes only the header row for no rows', async () => {
    expect((await written([], { headers: ['a', 'b'] })).toString()).toBe('a,b\r\n');
  });

  it('gathers rows into chunks rather than one chunk per row', async () => {
    const rows = Array.from({ length: 10_000 }, (_, index) => [
      `user${index}@example.com`,
      'Ada',
      'Lovelace',
    ]);
    const chunks = await collect(writeCsv(rows, { headers: ['email', 'first', 'last'] }));
    expect(chunks.length).toBeLessThan(10);
    expect(chunks.length).toBeGreaterThan(1);
  });

  it('refuses a row with the wrong number of values', async () => {
    await expect(written([['1', '2'], ['3']], { headers: ['a', 'b'] })).rejects.toThrow(
      'CSV row 2 has 1 values for 2 headers',
    );
  });
});

describe('parseCsv', () => {
  it('reads back what writeCsv wrote, for any strings', async () => {
    await fc.assert(
      fc.asyncProperty(table, async ({ headers, rows, lineBreak, delimiter }) => {
        const bytes = await written(rows, { headers, lineBreak, delimiter });
        const items = await parsed(bytes, { delimiter });
        expect(items.every((item) => item.kind === 'record')).toBe(true);
        expect(items.map((item) => (item.kind === 'record' ? { ...item.record } : item))).toEqual(
          rows.map((row) => recordOf(headers, row)),
        );
        expect(items.map((item) => item.row)).toEqual(rows.map((_, index) => index + 2));
      }),
      { numRuns: 300 },
    );
  });

  it('numbers physical lines across values with line breaks and blank lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.array(fc.boolean(), { maxLength: 10 }),
        async ({ headers, rows, lineBreak }, blanks) => {
          // Interleave blank lines, then compute where each record starts by counting line breaks.
          let text = encodeCsvRow(headers, { lineBreak });
          const starts: { row: number; line: number }[] = [];
          let row = 1;
          for (const [index, values] of rows.entries()) {
            if (blanks[index] === true) {
              text += lineBreak;
              row += 1;
            }
            row += 1;
            starts.push({ row, line: text.split(/\r\n|\r|\n/).length });
            text += encodeCsvRow(values, { lineBreak });
          }
          const items = await parsed(text);
          expect(items.map(({ row, line }) => ({ row, line }))).toEqual(starts);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('strips a UTF-8 BOM, even when it arrives one byte at a time', async () => {
    const bytes = Buffer.from('\ufeffemail,name\r\na@x.io,A\r\n', 'utf8');
    const expected = [{ kind: 'record', row: 2, line: 2, record: { email: 'a@x.io', name: 'A' } }];
    expect(await parsed(bytes)).toEqual(expected);
    const trickle = Readable.from([...bytes].map((byte) => Buffer.from([byte])));
    expect(await parsed(trickle)).toEqual(expected);
  });

  it('accepts CRLF, LF and CR line breaks', async () => {
    for (const lineBreak of ['\r\n', '\n', '\r']) {
      const items = await parsed(['a,b', '1,2', '3,"x\r\ny"'].join(lineBreak) + lineBreak);
      expect(items).toEqual([
        { kind: 'record', row: 2, line: 2, record: { a: '1', b: '2' } },
        { kind: 'record', row: 3, line: 3, record: { a: '3', b: 'x\r\ny' } },
      ]);
    }
  });

  it('reports rows with the wrong number of columns with their row numbers and goes on', async () => {
    const text =
      'email,first,last\n' +
      'a@x.io,A,One\n' +
      'b@x.io,B\n' +
      '"c@x.io","C\nC",Three,extra\n' +
      'd@x.io,D,Four\n';
    expect(await parsed(text)).toEqual([
      { kind: 'record', row: 2, line: 2, record: { email: 'a@x.io', first: 'A', last: 'One' } },
      { kind: 'invalid', row: 3, line: 3, error: 'expected 3 columns, found 2', values: ['b@x.io', 'B'] },
      {
        kind: 'invalid',
        row: 4,
        line: 4,
        error: 'expected 3 columns, found 4',
        values: ['c@x.io', 'C\nC', 'Three', 'extra'],
      },
      { kind: 'record', row: 5, line: 6, record: { email: 'd@x.io', first: 'D', last: 'Four' } },
    ]);
  });

  it('keeps bad rows in order with good ones under backpressure', async () => {
    const lines = ['id,name'];
    for (let index = 0; index < 3_000; index += 1)
      lines.push(index % 7 === 0 ? `${index}` : `${index},n${index}`);
    const items = await parsed(lines.join('\n'));
    expect(items.map((item) => item.row)).toEqual(Array.from({ length: 3_000 }, (_, index) => index + 2));
    expect(items.filter((item) => item.kind === 'invalid')).toHaveLength(Math.ceil(3_000 / 7));
  });

  it('skips blank lines but counts them', async () => {
    expect(await parsed('\na,b\n\n1,2\n   \n\n')).toEqual([
      { kind: 'record', row: 4, line: 4, record: { a: '1', b: '2' } },
    ]);
  });

  it('yields nothing for an empty input or a header alone', async () => {
    expect(await parsed('')).toEqual([]);
    expect(await parsed(Buffer.alloc(0))).toEqual([]);
    expect(await parsed('a,b\r\n')).toEqual([]);
    expect(await parsed('\ufeff')).toEqual([]);
  });

  it('takes column names from the caller, or numbers columns without headers', async () => {
    expect(await parsed('1,2\n3\n', { headers: ['x', 'y'] })).toEqual([
      { kind: 'record', row: 1, line: 1, record: { x: '1', y: '2' } },
      { kind: 'invalid', row: 2, line: 2, error: 'expected 2 columns, found 1', values: ['3'] },
    ]);
    expect(await parsed('1;2\n3;4;5\n', { headers: false, delimiter: ';' })).toEqual([
      { kind: 'record', row: 1, line: 1, record: { 1: '1', 2: '2' } },
      { kind: 'invalid', row: 2, line: 2, error: 'expected 2 columns, found 3', values: ['3', '4', '5'] },
    ]);
  });

  it('leaves out columns without a name and keeps __proto__ as a plain key', async () => {
    const [item] = await parsed('email,,__proto__\na@x.io,skip,p\n');
    expect(item?.kind === 'record' && Object.entries(item.record)).toEqual([
      ['email', 'a@x.io'],
      ['__proto__', 'p'],
    ]);
  });

  it('stops with a CsvError on a file it cannot read further', async () => {
    await expect(parsed('a,a\n1,2\n')).rejects.toThrow(new CsvError('CSV has two columns named "a"', 0));
    const unclosed = parsed('a,b\n1,2\n3,"open\n', { headers: true });
    await expect(unclosed).rejects.toBeInstanceOf(CsvError);
    await expect(unclosed).rejects.toThrow(/cannot read CSV after row \d+: Parse Error: missing closing/);
  });

  it('rethrows an error of the input stream as it is', async () => {
    const failure = new Error('disk on fire');
    const input = new Readable({
      read() {
        this.push('a,b\n1,2\n');
        this.destroy(failure);
      },
    });
    await expect(parsed(input)).rejects.toBe(failure);
  });

  it('streams: reads the input only as fast as items are taken, and releases it when stopped', async () => {
    let pulled = 0;
    const input = Readable.from(
      (function* () {
        yield 'id,name\n';
        for (let chunk = 0; chunk < 10_000; chunk += 1) {
          pulled += 1;
          yield Array.from({ length: 100 }, (_, index) => `${chunk * 100 + index},name\n`).join('');
        }
      })(),
    );
    let taken = 0;
    for await (const item of parseCsv(input)) {
      expect(item.kind).toBe('record');
      taken += 1;
      if (taken === 5_000) break;
    }
    expect(pulled).toBeLessThan(200);
    expect(input.destroyed).toBe(true);
  });
});
