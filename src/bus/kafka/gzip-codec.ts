import { gzipSync, unzipSync } from 'node:zlib';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS: its codec table is not among the names Node's ESM loader finds.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/**
 * zlib level of the record batches the bus gzips (KAFKA_COMPRESSION=gzip). Level 1 packs the
 * pipeline's JSON to ≈ 0.14 of its size where kafkajs's default (6) gives ≈ 0.11, for a third of
 * the CPU (bench/README.md "Session 8 — Kafka").
 */
export const GZIP_LEVEL = 1;

/**
 * kafkajs's built-in gzip codec goes through zlib's asynchronous stream API for every record batch:
 * a thread-pool round trip and the stream machinery around a few kilobytes, which cost more CPU than
 * the compression itself (kafkajs 2.2 `protocol/message/compression/gzip.js`). The bus's batches are
 * small (a service batch's settlements, its ledger pieces): compressed and inflated in place, in one
 * call each. Any gzip reader reads them: the format is the same, only the level differs.
 */
const codec = {
  async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
    return gzipSync(encoder.buffer, { level: GZIP_LEVEL });
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
