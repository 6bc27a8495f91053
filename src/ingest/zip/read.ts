import type { Readable } from 'node:stream';
import StreamZip from 'node-stream-zip';
import type { ZipLimits } from '../../config.js';
import { PipelineError } from '../../model/errors.js';
import { IngestError } from '../types.js';
import { EntryIntegrity, InflateCounter, declaredBomb, unsafeEntryName } from './guard.js';

/**
 * Walks a ZIP drop entry by entry with node-stream-zip (central directory first, then one entry
 * stream at a time, inflated in memory and never written to disk). Yields, per file entry, either
 * a way to open its bytes or the reason it is refused; the archive as a whole is refused (one
 * `entry`-less item) when it cannot be read, holds too many entries or declares too many bytes.
 * Directories and macOS `__MACOSX/` metadata are skipped.
 *
 * The archive stays open until the generator ends: take the next item only once the previous
 * entry has been read (that is also when its inflated size counts toward the archive total).
 *
 * Every entry's bytes are checked against the central directory's CRC-32 and size as they reach
 * their end (EntryIntegrity); `verify()` makes sure that happened, reading the entry through once
 * more if its codec stopped early (a sniffed head, a codec done before the last byte). Call it
 * before committing anything of the entry.
 */
export type ZipItem =
  | { file: string; entry: string; open: () => Promise<Readable>; verify: () => Promise<void> }
  | { file: string; entry?: string; error: IngestError };

export async function* readZipEntries(path: string, file: string, limits: ZipLimits): AsyncGenerator<ZipItem> {
  // Entry names are checked one by one below: node-stream-zip's own check would refuse the whole
  // archive. Entries are listed from 'entry' events, not the by-name map, so that two entries with
  // the same name are both read (the map would hide the first).
  const zip = new StreamZip.async({ file: path, storeEntries: false, skipEntryNameValidation: true });
  const entries: StreamZip.ZipEntry[] = [];
  zip.on('entry', (e) => entries.push(e));
  try {
    try {
      await zip.entriesCount;
    } catch (e) {
      yield { file, error: new IngestError('INGEST_ZIP_CORRUPT', `${file} is not a readable ZIP archive: ${messageOf(e)}`, { file }, { cause: e }) };
      return;
    }
    if (entries.length > limits.maxEntries) {
      yield { file, error: new IngestError('INGEST_ZIP_BOMB', `${file} holds ${entries.length} entries, more than the ${limits.maxEntries} allowed`, { file, entries: entries.length }) };
      return;
    }
    const declaredTotal = entries.reduce((sum, e) => sum + (e.isFile ? e.size : 0), 0);
    if (declaredTotal > limits.maxTotalBytes) {
      yield { file, error: new IngestError('INGEST_ZIP_BOMB', `${file} declares ${declaredTotal} bytes inflated, over the ${limits.maxTotalBytes} allowed for a drop`, { file, declaredTotal }) };
      return;
    }

    let inflatedBefore = 0;
    for (const e of entries) {
      if (e.isDirectory || e.name.startsWith('__MACOSX/')) continue;
      const context = { file, entry: e.name };
      const slip = unsafeEntryName(e.name);
      if (slip !== null) {
        yield { file, entry: e.name, error: new IngestError('INGEST_ZIP_SLIP', `${file}!${e.name}: the entry path escapes the archive (${slip}); refused (zip slip)`, context) };
        continue;
      }
      const bomb = declaredBomb(e, limits);
      if (bomb !== null) {
        yield { file, entry: e.name, error: new IngestError('INGEST_ZIP_BOMB', `${file}!${e.name} ${bomb}: refused as a zip bomb`, { ...context, size: e.size, compressedSize: e.compressedSize }) };
        continue;
      }
      if (e.encrypted) {
        yield { file, entry: e.name, error: new IngestError('INGEST_ZIP_CORRUPT', `${file}!${e.name} is encrypted: drops must not be`, context) };
        continue;
      }
      // A codec may open an entry twice (two-pass); the entry counts once, at its largest read.
      let inflated = 0;
      let verified = false;
      const before = inflatedBefore;
      const open = async (): Promise<Readable> => {
        const counter = new InflateCounter(limits, e.compressedSize, before, (n) => (inflated = Math.max(inflated, n)), context);
        const integrity = new EntryIntegrity({ crc: e.crc, size: e.size }, context, () => (verified = true));
        let raw: NodeJS.ReadableStream;
        try {
          raw = await zip.stream(e);
        } catch (err) {
          throw corrupt(err, context);
        }
        raw.on('error', (err: unknown) => counter.destroy(corrupt(err, context)));
        counter.on('error', (err: unknown) => integrity.destroy(err as Error));
        counter.on('close', () => (raw as Readable).destroy());
        integrity.on('close', () => counter.destroy());
        raw.pipe(counter).pipe(integrity);
        return integrity;
      };
      const verify = async (): Promise<void> => {
        if (verified) return;
        const stream = await open();
        try {
          for await (const chunk of stream) void chunk;
        } catch (err) {
          throw corrupt(err, context);
        }
      };
      yield { file, entry: e.name, open, verify };
      inflatedBefore += inflated;
    }
  } finally {
    await zip.close().catch(() => undefined);
  }
}

function corrupt(err: unknown, context: { file: string; entry: string }): PipelineError {
  if (err instanceof PipelineError) return err;
  return new IngestError('INGEST_ZIP_CORRUPT', `${context.file}!${context.entry} cannot be read: ${messageOf(err)}`, context, { cause: err });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
