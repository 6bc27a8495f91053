import { createWriteStream } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PaymentOrder } from '../../model/payment.js';
import { pain001Chunks, type Pain001Input } from './pain001.js';

/**
 * Files handed over (pain.001 to the bank, orders.ndjson to finance) appear whole or not at all:
 * written under a temporary name that no pickup matches (`.<name>.tmp`), fsynced, renamed into
 * place, and the directory fsynced so the rename itself survives a power cut. A crash leaves at
 * most a temporary file, which `removeTempFiles` deletes on restart — never a 0-byte or half file
 * under the real name.
 */
export const tempNameOf = (path: string) => join(dirname(path), `.${basename(path)}.tmp`);

async function fsyncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `chunks` to `path` durably (temp, fsync, rename, fsync dir); `afterTemp` runs between fsync and rename. */
export async function writeDurably(path: string, chunks: Iterable<string> | AsyncIterable<string>, afterTemp?: () => void): Promise<void> {
  const tmp = tempNameOf(path);
  await pipeline(Readable.from(chunks), createWriteStream(tmp));
  await fsyncPath(tmp, 'r+');
  afterTemp?.();
  await rename(tmp, path);
  await fsyncPath(dirname(path), 'r');
}

/** Deletes the temporary files a crash left in `dir` (they never were handed over). */
export async function removeTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const stray = names.filter((n) => n.startsWith('.') && n.endsWith('.tmp'));
  for (const n of stray) await rm(join(dir, n), { force: true });
  return stray;
}

/** Streams a pain.001 file to disk chunk by chunk (backpressure from the file stream), durably. */
export async function writePain001File(path: string, input: Pain001Input, afterTemp?: () => void): Promise<void> {
  await writeDurably(path, pain001Chunks(input), afterTemp);
}

/** The run's orders as NDJSON (the "file" form of the payment-orders topic), one order per line, durably. */
export async function writeOrdersFile(path: string, orders: Iterable<PaymentOrder> | AsyncIterable<PaymentOrder>, afterTemp?: () => void): Promise<void> {
  // a streamed run's orders are read back from the store (async): one at a time either way
  async function* lines() {
    for await (const o of orders) yield `${JSON.stringify(o)}\n`;
  }
  await writeDurably(path, lines(), afterTemp);
}
