import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JsonlSourceConfig } from '../src/config/schema.ts';
import { readSource, SourceError, type SourceItem } from '../src/source/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-source-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const jsonl = (content: string | Buffer, extra: Partial<JsonlSourceConfig> = {}): JsonlSourceConfig => {
  fileCount += 1;
  const path = join(dir, `input-${fileCount}.jsonl`);
  writeFileSync(path, content);
  return { type: 'jsonl', path, encoding: 'utf8', idField: 'id', properties: {}, ...extra };
};

const read = async (
  content: string | Buffer,
  extra: Partial<JsonlSourceConfig> = {},
  maxRecordLength?: number,
): Promise<SourceItem[]> => {
  const items: SourceItem[] = [];
  const options = maxRecordLength === undefined ? {} : { maxRecordLength };
  for await (const batch of readSource(jsonl(content, extra), options)) items.push(...batch);
  return items;
};

describe('readSource (JSONL)', () => {
  it('reads one object per line, row = line number', async () => {
    const items = await read('{"id":"a","email":"a@x.com","n":1,"ok":true,"gone":null}\n{"id":2}\n');
    expect(items).toEqual([
      {
        kind: 'record',
        row: 1,
        line: 1,
        id: 'a',
        record: { id: 'a', email: 'a@x.com', n: 1, ok: true, gone: null },
      },
      { kind: 'record', row: 2, line: 2, id: '2', record: { id: 2 } },
    ]);
  });

  it('skips blank lines silently and counts them; reads CRLF and a missing final line break', async () => {
    const items = await read('\n{"id":"a"}\r\n   \r\n\n{"id":"b"}');
    expect(items.map((item) => `${item.row}:${item.id}`)).toEqual(['2:a', '5:b']);
  });

  it('flattens nested objects to dotted keys and keeps arrays as JSON text', async () => {
    const [item] = await read('{"id":"a","address":{"city":"Oslo","geo":{"lat":1}},"tags":["x","y"]}\n', {
      idField: 'id',
    });
    expect(item).toMatchObject({
      record: { id: 'a', 'address.city': 'Oslo', 'address.geo.lat': 1, tags: '["x","y"]' },
    });
  });

  it('accepts a nested id field', async () => {
    const [item] = await read('{"user":{"id":7}}\n', { idField: 'user.id' });
    expect(item).toMatchObject({ kind: 'record', id: '7' });
  });

  it('reports invalid JSON, non-objects and missing ids by line, and goes on', async () => {
    const items = await read(
      [
        '{"id":"1"}',
        '{"id": "2",}',
        '[1,2]',
        '"text"',
        'null',
        '{"email":"x"}',
        '{"id":""}',
        '{"id":"  "}',
        '{"id":true}',
        '{"id":null}',
        '{"id":"11"}',
      ].join('\n'),
    );
    expect(
      items.map((item) => (item.kind === 'bad' ? `${item.row} ${item.reason}` : `${item.row} ok`)),
    ).toEqual([
      '1 ok',
      `2 invalid JSON: Expected double-quoted property name in JSON at position 11 (line 1 column 12)`,
      '3 expected a JSON object, got an array',
      '4 expected a JSON object, got a string',
      '5 expected a JSON object, got null',
      '6 missing id: property "id" is missing',
      '7 missing id: property "id" is empty',
      '8 missing id: property "id" is blank',
      '9 missing id: property "id" must be a string or a number, got a boolean',
      '10 missing id: property "id" is empty',
      '11 ok',
    ]);
  });

  it('reports invalid UTF-8 with the property', async () => {
    const content = Buffer.concat([
      Buffer.from('{"id":"1","name":"ok"}\n{"id":"2","name":"J'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n{"id":"3"}\n'),
    ]);
    const items = await read(content);
    expect(items[1]).toEqual({
      kind: 'bad',
      row: 2,
      line: 2,
      id: '2',
      reason: 'invalid UTF-8 in property "name"',
    });
    expect(items.map((item) => item.kind)).toEqual(['record', 'bad', 'record']);
  });

  it('converts declared property types and reports values that do not fit', async () => {
    const items = await read(
      [
        '{"id":1,"age":"42","vip":1,"at":1709294400000,"code":5}',
        '{"id":2,"age":true}',
        '{"id":3,"at":"soon"}',
        '{"id":4}',
      ].join('\n'),
      { properties: { age: 'number', vip: 'boolean', at: 'date', code: 'string' } },
    );
    expect(items.map((item) => (item.kind === 'bad' ? item.reason : item.record))).toEqual([
      { id: 1, age: 42, vip: true, at: '2024-03-01T12:00:00.000Z', code: '5' },
      'property "age": expected a number, got true',
      'property "at": expected a date such as 2024-03-01 or 2024-03-01T12:00:00Z, got "soon"',
      { id: 4 },
    ]);
  });

  it('reads 100 KB values and skips lines longer than maxRecordLength', async () => {
    const big = 'x'.repeat(100 * 1024);
    const items = await read(
      `{"id":"1","big":"${big}"}\n{"id":"2","big":"${big}"}\n{"id":"3"}\n`,
      {},
      150_000,
    );
    expect(items[0]).toMatchObject({ kind: 'record', record: { big } });
    const limited = await read(`{"id":"1","big":"${big}"}\n{"id":"2"}\n`, {}, 1000);
    expect(limited).toEqual([
      { kind: 'bad', row: 1, line: 1, reason: 'line longer than 1000 characters; skipped' },
      { kind: 'record', row: 2, line: 2, id: '2', record: { id: '2' } },
    ]);
  });

  it('does not report duplicate ids (the engine does, through the store)', async () => {
    expect((await read('{"id":1}\n{"id":1}\n')).map((item) => item.kind)).toEqual(['record', 'record']);
  });

  it('refuses a missing file', async () => {
    const source: JsonlSourceConfig = {
      type: 'jsonl',
      path: join(dir, 'missing.jsonl'),
      encoding: 'utf8',
      idField: 'id',
      properties: {},
    };
    await expect(async () => {
      for await (const _ of readSource(source));
    }).rejects.toThrow(SourceError);
  });
});
