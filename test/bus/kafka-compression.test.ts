import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes, type Admin, type Kafka, type Producer, type ProducerBatch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../src/bus/kafka/client.js';
import { GZIP_LEVEL } from '../../src/bus/kafka/gzip-codec.js';
import { KafkaBus, type KafkaBusOptions } from '../../src/bus/kafka/kafka-bus.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * What the Kafka bus asks kafkajs for on every produce, with a producer that only records the
 * request (no broker): `compression` 'gzip' must reach producer.sendBatch as CompressionTypes.GZIP,
 * otherwise record batches travel and sit on the broker uncompressed. That gzip'ed batches go
 * through a broker intact is test/bus/kafka.int.test.ts's.
 */
function busWith(compression: KafkaBusOptions['compression']): { bus: KafkaBus; sent: ProducerBatch[] } {
  const sent: ProducerBatch[] = [];
  const producer = { sendBatch: async (r: ProducerBatch) => void sent.push(r), disconnect: async () => undefined } as unknown as Producer;
  const admin = { disconnect: async () => undefined } as unknown as Admin;
  const options: KafkaBusOptions = { brokers: [], clientId: 'noemie-test', ssl: false, sessionTimeout: 3_000, topicPrefix: 'p.', ...(compression ? { compression } : {}) };
  return { bus: new KafkaBus({} as Kafka, admin, producer, options), sent };
}

describe('kafka bus: producer compression (KAFKA_COMPRESSION)', () => {
  it.each([
    ['gzip', CompressionTypes.GZIP],
    ['none', CompressionTypes.None],
    [undefined, CompressionTypes.None],
  ] as const)('%s → kafkajs compression %i on every send, acks −1 kept', async (compression, expected) => {
    const { bus, sent } = busWith(compression);
    await bus.produce('decompte-lines', [{ value: lineMessage(NIRS[0], 1, 1) }]);
    await bus.produce('decompte-lines', [{ value: lineMessage(NIRS[1], 1, 2) }, { value: lineMessage(NIRS[2], 1, 3) }]);
    expect(sent).toHaveLength(2);
    for (const r of sent) expect(r).toMatchObject({ compression: expected, acks: -1 });
    expect(sent[0]!.topicMessages!.map((t) => t.topic)).toEqual(['p.decompte-lines']);
    await bus.close();
  });
});

describe('kafka bus: the gzip codec (src/bus/kafka/gzip-codec.ts)', () => {
  /** kafkajs's own codec, as every other kafkajs client has it */
  const builtIn = createRequire(import.meta.url)('kafkajs/src/protocol/message/compression/gzip.js') as { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };

  it('once the bus has made its client, kafkajs gzips at level 1 and reads what its own codec wrote, and the other way round', async () => {
    await createKafka({ brokers: ['127.0.0.1:1'], clientId: 'noemie-test', ssl: false, sessionTimeout: 3_000, topicPrefix: 'p.' });
    const codec = (CompressionCodecs[CompressionTypes.GZIP] as () => typeof builtIn)();
    // A record batch's worth of settlements-like JSON: repetitive, so the level shows in the size.
    const text = Buffer.from(Array.from({ length: 40 }, (_, i) => JSON.stringify(lineMessage(NIRS[i % NIRS.length]!, 1, i))).join(''));
    const packed = await codec.compress({ buffer: text });
    expect(gunzipSync(packed)).toEqual(text);
    expect(packed.length).toBe(gzipSync(text, { level: GZIP_LEVEL }).length);
    expect(packed.length).not.toBe(gzipSync(text).length); // not zlib's default level 6
    expect(await builtIn.decompress(packed)).toEqual(text);
    expect(await codec.decompress(await builtIn.compress({ buffer: text }))).toEqual(text);
  });
});
