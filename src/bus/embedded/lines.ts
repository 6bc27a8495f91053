import type { FileHandle } from 'node:fs/promises';

/** A record line longer than this is damage, not data (an act line is under 2 KB). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const CHUNK = 64 * 1024;

export interface Line {
  /** byte position of the line's first byte */
  pos: number;
  /** without the trailing newline */
  bytes: Buffer;
  /** false for a last line with no newline: a torn write */
  complete: boolean;
}

/** Whole lines of a file, read together: `data` ends with a newline unless `complete` is false. */
export interface LineChunk {
  /** byte position of `data`'s first byte */
  pos: number;
  data: Buffer;
  /** false: the last bytes, with no newline after them (a torn write), or a line over MAX_LINE_BYTES (then the last chunk) */
  complete: boolean;
}

/**
 * [start, end) of a file in chunks of whole lines, `chunkBytes` read at a time (a line cut by a
 * read's end starts the next chunk): memory is one chunk plus one line whatever the file size.
 * The reader that splits each chunk in one synchronous loop pays one await per chunk, not per line.
 */
export async function* lineChunks(fh: FileHandle, start: number, end: number, chunkBytes = CHUNK): AsyncGenerator<LineChunk> {
  let carry: Buffer = Buffer.alloc(0);
  let carryPos = start;
  let pos = start;
  while (pos < end) {
    const want = Math.min(chunkBytes, end - pos);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    let data = buf.subarray(0, bytesRead);
    if (carry.length > 0) data = Buffer.concat([carry, data]);
    const last = data.lastIndexOf(10);
    if (last !== -1) {
      yield { pos: carryPos, data: data.subarray(0, last + 1), complete: true };
      carryPos += last + 1;
    }
    carry = data.subarray(last + 1);
    if (carry.length > MAX_LINE_BYTES) {
      yield { pos: carryPos, data: carry, complete: false };
      return;
    }
  }
  if (carry.length > 0) yield { pos: carryPos, data: carry, complete: false };
}

/**
 * Streams the lines of [start, end) of a file, 64 KiB at a time (`lineChunks`): recovery and index
 * rebuilds scan whole logs with it.
 */
export async function* linesOf(fh: FileHandle, start: number, end: number): AsyncGenerator<Line> {
  for await (const chunk of lineChunks(fh, start, end)) {
    if (!chunk.complete) {
      yield { pos: chunk.pos, bytes: chunk.data, complete: false };
      continue;
    }
    const data = chunk.data;
    for (let from = 0, nl = data.indexOf(10); nl !== -1; from = nl + 1, nl = data.indexOf(10, from)) {
      yield { pos: chunk.pos + from, bytes: data.subarray(from, nl), complete: true };
    }
  }
}
