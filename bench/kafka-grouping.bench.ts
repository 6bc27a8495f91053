import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
// First, before kafkajs is loaded (src/bus/kafka/linear-grouping.ts says why).
import { groupMessagesPerPartition, linearGrouping } from '../src/bus/kafka/linear-grouping.js';
import { Partitioners, type Message, type PartitionMetadata } from 'kafkajs';

/**
 * kafkajs's grouping of a send's messages per partition (quadratic per partition) against
 * src/bus/kafka/linear-grouping.ts's, on the liquidation service's sends on Kafka: a batch's ledger
 * pieces (1 000 a produce call, all on the batch's partition), its settlements (500 a call, keyed by
 * adhérent: the same partition), and the ingest sink's lines (500 a call over 16 partitions). CPU
 * ms per send of this process, rounds interleaved (the machine is shared), the best round kept.
 *
 *   npm run bench:kafka-grouping -- [--rounds 5]
 */
const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
const ROUNDS = Number(values.rounds ?? 5);
const SENDS = 200;

const require = createRequire(import.meta.url);
/** kafkajs's own function, read afresh from its file (the require cache holds ours). */
const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
const ours = require.cache[path];
delete require.cache[path];
const kafkajs = require(path) as typeof groupMessagesPerPartition;
if (ours) require.cache[path] = ours;

const partitionMetadata = Array.from({ length: 16 }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] })) as PartitionMetadata[];
const cases: [string, Message[]][] = [
  ['ledger pieces: 1 000, one partition', Array.from({ length: 1_000 }, (_, i) => ({ key: `A${i}#k`, value: 'x', partition: 3 }))],
  ['settlements: 500, one adhérent partition', Array.from({ length: 500 }, () => ({ key: 'A000123', value: 'x' }))],
  ['ingest lines: 500 over 16 partitions', Array.from({ length: 500 }, (_, i) => ({ key: `1850375123456-${i}`, value: 'x' }))],
];
const best = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, messages] of cases) {
    for (const [fn, group] of [['kafkajs', kafkajs], ['linear', groupMessagesPerPartition]] as const) {
      const partitioner = Partitioners.DefaultPartitioner();
      const c0 = process.cpuUsage();
      for (let s = 0; s < SENDS; s++) group({ topic: 't', partitionMetadata, messages, partitioner });
      const d = process.cpuUsage(c0);
      const ms = (d.user + d.system) / 1000 / SENDS;
      const key = `${name} | ${fn}`;
      best.set(key, Math.min(best.get(key) ?? Infinity, ms));
    }
  }
}
console.log(`kafkajs's producer uses the linear grouping in this process: ${linearGrouping()}`);
for (const [key, ms] of best) console.log(`${key.padEnd(60)} ${ms.toFixed(3)} CPU ms per send`);
