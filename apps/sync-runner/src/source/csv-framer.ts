/*
 * Reads decoded CSV text as records: their fields, exact row and line numbers, and broken records
 * reported instead of ending the read. One pass over the characters; nothing else parses the fields.
 *
 * Fields are exactly what fast-csv (core's `parseCsv`, which used to parse them after this framer)
 * makes of a record, by its rules: a quote opens a quoted field only at the start of a field, possibly
 * after whitespace, and that whitespace is dropped, as is whitespace after the closing quote; `""`
 * inside quotes is a quote; an unquoted value is kept as it is, spaces included, except that a record
 * starting with whitespace and a delimiter has an empty first field. test/source-csv-differential.test.ts
 * checks this against fast-csv on random text.
 *
 * fast-csv itself is not used because it cannot do three things the runner needs. It has no line
 * numbers. It cannot go on after broken quoting: it throws and the stream ends, so one stray `"` would
 * stop a sync. And an unclosed quote makes it buffer the whole rest of the file, re-scanning it on every
 * chunk, before it fails at the end. This framer also bounds how long a record may grow. (It used to
 * frame records for fast-csv; parsing every character twice cost more than the rest of the reader.)
 *
 * Recovering from a runaway quote: the likeliest cause of a quoted field that never closes, or that
 * "closes" on a later line followed by text, is a stray quote on the line where it opened. So that
 * record is reported and reading resumes on the line after the quote opened. Memory stays bounded by
 * `maxRecordLength`: nothing is kept beyond the current record.
 */

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/** Why a framed record could not be framed cleanly. */
export type FrameProblem =
  /**
   * A quoted field opened on `quoteLine` never closes (or closes on a later line followed by text).
   * `resumedAt`: the line reading went on from, when the quote had run past its own line.
   */
  | {
      readonly kind: 'unclosed-quote';
      readonly quoteLine: number;
      readonly column: number;
      readonly resumedAt?: number;
    }
  /** `"abc"x`: text after a closing quote, on the same line. `column` is 0-based. */
  | { readonly kind: 'text-after-quote'; readonly column: number }
  /** The record grew past `maxRecordLength`; the rest of its line was skipped. */
  | { readonly kind: 'too-long' };

export interface FramedRecord {
  /**
   * The record's text without its line break; partial when `problem` is set. For checks only: it may
   * share memory with the whole chunk it came in, so it should not be kept (`fields` do not).
   */
  readonly text: string;
  /** The values, as fast-csv reads them; empty when `problem` is set. */
  readonly fields: readonly string[];
  /** 1-based record number; the first record (usually the header) is 1. Blank lines count. */
  readonly row: number;
  /** 1-based physical line the record starts on. */
  readonly line: number;
  readonly problem?: FrameProblem;
}

export interface CsvFramer {
  /**
   * Frames the records completed by `chunk`; an unfinished one is kept for the next call. Blank
   * records (nothing but whitespace and delimiters: an empty line, a spreadsheet's `,,,` padding row)
   * are counted in `row` but not returned.
   */
  readonly push: (chunk: string) => FramedRecord[];
  /** Frames what is left at the end of the input. */
  readonly end: () => FramedRecord[];
}

// Scanner states (plain numbers: enums are not erasable syntax, and Node runs these sources directly).
const State = {
  FieldStart: 0,
  Unquoted: 1,
  Quoted: 2,
  /** A quote seen inside a quoted field: either the closing quote or the first of `""`. */
  QuoteInQuoted: 3,
  AfterQuote: 4,
  /** Skipping the rest of a too-long line. */
  Discard: 5,
} as const;
type State = (typeof State)[keyof typeof State];

const NO_FIELDS: readonly string[] = Object.freeze([]);

