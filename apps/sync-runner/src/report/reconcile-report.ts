import { type CsvValue, encodeCsvRow } from '@ferry/core';
import type { Drift, FieldDrift, ReconcileReport } from '../reconcile/reconcile.ts';
import { formatCount, formatTable } from './table.ts';

/*
 * `ferry reconcile`: the counts, then one row per drifted field (missing and unknown profiles have
 * one row each). The CSV holds every row, with formula protection: the cells are vendor data.
 */

export const RECONCILE_CSV_HEADERS = [
  'kind',
  'profile_id',
  'identity',
  'field',
  'ferry_value',
  'vendor_value',
] as const;

interface Line {
  readonly kind: Drift['kind'];
  readonly profileId: string;
  readonly identity: string;
  readonly field: string;
  readonly ferry: string;
  readonly vendor: string;
}

const shown = (value: FieldDrift['ferry'] | FieldDrift['vendor']): string =>
  value === null ? '' : value instanceof Date ? value.toISOString() : String(value);

const linesOf = (report: ReconcileReport): Line[] =>
  report.drift.flatMap((entry): Line[] => {
    const base = { kind: entry.kind, profileId: entry.profileId ?? '', identity: entry.identity };
    if (entry.fields === undefined || entry.fields.length === 0)
      return [{ ...base, field: '', ferry: '', vendor: '' }];
    return entry.fields.map((field) => ({
      ...base,
      field: field.field,
      ferry: shown(field.ferry),
      vendor: shown(field.vendor),
    }));
  });

export const formatReconcile = (report: ReconcileReport, limit: number): string => {
  const { counts } = report;
  const head =
    `Reconciled ${report.destination}: ${formatCount(report.vendorRecords)} contacts at the vendor, ` +
    `${formatCount(report.confirmed)} confirmed by Ferry (${formatCount(report.compared)} compared field by field, ` +
    `${formatCount(report.unsynced)} presence only).\n` +
    `  missing at the vendor: ${formatCount(counts.missing)}\n` +
    `  changed at the vendor: ${formatCount(counts.changed)}\n` +
    `  unknown to Ferry:      ${formatCount(counts.unknown)}\n`;
  const fixed =
    report.requeued === undefined
      ? ''
      : `Re-queued ${formatCount(report.requeued)} profiles: the next \`ferry sync\` sends them again.\n`;
  if (report.drift.length === 0) return `${head}No drift.\n`;
  const lines = linesOf(report);
  const table = formatTable(
    [
      { header: 'kind', value: (l: Line) => l.kind },
      { header: 'profile', value: (l: Line) => l.profileId, maxWidth: 40 },
      { header: 'identity', value: (l: Line) => l.identity, maxWidth: 40 },
      { header: 'field', value: (l: Line) => l.field, maxWidth: 30 },
      { header: 'ferry', value: (l: Line) => l.ferry, maxWidth: 40 },
      { header: 'vendor', value: (l: Line) => l.vendor, maxWidth: 40 },
    ],
    lines.slice(0, limit),
  );
  const more =
    lines.length > limit
      ? `… ${formatCount(lines.length - limit)} more rows (--csv or --json for all)\n`
      : '';
  return `${head}\n${table}${more}${fixed}`;
};

/** Every drift row as CSV (UTF-8 with a BOM for spreadsheets; formulas neutralised). */
export const reconcileCsv = (report: ReconcileReport): string => {
  const options = { formulaProtection: true } as const;
  const rows = linesOf(report).map((line): CsvValue[] => [
    line.kind,
    line.profileId,
    line.identity,
    line.field,
    line.ferry,
    line.vendor,
  ]);
  return `\ufeff${[RECONCILE_CSV_HEADERS as readonly CsvValue[], ...rows].map((row) => encodeCsvRow(row, options)).join('')}`;
};
