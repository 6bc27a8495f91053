import { promisify } from 'node:util';
import { gzip, gzipSync, unzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: its codec table is not among the names Node's ESM loader finds.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * zlib level of the record batches the bus gzips (KAFKA_COMPRESSION=gzip). Level 1 packs the
 * pipeline's JSON to ≈ 0.14 of its size where kafkajs's default (6) gives ≈ 0.11, for a third of
 * the CPU (bench/README.md "Session 9 — kafka").
 */
export const GZIP_LEVEL = 1;

/**
 * Record batches from this many bytes up are compressed on libuv's thread pool, smaller ones in
 * place. The Kafka subscription now hands the liquidation service batches of up to ≈ 1 000 lines,
 * whose settlements and ledger pieces make record batches of several hundred KB: compressing them
 * on the main thread took ≈ 6 % of its time in the liquidation phase, and kafkajs builds a
 * request's record batches concurrently, so they compress on other cores while the main thread goes
 * on (bench/README.md "Session 9 — kafka"). Below it, the thread-pool hop costs more than it saves.
 */
export const ASYNC_GZIP_BYTES = 64 * 1024;

const gzipOnPool = promisify(gzip);

/**
 * kafkajs's built-in gzip codec goes through zlib's asynchronous stream API for every record batch:
 * a thread-pool round trip and the stream machinery around a few kilobytes, which cost more CPU than
 * the compression itself (kafkajs 2.2 `protocol/message/compression/gzip.js`). Small record batches
 * (a send of 500 lines spread over the partitions) are compressed and inflated in place, in one call
 * each; large ones go to the pool (ASYNC_GZIP_BYTES). Any gzip reader reads them: the format is the
 * same, only the level differs.
 */
const codec = {
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    const options = { level: GZIP_LEVEL };
    return encoder.buffer.length >= ASYNC_GZIP_BYTES ? gzipOnPool(encoder.buffer, options) : gzipSync(encoder.buffer, options);
  },
  async decompress(buffer: Buffer): Promise<Buffer> {
    return unzipSync(buffer);
  },
};

let installed = false;

/** Makes kafkajs use `codec` for gzip in this process (kafkajs keeps one codec table per process). */
export function installGzipCodec(): void {
  if (installed) return;
  (CompressionCodecs as Record<number, () => typeof codec>)[CompressionTypes.GZIP] = () => codec;
  installed = true;
}
