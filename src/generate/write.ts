import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Writing generated text to disk: generators pulled through `pipeline`, so a slow disk slows the
 * generator down instead of buffering (1 M lines in bounded memory); under a `.part` name renamed
 * at the end, the inbox's atomic-rename convention (src/ingest/inbox/complete.ts), so a watcher
 * never picks up a half-written fixture.
 */
export async function writeChunks(path: string, chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.part`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return (await stat(path)).size;
}

/**
 * Encoders yield one string per record: joined here into ~64 KiB chunks, or each write pays the
 * stream machinery for a 300-byte string.
 */
export function* batched(chunks: Iterable<string>, size = 65_536): Generator<string> {
  let parts: string[] = [];
  let length = 0;
  for (const c of chunks) {
    parts.push(c);
    length += c.length;
    if (length >= size) {
      yield parts.join('');
      parts = [];
      length = 0;
    }
  }
  if (parts.length > 0) yield parts.join('');
}
