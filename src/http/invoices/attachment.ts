import { createHash } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * The invoice's attachment (the scanned invoice): what it is, told by its first bytes — the
 * declared Content-Type and file name are the client's word, not a check.
 */
export const ATTACHMENT_TYPES = {
  pdf: { mime: 'application/pdf', ext: 'pdf' },
  png: { mime: 'image/png', ext: 'png' },
  jpeg: { mime: 'image/jpeg', ext: 'jpg' },
  tiff: { mime: 'image/tiff', ext: 'tif' },
  heic: { mime: 'image/heic', ext: 'heic' },
  webp: { mime: 'image/webp', ext: 'webp' },
} as const;
export type AttachmentType = keyof typeof ATTACHMENT_TYPES;

/** Bytes needed to tell every type above. */
export const SNIFF_BYTES = 12;

export function sniffAttachment(head: Buffer): AttachmentType | null {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  if (ascii(0, 5) === '%PDF-') return 'pdf';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'II*\u0000' || ascii(0, 4) === 'MM\u0000*') return 'tiff';
  if (ascii(4, 8) === 'ftyp' && ['heic', 'heix', 'heif', 'mif1', 'msf1', 'hevc'].includes(ascii(8, 12))) return 'heic';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

export type ReceivedAttachment =
  | { ok: true; type: AttachmentType; bytes: number; sha256: string }
  | { ok: false; problem: 'too_large' | 'wrong_type' | 'empty'; bytes: number; head?: string };

/**
 * Streams a part into `file` (created 0600, never existing before), hashing it and checking its
 * type on the first bytes and its size as it goes: a wrong type or an oversized part stops the
 * writing at once (the rest of the part is drained, not kept) and the file is removed. Memory is
 * one chunk, whatever the size. `stream.truncated` is @fastify/multipart's (busboy's) flag: the part
 * hit the parser's fileSize limit.
 */
export async function receiveAttachment(stream: Readable & { truncated?: boolean }, file: string, maxBytes: number): Promise<ReceivedAttachment> {
  const hash = createHash('sha256');
  const fh = await open(file, 'wx', 0o600);
  let bytes = 0;
  let head = Buffer.alloc(0);
  let type: AttachmentType | null | undefined;
  let problem: 'too_large' | 'wrong_type' | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (problem !== undefined) continue; // drain: the client's request must still be read to its end
      if (bytes > maxBytes || stream.truncated === true) {
        problem = 'too_large';
        continue;
      }
      if (type === undefined) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= SNIFF_BYTES) {
          type = sniffAttachment(head);
          if (type === null) {
            problem = 'wrong_type';
            continue;
          }
          await fh.write(head);
          hash.update(head);
        }
        continue;
      }
      await fh.write(chunk);
      hash.update(chunk);
    }
    if (problem === undefined && stream.truncated === true) problem = 'too_large';
    if (problem === undefined && type === undefined) {
      // shorter than SNIFF_BYTES: still a type if its first bytes say so (a 5-byte "%PDF-" is not a PDF anyone can read)
      type = head.length === 0 ? null : sniffAttachment(Buffer.concat([head, Buffer.alloc(SNIFF_BYTES)]));
      if (type === null || head.length < 8) return await fail(head.length === 0 ? 'empty' : 'wrong_type');
      await fh.write(head);
      hash.update(head);
    }
    if (problem !== undefined) return await fail(problem);
    await fh.sync();
    return { ok: true, type: type!, bytes, sha256: hash.digest('hex') };
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(file, { force: true });
    throw e;
  } finally {
    await fh.close().catch(() => undefined);
  }

  async function fail(p: 'too_large' | 'wrong_type' | 'empty'): Promise<ReceivedAttachment> {
    await fh.close().catch(() => undefined);
    await rm(file, { force: true });
    return p === 'wrong_type' ? { ok: false, problem: p, bytes, head: head.subarray(0, 8).toString('hex') } : { ok: false, problem: p, bytes };
  }
}

/**
 * Removes every file of the incoming folder but those `keep` names: at plugin start, what a
 * killed process left (attachments — personal data — of requests that never got a receipt).
 */
export async function clearIncoming(dir: string, keep: ReadonlySet<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const name of names) if (!keep.has(name)) await rm(join(dir, name), { force: true, recursive: true });
}
