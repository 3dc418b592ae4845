import { createReadStream } from 'node:fs';
import { SourceError } from './types.ts';

/** The encodings a source file may be in. */
export type SourceEncoding = 'utf8' | 'latin1' | 'utf16le';

/*
 * WHATWG labels. `latin1` is decoded as windows-1252, as browsers do: files called "Latin-1" almost
 * always come from Windows tools, and 1252 only differs in 0x80–0x9F, where ISO-8859-1 has unprintable
 * control characters.
 */
const LABELS: Record<SourceEncoding, string> = { utf8: 'utf-8', latin1: 'windows-1252', utf16le: 'utf-16le' };

/**
 * What stands in the decoded text for bytes that are not text in the file's encoding: a lone
 * surrogate, which no valid UTF-8 or UTF-16 can decode to (and windows-1252 never does), so it cannot
 * be confused with anything in the file — unlike U+FFFD, a character like any other that files hold
 * (UTF-8 `EF BF BD`), which is read as it is. The readers refuse the rows that hold one.
 */
export const INVALID_TEXT = '\uDFFF';

/** Whether decoded text holds bytes that were not text (a lone surrogate; paired ones do not match). */
export const hasInvalidText = (text: string): boolean => LONE_SURROGATE.test(text);

const LONE_SURROGATE = /\p{Cs}/u;

const CHUNK_BYTES = 64 * 1024;

/** Where a UTF-8 chunk can be cut without splitting a sequence: before a trailing incomplete one. */
const completeUtf8 = (bytes: Buffer): number => {
  const end = bytes.length;
  for (let at = end - 1; at >= 0 && at >= end - 4; at -= 1) {
    const byte = bytes[at] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return at + length > end ? at : end;
  }
  return end;
};

/**
 * UTF-8 with `INVALID_TEXT` for every maximal ill-formed subsequence (the WHATWG decoder's error
 * positions). Only run on a chunk the fatal decoder refused: the valid runs are decoded as usual.
 */
const decodeUtf8Marking = (bytes: Buffer): string => {
  let text = '';
  let run = 0;
  let at = 0;
  while (at < bytes.length) {
    const byte = bytes[at] as number;
    if (byte < 0x80) {
      at += 1;
      continue;
    }
    let length = 0;
    let low = 0x80;
    let high = 0xbf;
    if (byte >= 0xc2 && byte <= 0xdf) length = 2;
    else if (byte >= 0xe0 && byte <= 0xef) {
      length = 3;
      if (byte === 0xe0) low = 0xa0;
      if (byte === 0xed) high = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      length = 4;
      if (byte === 0xf0) low = 0x90;
      if (byte === 0xf4) high = 0x8f;
    }
    let valid = length > 0 ? 1 : 0;
    while (valid > 0 && valid < length) {
      const next = bytes[at + valid];
      if (next === undefined || next < low || next > high) break;
      low = 0x80;
      high = 0xbf;
      valid += 1;
    }
    if (length > 0 && valid === length) {
      at += length;
      continue;
    }
    text += bytes.toString('utf8', run, at) + INVALID_TEXT;
    at += Math.max(valid, 1);
    run = at;
  }
  return text + bytes.toString('utf8', run, bytes.length);
};

/** Text chunks of a UTF-8 file; what the fatal decoder refuses is decoded again, marked. */
async function* utf8Chunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void, undefined> {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let pending: Buffer = Buffer.alloc(0);
  let first = true;
  for await (const chunk of chunks) {
    let bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (first && bytes.length >= 3) {
      first = false;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    }
    const cut = first ? 0 : completeUtf8(bytes);
    pending = Buffer.from(bytes.subarray(cut));
    const whole = bytes.subarray(0, cut);
    if (whole.length === 0) continue;
    let text: string;
    try {
      text = fatal.decode(whole);
    } catch {
      text = decodeUtf8Marking(whole);
    }
    yield text;
  }
  if (first && pending.length >= 3 && pending[0] === 0xef && pending[1] === 0xbb && pending[2] === 0xbf) {
    pending = pending.subarray(3);
  }
  // A file of fewer than three bytes, or a sequence cut by its end.
  if (pending.length > 0) yield decodeUtf8Marking(pending);
}

/**
 * Text chunks of a UTF-16LE file. Node's decoding keeps a lone surrogate as it is (TextDecoder
 * would make it U+FFFD): that is the mark. A surrogate pair split between two reads is kept whole.
 */
async function* utf16Chunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void, undefined> {
  let pending: Buffer = Buffer.alloc(0);
  let first = true;
  for await (const chunk of chunks) {
    let bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (first && bytes.length >= 2) {
      first = false;
      if (bytes[0] === 0xff && bytes[1] === 0xfe) bytes = bytes.subarray(2);
    }
    let cut = first ? 0 : bytes.length - (bytes.length % 2);
    // A high surrogate last waits for its pair.
    if (cut >= 2 && ((bytes[cut - 1] as number) & 0xfc) === 0xd8) cut -= 2;
    pending = Buffer.from(bytes.subarray(cut));
    if (cut > 0) yield bytes.toString('utf16le', 0, cut);
  }
  if (pending.length === 0) return;
  const even = pending.length - (pending.length % 2);
  // An odd byte at the end is not UTF-16.
  yield pending.toString('utf16le', 0, even) + (even < pending.length ? INVALID_TEXT : '');
}

/** Text chunks of a windows-1252 file: every byte is a character. */
async function* latin1Chunks(chunks: AsyncIterable<Buffer>): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder(LABELS.latin1, { ignoreBOM: false });
  for await (const chunk of chunks) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield text;
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}

const DECODERS: Record<SourceEncoding, (chunks: AsyncIterable<Buffer>) => AsyncGenerator<string>> = {
  utf8: utf8Chunks,
  utf16le: utf16Chunks,
  latin1: latin1Chunks,
};

/**
 * Reads a file as decoded text chunks, one 64 KiB read at a time. Bytes that are not text in the
 * encoding become `INVALID_TEXT` instead of failing the whole read, so the readers can report the
 * row they are in; everything else, U+FFFD included, is the file's text. A byte order mark is dropped.
 */
export async function* decodeFile(
  path: string,
  encoding: SourceEncoding,
  signal?: AbortSignal,
): AsyncGenerator<string, void, undefined> {
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES, ...(signal ? { signal } : {}) });
  try {
    for await (const text of DECODERS[encoding](stream as AsyncIterable<Buffer>)) {
      if (text.length > 0) yield text;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SourceError(path, 'file not found', { cause: error });
    }
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new SourceError(path, 'is a directory, expected a file', { cause: error });
    }
    throw error;
  } finally {
    stream.destroy();
  }
}
