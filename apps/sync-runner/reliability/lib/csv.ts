/**
 * RFC 4180, strictly, independent of the runner's own CSV code: quoted fields with `""`, CRLF or LF
 * row ends. Throws on a quote in an unquoted field or text after a closing quote, so a report that
 * a spreadsheet would misread fails the check instead of being read leniently.
 */
export const parseCsvStrict = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return rows;
  for (;;) {
    let cell = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= n) throw new Error(`unclosed quote in row ${rows.length + 1}`);
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        cell += c;
        i += 1;
      }
      if (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n')
        throw new Error(`text after a closing quote in row ${rows.length + 1}`);
    } else {
      while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`a quote inside an unquoted field in row ${rows.length + 1}`);
        cell += text[i];
        i += 1;
      }
    }
    row.push(cell);
    if (i >= n) {
      rows.push(row);
      return rows;
    }
    if (text[i] === ',') {
      i += 1;
      continue;
    }
    // End of row: CRLF or LF.
    if (text[i] === '\r') i += 1;
    if (text[i] === '\n') i += 1;
    rows.push(row);
    row = [];
    if (i >= n) return rows;
  }
};
