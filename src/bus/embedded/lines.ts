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

/**
 * Streams the lines of [start, end) of a file, 64 KiB at a time: memory is one chunk plus one
 * line whatever the file size (recovery and index rebuilds scan whole logs with it).
 */
export async function* linesOf(fh: FileHandle, start: number, end: number): AsyncGenerator<Line> {
  let carry: Buffer = Buffer.alloc(0);
  let carryPos = start;
  let pos = start;
  while (pos < end) {
    const want = Math.min(CHUNK, end - pos);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await fh.read(buf, 0, want, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    let data = buf.subarray(0, bytesRead);
    if (carry.length > 0) data = Buffer.concat([carry, data]);
    let from = 0;
    for (let nl = data.indexOf(10, from); nl !== -1; nl = data.indexOf(10, from)) {
      yield { pos: carryPos + from, bytes: data.subarray(from, nl), complete: true };
      from = nl + 1;
    }
    carryPos += from;
    carry = data.subarray(from);
    if (carry.length > MAX_LINE_BYTES) {
      yield { pos: carryPos, bytes: carry, complete: false };
      return;
    }
  }
  if (carry.length > 0) yield { pos: carryPos, bytes: carry, complete: false };
}
