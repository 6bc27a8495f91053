import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { partitionFor } from '../../src/bus/topics.js';
import { testBusOptions } from '../support/kafka-mock.js';
import { useTestBroker } from '../support/use-broker.js';
import { lineMessage, NIRS } from './fixtures.js';

// A consumer-group join waits ~3 s on the mock broker.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const broker = useTestBroker();

/**
 * src/bus/kafka/subscription.ts `onBatch`: records are gathered across fetches into handler
 * batches of up to `maxBatch`. The mock answers a fetch with one record batch per partition, so
 * without the gathering each produce call below (one record batch) would be a handler batch.
 */
describe('kafka subscription: records of several fetches go to the handler together', () => {
  it('handler batches of maxBatch, then the rest once the partition is read to its end; each record once, in order; the commit follows the handler', async () => {
    const bus = await openKafkaBus(testBusOptions(broker, `t${randomUUID().slice(0, 8)}.`));
    try {
      // Ten produce calls of 4 lines of one beneficiary: ten record batches of 4 on one partition.
      for (let call = 0; call < 10; call++) {
        await bus.produce('decompte-lines', [1, 2, 3, 4].map((n) => ({ value: lineMessage(NIRS[0], 1, 4 * call + n) })));
      }
      const partition = partitionFor(`${NIRS[0]}-1`);
      const sizes: number[] = [];
      const offsets: number[] = [];
      const committedAtHandler: (number | null)[] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const sub = await bus.consume({
        groupId: 'g-gather',
        topics: ['decompte-lines'],
        maxBatch: 15,
        handler: async (batch) => {
          sizes.push(batch.records.length);
          offsets.push(...batch.records.map((r) => r.offset));
          committedAtHandler.push((await bus.committedOffsets('g-gather', 'decompte-lines')).find((c) => c.partition === partition)?.offset ?? null);
          if (offsets.length >= 40) done();
        },
      });
      await all;
      await sub.stop();
      expect(sizes).toEqual([15, 15, 10]);
      expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => i));
      // Each batch's commit came after its handler: the next handler saw the previous batch committed, no further.
      expect(committedAtHandler).toEqual([null, 15, 30]);
      expect((await bus.committedOffsets('g-gather', 'decompte-lines')).find((c) => c.partition === partition)?.offset).toBe(40);
    } finally {
      await bus.close();
    }
  });
});
