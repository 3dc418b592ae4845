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

/** What a decoder puts where the input is not valid in its encoding. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

const CHUNK_BYTES = 64 * 1024;

/**
 * Reads a file as decoded text chunks, one 64 KiB read at a time. Invalid byte sequences become
 * U+FFFD instead of failing the whole read, so the readers can report the row they are in. A byte
 * order mark is dropped.
 */
export async function* decodeFile(
  path: string,
  encoding: SourceEncoding,
  signal?: AbortSignal,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder(LABELS[encoding], { fatal: false, ignoreBOM: false });
  const stream = createReadStream(path, { highWaterMark: CHUNK_BYTES, ...(signal ? { signal } : {}) });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const text = decoder.decode(chunk, { stream: true });
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
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}
