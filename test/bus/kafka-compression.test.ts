import { CompressionTypes, type Admin, type Kafka, type Producer, type ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaBus, type KafkaBusOptions } from '../../src/bus/kafka/kafka-bus.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * What the Kafka bus asks kafkajs for on every produce, with a producer that only records the
 * request (no broker): `compression` 'gzip' must reach producer.send as CompressionTypes.GZIP,
 * otherwise record batches travel and sit on the broker uncompressed. That gzip'ed batches go
 * through a broker intact is test/bus/kafka.int.test.ts's.
 */
function busWith(compression: KafkaBusOptions['compression']): { bus: KafkaBus; sent: ProducerRecord[] } {
  const sent: ProducerRecord[] = [];
  const producer = { send: async (r: ProducerRecord) => void sent.push(r), disconnect: async () => undefined } as unknown as Producer;
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
    expect(sent[0]!.topic).toBe('p.decompte-lines');
    await bus.close();
  });
});
