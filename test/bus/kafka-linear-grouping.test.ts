import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition, linearGrouping } from '../../src/bus/kafka/linear-grouping.js';
import { Partitioners, type Message, type PartitionMetadata } from 'kafkajs';

/**
 * src/bus/kafka/linear-grouping.ts puts its grouping in place of kafkajs's (quadratic per partition).
 * It must give what kafkajs's gives, asking the partitioner the same questions in the same order,
 * and be in place in a process that opens the Kafka bus.
 */
const require = createRequire(import.meta.url);

/** kafkajs's own function, read afresh from its file (the require cache may hold ours). */
function kafkajsOriginal(): typeof groupMessagesPerPartition {
  const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(path) as typeof groupMessagesPerPartition;
  } finally {
    if (cached) require.cache[path] = cached;
    else delete require.cache[path];
  }
}

describe("kafkajs's grouping of a send per partition, in linear time", () => {
  it("gives kafkajs's result and asks the partitioner in the same order: keyed, explicit and absent partitions, one partition or many", () => {
    const original = kafkajsOriginal();
    expect(original).not.toBe(groupMessagesPerPartition);
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const partitions of [0, 1, 3, 16]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })) as PartitionMetadata[];
      for (const count of [0, 1, 2, 50, 1_200]) {
        const messages: Message[] = Array.from({ length: count }, (_, i) => {
          const r = random();
          return r < 0.3 && partitions > 0 ? { key: null, value: `v${i}`, partition: Math.floor(random() * partitions) } : { key: r < 0.9 ? `k${Math.floor(random() * 40)}` : null, value: `v${i}` };
        });
        const asked: [string, Message][] = [];
        // kafkajs's partitioner, but a null key without a partition takes the next of a counter
        // starting at 0 (kafkajs's starts at a random value): the same answers for both runs.
        const asker = (name: string) => {
          const partitioner = Partitioners.DefaultPartitioner();
          let next = 0;
          return (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => {
            asked.push([name, args.message]);
            const { message } = args;
            return message.partition === undefined && message.key === null ? next++ % args.partitionMetadata.length : partitioner(args);
          };
        };
        const theirs = original({ topic: 't', partitionMetadata, messages, partitioner: asker('theirs') });
        const theirAsks = asked.splice(0).map(([, m]) => m);
        const ours = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner: asker('ours') });
        expect(ours).toStrictEqual(theirs);
        expect(Object.keys(ours)).toEqual(Object.keys(theirs));
        expect(asked.map(([, m]) => m)).toEqual(theirAsks);
        for (const list of Object.values(ours)) for (let i = 1; i < list.length; i++) expect(messages.indexOf(list[i]!)).toBeGreaterThan(messages.indexOf(list[i - 1]!));
      }
    }
  });

  it('is in place once this module is imported before kafkajs (this file), and in a process that opens the bus from the build', () => {
    expect(linearGrouping()).toBe(true);
    const bus = fileURLToPath(new URL('../../dist/src/bus/kafka/kafka-bus.js', import.meta.url));
    const grouping = fileURLToPath(new URL('../../dist/src/bus/kafka/linear-grouping.js', import.meta.url));
    expect(existsSync(bus), 'run npm run build first').toBe(true);
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(bus)}); const g = await import(${JSON.stringify(grouping)}); console.log(String(g.linearGrouping()));`], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('true');
    // kafkajs loaded first: not in place (and kafkajs keeps its own, same result)
    const late = spawnSync(process.execPath, ['--input-type=module', '-e', `await import('kafkajs'); const g = await import(${JSON.stringify(grouping)}); console.log(String(g.linearGrouping()));`], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(late.stdout.trim()).toBe('false');
  });
});
