import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openKafkaBus } from '../../src/bus/kafka/kafka-bus.js';
import { CoPartitionedAssigner } from '../../src/bus/kafka/co-partitioned-assigner.js';
import { startTestBroker, testBusOptions, type TestBroker } from '../support/kafka-mock.js';

vi.setConfig({ testTimeout: 150_000, hookTimeout: 60_000 });

/**
 * The co-partitioning assignor against the Kafka-protocol test broker: three members of one group
 * subscribed to both line topics (4 partitions each). With kafkajs's round-robin, 3 members over
 * 8 topic-partitions put decompte-lines[0] and invoice-lines[0] on different members (two writers
 * of the same families' ledgers); with ours each member holds the same partition numbers of both.
 */
describe('kafka: co-partitioned assignment with 3 members', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('gives partition p of decompte-lines and invoice-lines to one member, every partition once', async () => {
    const prefix = `a${randomUUID().slice(0, 8)}.`;
    const options = testBusOptions(broker, prefix);
    // Opening the bus creates (or auto-creates) the topics with their partition count.
    await (await openKafkaBus(options)).close();
    const topics = [`${prefix}decompte-lines`, `${prefix}invoice-lines`];
    const kafka = new Kafka({ clientId: 'noemie-assignor-test', brokers: options.brokers(), logLevel: logLevel.NOTHING });
    // The test broker sometimes leaves late joiners of a group waiting far past the rebalance
    // timeout (seen: one member alone for 90 s on a loaded machine); a second group, joined
    // afresh, gets another chance. What is asserted is the assignment of a settled generation.
    let members: { protocol: string; assignment: Record<string, number[]> }[] | null = null;
    for (let attempt = 1; attempt <= 2 && members === null; attempt++) members = await settledGroup(kafka, topics, options.sessionTimeout, 50_000);
    if (members === null) throw new Error('group did not settle in two attempts of 50 s');
    for (const m of members) expect(m.assignment[topics[0]!] ?? []).toEqual(m.assignment[topics[1]!] ?? []);
    expect(members.every((m) => m.protocol === 'NoemieCoPartitioned')).toBe(true);
    // 4 partitions over 3 members: one member holds two partition numbers, the others one each.
    expect(members.map((m) => (m.assignment[topics[0]!] ?? []).length).sort()).toEqual([1, 1, 2]);
  });
});

/** Three members of a new group join at once; their last assignments once every partition is held once, or null after `waitMs`. */
async function settledGroup(kafka: Kafka, topics: string[], sessionTimeout: number | undefined, waitMs: number): Promise<{ protocol: string; assignment: Record<string, number[]> }[] | null> {
  const groupId = `g-${randomUUID()}`;
  const latest = new Map<string, { protocol: string; assignment: Record<string, number[]> }>();
  const consumers: Consumer[] = [];
  try {
    // All three join at once: one rebalance instead of one per member arriving.
    for (let i = 0; i < 3; i++) {
      const consumer = kafka.consumer({ groupId, ...(sessionTimeout !== undefined ? { sessionTimeout } : {}), rebalanceTimeout: 10_000, heartbeatInterval: 300, partitionAssigners: [CoPartitionedAssigner] });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => latest.set(`m${i}`, { protocol: payload.groupProtocol, assignment: payload.memberAssignment }));
      consumers.push(consumer);
    }
    await Promise.all(
      consumers.map(async (consumer) => {
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: true });
        await consumer.run({ eachMessage: async () => undefined });
      }),
    );
    // Joins settle over a few rebalances: wait for a generation where the three members'
    // last assignments together hold each partition of each topic exactly once.
    const settled = () => latest.size === 3 && topics.every((t) => [...latest.values()].flatMap((m) => m.assignment[t] ?? []).sort().join() === '0,1,2,3');
    for (const deadline = Date.now() + waitMs; !settled(); ) {
      if (Date.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, 200));
    }
    return [...latest.values()];
  } finally {
    await Promise.allSettled(consumers.map((c) => c.disconnect()));
  }
}
