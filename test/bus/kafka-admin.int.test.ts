import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { TOPIC_NAMES } from '../../src/bus/topics.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';

/**
 * Offsets asked concurrently on one bus (what `lag` does, beside the liquidation service asking
 * the changelog's end per batch): kafkajs 2.2 fails some of them with "Cannot destructure property
 * 'partitions' of 'high.pop(...)'" when they run at once on one admin client; the bus queues its
 * admin calls (src/bus/kafka/admin-queue.ts).
 */
const broker = useTestBroker();

describe('kafka: admin calls at once on one bus', () => {
  it('end offsets and lag of every topic, many at once, on fresh topics: all answer', async () => {
    const bus = await openKafkaBus(testBusOptions(broker, `t${randomUUID().slice(0, 8)}.`));
    try {
      for (let round = 0; round < 5; round++) {
        const calls = [
          ...TOPIC_NAMES.map((t) => bus.endOffsets(t)),
          ...[1, 2, 3].map(() => bus.lag('liquidation', ['decompte-lines', 'invoice-lines', 'settlements'])),
          ...TOPIC_NAMES.map((t) => bus.committedOffsets('g', t)),
        ];
        const settled = await Promise.allSettled(calls);
        const failed = settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason));
        expect(failed).toEqual([]);
      }
    } finally {
      await bus.close();
    }
  }, 120_000);
});
