/*
 * Plain-text tables for the terminal. Vendor messages and source values end up in cells, so control
 * characters are replaced: a crafted value must not be able to move the cursor or recolour the
 * terminal (or forge a line of the report).
 */

export type Align = 'left' | 'right';

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | null | undefined;
  readonly align?: Align;
  /** Longer cells are cut with `…`. */
  readonly maxWidth?: number;
}

// C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** The text with control characters shown as `\uXXXX` (tab and newline as spaces). */
export const printable = (text: string): string =>
  text.replace(CONTROL, (char) =>
    char === '\t' || char === '\n' || char === '\r'
      ? ' '
      : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

export const formatCount = (value: number): string => value.toLocaleString('en-US');

const cell = (value: string | number | null | undefined, maxWidth: number | undefined): string => {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'number'
        ? formatCount(value)
        : printable(value);
  return maxWidth !== undefined && text.length > maxWidth
    ? `${text.slice(0, Math.max(1, maxWidth - 1))}…`
    : text;
};

/** Columns separated by two spaces; numbers right-aligned by default. Ends with a newline. */
export const formatTable = <Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string => {
  const cells = rows.map((row) => columns.map((column) => cell(column.value(row), column.maxWidth)));
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((line) => line[index]?.length ?? 0)),
  );
  const aligned = (text: string, index: number, align: Align): string =>
    align === 'right' ? text.padStart(widths[index] ?? 0) : text.padEnd(widths[index] ?? 0);
  const alignOf = (index: number, sample: Row | undefined): Align => {
    const column = columns[index]!;
    if (column.align !== undefined) return column.align;
    return sample !== undefined && typeof column.value(sample) === 'number' ? 'right' : 'left';
  };
  const render = (line: readonly string[]): string =>
    line
      .map((text, index) => aligned(text, index, alignOf(index, rows[0])))
      .join('  ')
      .trimEnd();
  return `${[render(columns.map((column) => column.header)), ...cells.map(render)].join('\n')}\n`;
};
