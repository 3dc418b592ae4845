import { parseCsv } from '@ferry/core';
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

/** Small deterministic PRNG, so a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
  return seed / 2_147_483_648;
};

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

  it('frames with exact rows and physical lines', () => {
    expect(frame(['a,b\r\n1,"x\r\ny"\r\n\r\n2,z']).map(({ row, line, text }) => [row, line, text])).toEqual([
      [1, 1, 'a,b'],
      [2, 2, '1,"x\r\ny"'],
      [3, 4, ''],
      [4, 5, '2,z'],
    ]);
  });

  it('hands fast-csv only records it parses as exactly one row', async () => {
    const next = random(42);
    const alphabet = ['a', 'b', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'é'];
    for (let round = 0; round < 300; round += 1) {
      let text = '';
      const length = Math.floor(next() * 40);
      for (let index = 0; index < length; index += 1) text += alphabet[Math.floor(next() * alphabet.length)];
      for (const record of frame([text])) {
        if (record.problem !== undefined || record.text.trim() === '') continue;
        const rows = [];
        for await (const item of parseCsv(`${record.text}\n`, { headers: false })) rows.push(item);
        expect(rows, JSON.stringify(record.text)).toHaveLength(1);
      }
    }
  });

  it('reports a quote still open at the end, and too-long records', () => {
    expect(frame(['a\n"x']).at(-1)?.problem).toEqual({ kind: 'unclosed-quote', quoteLine: 2, column: 0 });
    expect(
      frame(['a\n', 'x'.repeat(50), '\nb'], 20).map((record) => record.problem?.kind ?? record.text),
    ).toEqual(['a', 'too-long', 'b']);
  });
});
