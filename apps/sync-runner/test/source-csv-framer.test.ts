import { describe, expect, it } from 'vitest';
import { createCsvFramer, type FramedRecord } from '../src/source/csv-framer.ts';

const frame = (chunks: readonly string[], maxRecordLength = 1_000_000): FramedRecord[] => {
  const framer = createCsvFramer({ delimiter: ',', maxRecordLength });
  const out: FramedRecord[] = [];
  for (const chunk of chunks) out.push(...framer.push(chunk));
  out.push(...framer.end());
  return out;
};

/** Inputs that stress every state: quotes, escaped quotes, CR/LF at chunk edges, stray quotes. */
const CORPUS = [
  'a,b\r\n1,2\r\n',
  'a,b\n1,"x\r\ny"\r\n2,"say ""hi"""\n',
  'a\r\r\n\n1\r',
  'a,b\n1,"open\n2,ok\n3,"q"x\n4,ok',
  'a,b\n1,"x"y\n2,ok\n',
  'a,b\n1, "spaced" ,2\n',
  'a,b\n1,"unterminated',
  '"h1","h2"\r\n"",""\r\n"\r\n",x\r\n',
  'a\n"a""\n"b"\n',
  'a,b\n1,2\n\n\n3,4',
];

describe('createCsvFramer', () => {
  it('frames the same records whatever the chunk boundaries', () => {
    for (const text of CORPUS) {
      const whole = frame([text]);
      for (let cut = 0; cut <= text.length; cut += 1) {
        expect(frame([text.slice(0, cut), text.slice(cut)]), `${JSON.stringify(text)} cut at ${cut}`).toEqual(
          whole,
        );
      }
      expect(frame([...text]), `${JSON.stringify(text)} one character at a time`).toEqual(whole);
    }
  });

  it('frames with exact rows and physical lines, counting blank records without returning them', () => {
    expect(
      frame(['a,b\r\n1,"x\r\ny"\r\n\r\n , \n2,z']).map(({ row, line, text, fields }) => [
        row,
        line,
        text,
        fields,
      ]),
    ).toEqual([
      [1, 1, 'a,b', ['a', 'b']],
      [2, 2, '1,"x\r\ny"', ['1', 'x\r\ny']],
      [5, 6, '2,z', ['2', 'z']],
    ]);
  });

  it('cuts fields as fast-csv does', () => {
    const fields = (text: string, delimiter = ',') => {
      const framer = createCsvFramer({ delimiter, maxRecordLength: 1000 });
      return [...framer.push(text), ...framer.end()].map((record) => record.fields);
    };
    // Spaces around quotes go, spaces in unquoted values stay; whitespace before the first delimiter
    // of a record is an empty field, elsewhere it is the value.
    expect(fields(' "a" ,  "b""c"  , d ,\t,  ,')).toEqual([['a', 'b"c', ' d ', '\t', '  ', '']]);
    expect(fields('  ,x\n\u00a0"q"\u3000,y')).toEqual([
      ['', 'x'],
      ['q', 'y'],
    ]);
    expect(fields('a"b,c""d\n"",""""')).toEqual([
      ['a"b', 'c""d'],
      ['', '"'],
    ]);
    expect(fields('\t\t"x"\t y ', '\t')).toEqual([['', '', 'x', ' y ']]);
    expect(fields('"multi\r\nline\rvalue",x')).toEqual([['multi\r\nline\rvalue', 'x']]);
  });

  it('reports a quote still open at the end, and too-long records', () => {
    expect(frame(['a\n"x']).at(-1)?.problem).toEqual({ kind: 'unclosed-quote', quoteLine: 2, column: 0 });
    expect(
      frame(['a\n', 'x'.repeat(50), '\nb'], 20).map((record) => record.problem?.kind ?? record.text),
    ).toEqual(['a', 'too-long', 'b']);
  });
});
