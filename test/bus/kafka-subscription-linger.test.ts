import type { Consumer, ConsumerRunConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { BusRecord } from '../../src/bus/bus.js';
import { KafkaSubscription } from '../../src/bus/kafka/subscription.js';
import { lineMessage, NIRS } from './fixtures.js';

/**
 * The case the test broker cannot make (src/bus/kafka/subscription.ts `linger`): a fetch says the
 * partition holds more (high watermark) than the records it hands out, and no further batch comes
 * — the rest being records kafkajs filters out (transaction markers) or records deleted since. The
 * held records must not wait for ever, and must not be handled outside an eachBatch of their
 * partition: the subscription seeks back to them and hands the next batch over at once. kafkajs is
 * replaced by an object following its consumer contract (run → eachBatch payloads, seek), driven
 * by the test as kafkajs's fetch loop would.
 */
describe('kafka subscription: held records whose partition brings nothing more', () => {
  it('are sought back after the linger and then handed over at once, committed after the handler', async () => {
    let eachBatch!: (p: EachBatchPayload) => Promise<void>;
    const seeks: { topic: string; partition: number; offset: string }[] = [];
    const consumer = {
      events: { GROUP_JOIN: 'join', CRASH: 'crash' },
      on: () => undefined,
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async (config: ConsumerRunConfig) => void (eachBatch = config.eachBatch!),
      seek: (s: { topic: string; partition: number; offset: string }) => void seeks.push(s),
      disconnect: async () => undefined,
    } as unknown as Consumer;
    const kafka = { consumer: () => consumer } as unknown as Kafka;
    const handled: number[][] = [];
    const sub = new KafkaSubscription(
      { kafka, sessionTimeout: 3_000, nameOf: (t) => `p.${t}`, topicOf: (n) => n.slice(2) as 'decompte-lines', logger: undefined },
      { groupId: 'g', topics: ['decompte-lines'], maxBatch: 10, handler: async (b) => void handled.push((b.records as BusRecord<'decompte-lines'>[]).map((r) => r.offset)) },
    );
    await sub.start();

    const commits: unknown[] = [];
    const resolved: string[] = [];
    const message = (offset: number): KafkaMessage =>
      ({ offset: String(offset), key: Buffer.from(`${NIRS[0]}-1`), value: Buffer.from(JSON.stringify(lineMessage(NIRS[0], 1, offset + 1))), headers: {}, timestamp: '1700000000000', attributes: 0 }) as KafkaMessage;
    /** one fetch's batch of `offsets`, the partition's high watermark being `highWatermark` */
    const deliver = (offsets: number[], highWatermark: number) =>
      eachBatch({
        batch: { topic: 'p.decompte-lines', partition: 2, highWatermark: String(highWatermark), messages: offsets.map(message), lastOffset: () => String(offsets[offsets.length - 1]) },
        resolveOffset: (o: string) => void resolved.push(o),
        commitOffsetsIfNecessary: async (o: unknown) => void commits.push(o),
        heartbeat: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
      } as unknown as EachBatchPayload);

    // Offsets 0-2 read; the fetch says the partition ends at 5, yet nothing more comes.
    await deliver([0, 1, 2], 5);
    expect(handled).toEqual([]);
    expect(resolved).toEqual(['2']);
    await new Promise((r) => setTimeout(r, 1_300));
    expect(seeks).toEqual([{ topic: 'p.decompte-lines', partition: 2, offset: '0' }]);
    expect(handled).toEqual([]); // never outside an eachBatch
    expect(commits).toEqual([]);
    // kafkajs reads again from the seek: that batch goes to the handler at once, though the high watermark still says 5.
    await deliver([0, 1, 2], 5);
    expect(handled).toEqual([[0, 1, 2]]);
    expect(commits).toEqual([{ topics: [{ topic: 'p.decompte-lines', partitions: [{ partition: 2, offset: '3' }] }] }]);
    // Later records are gathered again as usual (not yet at the high watermark: held).
    await deliver([5, 6], 9);
    expect(handled).toEqual([[0, 1, 2]]);
    await deliver([7, 8], 9);
    expect(handled).toEqual([[0, 1, 2], [5, 6, 7, 8]]);
    await sub.stop();
  });
});
