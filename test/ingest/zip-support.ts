import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import { readDrop, type ReadDropOptions } from '../../src/ingest/drop.js';
import type { IngestEvent } from '../../src/ingest/types.js';

/** ZIP archives built in the test (yazl), including hostile ones yazl itself would refuse to write. */
export interface EntrySpec {
  name: string;
  data?: Buffer | string;
  /** stored instead of deflated */
  store?: boolean;
  /** written from a stream: sizes unknown up front, so a data descriptor (flag bit 3) is used */
  stream?: boolean;
  dir?: boolean;
}

export async function zipBuffer(entries: EntrySpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.dir === true) zip.addEmptyDirectory(e.name);
    else if (e.stream === true) zip.addReadStream(Readable.from([Buffer.from(e.data ?? '')]), e.name, { compress: e.store !== true });
    else zip.addBuffer(Buffer.from(e.data ?? ''), e.name, { compress: e.store !== true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Renames an entry in place (local header and central directory): `to` must have the same length. */
export function patchName(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('patchName keeps lengths');
  const out = Buffer.from(zip);
  const a = Buffer.from(from, 'latin1');
  for (let at = out.indexOf(a); at !== -1; at = out.indexOf(a, at + 1)) out.write(to, at, 'latin1');
  return out;
}

/** Makes the central directory lie about an entry's inflated size (offset 24 of a 0x02014b50 header). */
export function patchDeclaredSize(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  const sig = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
  for (let at = out.indexOf(sig); at !== -1; at = out.indexOf(sig, at + 1)) {
    const nameLength = out.readUInt16LE(at + 28);
    if (out.toString('latin1', at + 46, at + 46 + nameLength) === name) out.writeUInt32LE(size, at + 24);
  }
  return out;
}

export async function tempDir(): Promise<{ path: (name: string) => string; write: (name: string, data: Buffer | string) => Promise<string>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'noemie-drop-'));
  return {
    path: (name) => join(dir, name),
    write: async (name, data) => {
      const p = join(dir, name);
      await writeFile(p, data);
      return p;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface PartResult {
  file: string;
  entry?: string;
  format: string;
  events: IngestEvent[];
  error?: { code: string; message: string };
}

/** Reads a drop the way the pipeline does: each part's events in turn, a refused part recorded and skipped. */
export async function readAll(path: string, options?: ReadDropOptions): Promise<PartResult[]> {
  const out: PartResult[] = [];
  for await (const part of readDrop(path, options)) {
    const result: PartResult = { file: part.file, format: part.format, events: [] };
    if (part.entry !== undefined) result.entry = part.entry;
    try {
      for await (const e of part.events) result.events.push(e);
    } catch (e) {
      const err = e as { code: string; message: string };
      result.error = { code: err.code, message: err.message };
    }
    out.push(result);
  }
  return out;
}
