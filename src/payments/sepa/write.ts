import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PaymentOrder } from '../../model/payment.js';
import { pain001Chunks, type Pain001Input } from './pain001.js';

/** Streams a pain.001 file to disk chunk by chunk (backpressure from the file stream). */
export async function writePain001File(path: string, input: Pain001Input): Promise<void> {
  await pipeline(Readable.from(pain001Chunks(input)), createWriteStream(path));
}

/** The run's orders as NDJSON (the "file" form of the payment-orders topic), one order per line. */
export async function writeOrdersFile(path: string, orders: Iterable<PaymentOrder>): Promise<void> {
  async function* lines() {
    for (const o of orders) yield `${JSON.stringify(o)}\n`;
  }
  await pipeline(Readable.from(lines()), createWriteStream(path));
}
