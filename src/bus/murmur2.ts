/**
 * murmur2 of a key's UTF-8 bytes as a signed 32-bit int: Apache Kafka's `Utils.murmur2`, the hash
 * of its Java client's default partitioner (and kafkajs's `DefaultPartitioner`).
 *
 * Why not kafkajs's own function: it copies each key into a Buffer and does its arithmetic with a
 * 64-bit `Long` object per step — 2.9 µs per key, ≈ 0.6 µs even behind the cache partitionFor kept
 * (hashing the key string for a Map lookup), for every message produced and every family of a
 * liquidation batch (bench/README.md "Session 13 — bus"). Java's arithmetic is 32-bit: `Math.imul`
 * and `>>>` give the same bits, and the key is encoded into one buffer kept for it
 * (`TextEncoder.encodeInto`), not a new Buffer per key. test/bus/topics.test.ts checks it against kafkajs's function on keys
 * of every kind and against Kafka's own test vectors.
 */
const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** a key's UTF-8 bytes are written here (no allocation per key); a longer key gets its own buffer */
const scratch = new Uint8Array(1024);
const utf8 = new TextEncoder();

export function murmur2(key: string): number {
  if (key.length * 3 > scratch.length) return murmur2Bytes(Buffer.from(key, 'utf8'), Buffer.byteLength(key, 'utf8'));
  return murmur2Bytes(scratch, utf8.encodeInto(key, scratch).written);
}

/** Java's loop over the first `length` bytes of `data`. */
function murmur2Bytes(data: Uint8Array, length: number): number {
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // the last 1–3 bytes (Java: a switch falling through from the third to the first)
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16;
    if (rest >= 2) h ^= data[whole + 1]! << 8;
    h = Math.imul(h ^ data[whole]!, M);
  }
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}
