import { Transform, type TransformCallback } from 'node:stream';
import type { ZipLimits } from '../../config.js';
import type { ErrorContext } from '../../model/errors.js';
import { IngestError } from '../types.js';
import { Crc32 } from './crc32.js';

/**
 * The checks that keep a hostile archive from writing outside where it is read (zip slip) or from
 * inflating without bound (zip bomb). Entries are never extracted to disk, but a name that tries to
 * escape says the archive was built to harm, and such an entry is refused all the same.
 */

/** Below this an entry cannot hurt whatever its ratio (a 100 KB run of zeros compresses 1000:1). */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

export function unsafeEntryName(name: string): string | null {
  if (name.includes('\0')) return 'a NUL character in the name';
  if (name.includes('\\')) return 'a backslash in the name';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'a drive letter';
  if (name.split('/').includes('..')) return 'a ".." segment';
  return null;
}

export interface DeclaredSizes {
  size: number;
  compressedSize: number;
}

/** What the central directory says, checked before a byte is inflated. */
export function declaredBomb(e: DeclaredSizes, limits: ZipLimits): string | null {
  if (e.size > limits.maxEntryBytes) return `declares ${e.size} bytes inflated, over the ${limits.maxEntryBytes} allowed for an entry`;
  if (e.size > RATIO_FLOOR_BYTES && e.size > Math.max(1, e.compressedSize) * limits.maxRatio) {
    return `declares a compression ratio over ${limits.maxRatio}:1 (${e.compressedSize} → ${e.size} bytes)`;
  }
  return null;
}

/**
 * Counts the bytes really inflated: a central directory can lie about sizes (and node-stream-zip
 * does not check them when the entry uses a data descriptor), so the limits are enforced on what
 * comes out of the inflater, chunk by chunk, before anything downstream sees the chunk.
 */
export class InflateCounter extends Transform {
  private count = 0;

  constructor(
    private readonly limits: ZipLimits,
    private readonly compressedSize: number,
    /** bytes inflated by the archive's earlier entries */
    private readonly before: number,
    private readonly onCount: (bytes: number) => void,
    private readonly context: ErrorContext,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    this.onCount(this.count);
    const why =
      this.count > this.limits.maxEntryBytes
        ? `inflates past ${this.limits.maxEntryBytes} bytes, the limit for an entry`
        : this.before + this.count > this.limits.maxTotalBytes
          ? `takes the archive past ${this.limits.maxTotalBytes} inflated bytes, the limit for a drop`
          : this.count > RATIO_FLOOR_BYTES && this.count > Math.max(1, this.compressedSize) * this.limits.maxRatio
            ? `inflates over ${this.limits.maxRatio} times its ${this.compressedSize} compressed bytes`
            : null;
    if (why === null) {
      callback(null, chunk);
      return;
    }
    const where = `${String(this.context.file)}!${String(this.context.entry)}`;
    callback(new IngestError('INGEST_ZIP_BOMB', `${where} ${why}: refused as a zip bomb`, { ...this.context, inflated: this.count }));
  }
}

/**
 * Checks what was inflated against the central directory's CRC-32 and size when the entry's last
 * byte has gone through: a flipped bit in deflated data may inflate without any error into other
 * digits (an amount 68.55 read as 98.55). The error comes out of the stream before its end, so the
 * codec reading it fails and the part is aborted before anything of it is committed.
 * node-stream-zip checks the CRC itself only for entries without a data descriptor, and not the
 * size when fewer bytes come out than declared: this check covers every entry.
 */
export class EntryIntegrity extends Transform {
  private readonly crc = new Crc32();
  private size = 0;

  constructor(
    private readonly expected: { crc: number; size: number },
    private readonly context: ErrorContext,
    private readonly onVerified: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const where = `${String(this.context.file)}!${String(this.context.entry)}`;
    const crc = this.crc.value;
    const why =
      this.size !== this.expected.size
        ? `inflates to ${this.size} bytes where the archive declares ${this.expected.size}`
        : crc !== this.expected.crc >>> 0
          ? `has CRC-32 ${hex(crc)} where the archive declares ${hex(this.expected.crc)}`
          : null;
    if (why === null) {
      this.onVerified();
      callback();
      return;
    }
    callback(new IngestError('INGEST_ZIP_CORRUPT', `${where} ${why}: the entry is damaged, refused (nothing of it is published)`, { ...this.context, inflated: this.size, crc: hex(crc), declaredCrc: hex(this.expected.crc), declaredSize: this.expected.size }));
  }
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
