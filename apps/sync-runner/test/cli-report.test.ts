import { describe, expect, it } from 'vitest';
import { createLineLogger } from '../src/cli/io.ts';
import { newDestinationCounters } from '../src/engine/summary.ts';
import { errorsCsv } from '../src/report/errors-report.ts';
import { jsonDocument } from '../src/report/json-output.ts';
import { formatSummary } from '../src/report/summary-table.ts';
import { formatTable, printable } from '../src/report/table.ts';
import { resolvePlugin } from '../src/wiring/plugins.ts';

describe('terminal tables', () => {
  it('aligns columns and neutralises control characters in cells', () => {
    const table = formatTable(
      [
        { header: 'name', value: (row: { name: string; n: number }) => row.name },
        { header: 'n', value: (row: { name: string; n: number }) => row.n },
      ],
      [
        { name: 'a', n: 1200 },
        { name: 'evil\u001b[2Jname\nnext', n: 3 },
      ],
    );
    expect(table.split('\n')).toEqual([
      `name${' '.repeat(18)}      n`,
      `a${' '.repeat(21)}  1,200`,
      'evil\\u001b[2Jname next      3',
      '',
    ]);
    expect(printable('a\u0007b\u2028c')).toBe('a\\u0007b\\u2028c');
  });
});

describe('run summary', () => {
  it('shows the source, one row per destination, the notes and what the exit code means', () => {
    const text = formatSummary({
      runId: 'run_x',
      status: 'completed',
      exitCode: 1,
      dryRun: false,
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:02.000Z',
      durationMs: 2000,
      source: { rows: 10, records: 9, badRows: 1, duplicates: 1 },
      destinations: [
        {
          ...newDestinationCounters('mem', 'memory'),
          queued: 9,
          exported: 8,
          rejected: 1,
          pending: 0,
          waitingRetry: 0,
          mirror: {
            confirmed: 10,
            absent: 5,
            maxDeleteFraction: 0.1,
            refused: true,
            reason: '[ferry] [mem] mirror deletes refused: too many',
          },
        },
      ],
    });
    expect(text).toContain('Run run_x completed in 2.0 s');
    expect(text).toContain('Source: 10 rows read, 9 records, 1 bad rows (1 duplicate ids)');
    expect(text).toMatch(/mem\s+memory\s+0\s+9\s+8\s+0\s+1\s+0\s+0\s+0/);
    expect(text).toContain('mirror deletes refused: too many');
    expect(text).toContain('Exit 1: the sync could not run as asked');
  });
});

describe('errors CSV', () => {
  it('protects every cell a spreadsheet would run as a formula', async () => {
    async function* entries() {
      yield {
        kind: 'profile' as const,
        issue: {
          destination: 'mem',
          profileId: '@SUM(1+1)',
          identity: '=HYPERLINK("http://evil")',
          status: 'rejected' as const,
          code: '-1',
          message: '+cmd',
          field: null,
          attempts: 0,
          nextAttemptAt: null,
          updatedAt: 0,
        },
      };
      yield { kind: 'bad_row' as const, runId: 'r', badRow: { row: 3, profileId: '\t=1', reason: 'bad' } };
    }
    let text = '';
    for await (const chunk of errorsCsv(entries())) text += chunk.toString('utf8');
    expect(text.startsWith('\ufeffkind,')).toBe(true);
    const lines = text.slice(1).trimEnd().split('\r\n');
    expect(lines[1]).toBe(
      `rejected,mem,'@SUM(1+1),"'=HYPERLINK(""http://evil"")",,'-1,,'+cmd,0,1970-01-01T00:00:00.000Z`,
    );
    expect(lines[2]).toBe(`bad_row,,'\t=1,,3,bad_row,,bad,,`);
  });
});

describe('JSON documents', () => {
  it('start with the schema version, the command and the exit code', () => {
    expect(
      Object.keys(JSON.parse(jsonDocument('retry', 0, { requeued: { rejected: 1, waiting: 0 } }))),
    ).toEqual(['schemaVersion', 'command', 'exitCode', 'requeued']);
  });
});

describe('log lines', () => {
  it('are redacted last and kept on one line', () => {
    const lines: string[] = [];
    const logger = createLineLogger({
      write: (line) => lines.push(line),
      level: 'info',
      redact: (text) => text.replaceAll('s3cr3t-key', '[redacted]'),
    });
    logger.debug('hidden');
    logger.warn('failed with s3cr3t-key\nand more', { key: 's3cr3t-key', n: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}failed with \[redacted\] and more key="\[redacted\]" n=2\n$/,
    );
  });
});

describe('plugin registry', () => {
  it('resolves known plugins and names the known ones otherwise', () => {
    expect(resolvePlugin('memory', 'mem').name).toBe('memory');
    expect(resolvePlugin('eloqua', 'crm').name).toBe('eloqua');
    expect(resolvePlugin('sendgrid', 'mail').name).toBe('sendgrid');
    expect(() => resolvePlugin('salesforce', 'crm')).toThrow(
      '[ferry] [crm] unknown plugin "salesforce"; known plugins: eloqua, memory, sendgrid',
    );
    expect(() => resolvePlugin('toString', 'crm')).toThrow('unknown plugin');
  });
});