/** The characters `\s` matches other than CR and LF: fast-csv skips them when looking for a quote. */
const isSpace = (code: number): boolean =>
  code === 0x20 ||
  code === 0x09 ||
  code === 0x0b ||
  code === 0x0c ||
  code === 0xa0 ||
  code === 0x1680 ||
  (code >= 0x2000 && code <= 0x200a) ||
  code === 0x2028 ||
  code === 0x2029 ||
  code === 0x202f ||
  code === 0x205f ||
  code === 0x3000 ||
  code === 0xfeff;

/** Offset just past the first line break at or after `from`, or -1. */
const afterLineBreak = (text: string, from: number): number => {
  for (let index = from; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === LF) return index + 1;
    if (code === CR) return text.charCodeAt(index + 1) === LF ? index + 2 : index + 1;
  }
  return -1;
};

export const createCsvFramer = (options: { delimiter: string; maxRecordLength: number }): CsvFramer => {
  const delimiterCode = options.delimiter.charCodeAt(0);
  const { maxRecordLength } = options;

  let state: State = State.FieldStart;
  let line = 1;
  let row = 0;
  let recordLine = 1;
  /** Text of the current record that came in earlier chunks. */
  let carry = '';
  /** The previous character was a CR: an LF now is part of the same line break. */
  let skipLf = false;
  /** ...and that CR ended a record, so the LF is not part of any record either. */
  let crEndedRecord = false;
  let column = 0;
  let quoteLine = 0;
  let quoteColumn = 0;
  /** Offset of the current quoted field's opening quote in the record text. */
  let quoteOffset = 0;
  let problem: FrameProblem | undefined;
  /** Something other than whitespace and delimiters was seen: the record is not blank. */
  let nonBlank = false;
  // Where the values of the record's fields are, as offsets in its text: the fields are cut out once
  // the record is whole, which may be several chunks later. Three numbers a field: start, end, and 1
  // when `""` in it must become `"`.
  let bounds: number[] = [];
  let boundCount = 0;
  /** Offset of the current field's first character (for an unquoted value, spaces included). */
  let fieldStart = 0;
  /** The current quoted field's value: after the opening quote, up to the closing one. */
  let valueStart = 0;
  let valueEnd = 0;
  /** The current quoted field has a `""` in it. */
  let doubledQuote = false;

  const resetRecord = (): void => {
    state = State.FieldStart;
    recordLine = line;
    column = 0;
    problem = undefined;
    carry = '';
    nonBlank = false;
    // A record of many thousand fields (a runaway line of delimiters, say) should not leave its
    // offsets behind for the rest of the file.
    if (bounds.length > 3 * 4096) bounds = [];
    boundCount = 0;
    fieldStart = 0;
  };

  /** Notes the value of the field ending at `end` (a delimiter or the end of the record). */
  const endField = (end: number): void => {
    let from = fieldStart;
    let to = end;
    let doubled = 0;
    if (state === State.QuoteInQuoted || state === State.AfterQuote) {
      from = valueStart;
      to = valueEnd;
      doubled = doubledQuote ? 1 : 0;
    } else if (state === State.FieldStart && column === 0) {
      // fast-csv: whitespace and then the first delimiter of a record make an empty field.
      from = end;
    }
    bounds[boundCount] = from;
    bounds[boundCount + 1] = to;
    bounds[boundCount + 2] = doubled;
    boundCount += 3;
  };

  /** The current record's fields, cut out of its whole `text`. */
  const cutFields = (text: string): string[] => {
    // From a copy of the record, not from the chunk: V8 substrings of 13 characters or more point into
    // the string they were cut from, so one value kept by the engine would keep the whole 64 KiB chunk
    // alive. Appending a character makes V8 build the copy (once, at the first cut); the record's
    // values hold on to that copy only.
    const copy = `${text}\n`;
    const fields: string[] = [];
    for (let at = 0; at < boundCount; at += 3) {
      const value = copy.slice(bounds[at], bounds[at + 1]);
      fields.push(bounds[at + 2] === 1 ? value.replaceAll('""', '"') : value);
    }
    return fields;
  };

  /** Emits the record whose whole text is `text` (blank records are only counted). */
  const emit = (text: string, out: FramedRecord[]): void => {
    row += 1;
    if (text.length > maxRecordLength) {
      out.push({
        text: text.slice(0, 100),
        fields: NO_FIELDS,
        row,
        line: recordLine,
        problem: { kind: 'too-long' },
      });
    } else if (problem !== undefined) {
      out.push({ text, fields: NO_FIELDS, row, line: recordLine, problem });
    } else if (nonBlank) {
      endField(text.length);
      out.push({ text, fields: cutFields(text), row, line: recordLine });
    }
  };

  /**
   * Frames `input`. When a runaway quote is found, the record is reported and the text after the line
   * the quote opened on is framed again (a loop, not recursion: each round consumes at least a line).
   */
  const frame = (first: string, out: FramedRecord[], atEnd: boolean): void => {
    let input = first;
    for (;;) {
      const rescan = scan(input, out);
      if (rescan !== undefined) {
        input = rescan;
        continue;
      }
      if (!atEnd) return;
      // A quote still open at the end of the input (a final `"` would have closed it).
      if (state === State.Quoted) {
        const text = carry;
        if (quoteLine < line) {
          // Resume after the line the quote opened on.
          input = cutRunaway(text, out, true);
          continue;
        }
        out.push({
          text,
          fields: NO_FIELDS,
          row: ++row,
          line: recordLine,
          problem: { kind: 'unclosed-quote', quoteLine, column: quoteColumn },
        });
        resetRecord();
        return;
      }
      if (state === State.Discard) {
        resetRecord();
        return;
      }
      if (carry.length > 0) {
        emit(carry, out);
        resetRecord();
      }
      return;
    }
  };

  /**
   * Reports the current record as having a runaway quote and returns the text to frame again: what
   * follows the line the quote opened on (`text` is the record so far, and holds that line break).
   */
  const cutRunaway = (text: string, out: FramedRecord[], atEnd = false): string => {
    const resume = afterLineBreak(text, quoteOffset);
    // At the end of the input with only blank lines left, there is nothing to resume reading.
    const reported: FrameProblem =
      atEnd && text.slice(resume).trim() === ''
        ? { kind: 'unclosed-quote', quoteLine, column: quoteColumn }
        : { kind: 'unclosed-quote', quoteLine, column: quoteColumn, resumedAt: quoteLine + 1 };
    out.push({
      text: text.slice(0, quoteOffset),
      fields: NO_FIELDS,
      row: ++row,
      line: recordLine,
      problem: reported,
    });
    line = quoteLine + 1;
    // A CR that ends `text` may have its LF in the next chunk: that LF belongs to the same break.
    skipLf = resume === text.length && text.charCodeAt(text.length - 1) === CR;
    crEndedRecord = skipLf;
    resetRecord();
    return text.slice(resume);
  };

  /** Scans one input string; returns text to scan again after a runaway quote, else undefined. */
  const scan = (input: string, out: FramedRecord[]): string | undefined => {
    // A local copy reads faster in the loops below than the closure's.
    const delimiter = delimiterCode;
    let start = 0;
    /** Added to an offset in `input`, gives the offset in the current record's text. */
    let base = carry.length;
    const length = input.length;
    for (let index = 0; index < length; index += 1) {
      const code = input.charCodeAt(index);
      if (skipLf) {
        skipLf = false;
        if (code === LF) {
          if (crEndedRecord) {
            start = index + 1;
            base = -start;
          }
          continue;
        }
      }
      switch (state) {
        case State.FieldStart:
          if (code === delimiter) {
            endField(base + index);
            column += 1;
            fieldStart = base + index + 1;
          } else if (code === QUOTE) {
            state = State.Quoted;
            nonBlank = true;
            quoteLine = line;
            quoteColumn = column;
            quoteOffset = base + index;
            valueStart = quoteOffset + 1;
            doubledQuote = false;
          } else if (code === CR || code === LF) {
            start = endRecord(input, start, index, code, out);
            base = -start;
          } else if (!isSpace(code)) {
            state = State.Unquoted;
            nonBlank = true;
          }
          break;
        case State.Unquoted:
          if (code === delimiter) {
            endField(base + index);
            column += 1;
            state = State.FieldStart;
            fieldStart = base + index + 1;
          } else if (code === CR || code === LF) {
            start = endRecord(input, start, index, code, out);
            base = -start;
          } else {
            // Most characters are inside values: skip to the end of this one without going round the
            // switch for each.
            while (index + 1 < length) {
              const next = input.charCodeAt(index + 1);
              if (next === delimiter || next === CR || next === LF) break;
              index += 1;
            }
          }
          break;
        case State.Quoted:
          if (code === QUOTE) {
            state = State.QuoteInQuoted;
            valueEnd = base + index;
          } else if (code !== CR && code !== LF) {
            while (index + 1 < length) {
              const next = input.charCodeAt(index + 1);
              if (next === QUOTE || next === CR || next === LF) break;
              index += 1;
            }
          } else {
            line += 1;
            if (code === CR) {
              skipLf = true;
              crEndedRecord = false;
            }
            // A quote open over more than maxRecordLength characters of lines: give up on it here
            // rather than at the end of the chunk or file.
            if (base + index >= maxRecordLength) {
              return cutRunaway(carry + input.slice(start, index + 1), out) + input.slice(index + 1);
            }
          }
          break;
        case State.QuoteInQuoted:
        case State.AfterQuote:
          if (code === QUOTE && state === State.QuoteInQuoted) {
            state = State.Quoted;
            doubledQuote = true;
          } else if (code === delimiter) {
            endField(base + index);
            column += 1;
            state = State.FieldStart;
            fieldStart = base + index + 1;
          } else if (code === CR || code === LF) {
            start = endRecord(input, start, index, code, out);
            base = -start;
          } else if (isSpace(code)) state = State.AfterQuote;
          else if (quoteLine < line) {
            // `"...` on one line, a quote and text on a later one: the first quote was a stray.
            return cutRunaway(carry + input.slice(start, index), out) + input.slice(index);
          } else {
            problem ??= { kind: 'text-after-quote', column };
            state = State.Unquoted;
          }
          break;
        case State.Discard:
          if (code === CR || code === LF) {
            line += 1;
            if (code === CR) {
              skipLf = true;
              crEndedRecord = true;
            }
            resetRecord();
            start = index + 1;
            base = -start;
          }
          break;
      }
    }
    if (state === State.Discard) {
      carry = '';
      return undefined;
    }
    carry += input.slice(start);
    if (carry.length <= maxRecordLength) return undefined;
    if ((state === State.Quoted || state === State.QuoteInQuoted) && quoteLine < line) {
      return cutRunaway(carry, out);
    }
    out.push({
      text: carry.slice(0, 100),
      fields: NO_FIELDS,
      row: ++row,
      line: recordLine,
      problem: { kind: 'too-long' },
    });
    carry = '';
    state = State.Discard;
    return undefined;
  };

  /** Emits the record ending at `index` (a CR or LF outside quotes); returns the next record's start. */
  const endRecord = (
    input: string,
    start: number,
    index: number,
    code: number,
    out: FramedRecord[],
  ): number => {
    emit(carry + input.slice(start, index), out);
    line += 1;
    if (code === CR) {
      skipLf = true;
      crEndedRecord = true;
    }
    resetRecord();
    return index + 1;
  };

  return {
    push: (chunk) => {
      const out: FramedRecord[] = [];
      frame(chunk, out, false);
      return out;
    },
    end: () => {
      const out: FramedRecord[] = [];
      frame('', out, true);
      return out;
    },
  };
};
