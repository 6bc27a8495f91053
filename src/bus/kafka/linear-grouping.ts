import { createRequire } from 'node:module';
import type { Message, PartitionMetadata } from 'kafkajs';

/**
 * kafkajs 2.2.4 (its last release) groups a send's messages per partition with
 * `Object.assign(result, { [partition]: [...current, message] })`: each message copies the list of
 * its partition so far, so a send costs the square of its messages per partition. The liquidation
 * service's ledger pieces of a batch (≈ 1 000) and its settlements (500 a call) each go to ONE
 * partition — a family's records all go by the adhérent — so that square was 0.31–0.36 s of the
 * main thread's 5.5–7 s at 20 000 lines (bench/README.md "Session 15 — kafka"). This module puts a
 * linear grouping with the same result (the same object: partition → messages in send order, the
 * partitioner asked once per message in the same order) in its place.
 *
 * How: kafkajs is CommonJS; `producer/sendMessages.js` takes the function by `require` when kafkajs
 * is first loaded. The module is loaded here first and its exports replaced in the require cache,
 * so kafkajs's own `require` gets this one. That only works if kafkajs was not loaded yet: every
 * module of the bus that imports kafkajs imports this module FIRST (ES modules evaluate their
 * imports in order, each import's own imports before it), and `linearGrouping()` says whether it
 * took (false: kafkajs kept its own, slower, with the same result).
 */
type Partitioner = (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number;
type Grouping = (args: { topic: string; partitionMetadata: PartitionMetadata[]; messages: Message[]; partitioner: Partitioner }) => Record<number, Message[]>;

/** The grouping of kafkajs 2.2.4's `producer/groupMessagesPerPartition.js`, without the copies. */
export const groupMessagesPerPartition: Grouping = ({ topic, partitionMetadata, messages, partitioner }) => {
  const result: Record<number, Message[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition];
    if (current === undefined) result[partition] = [message];
    else current.push(message);
  }
  return result;
};

const require = createRequire(import.meta.url);

function install(): boolean {
  try {
    const sendMessages = require.resolve('kafkajs/src/producer/sendMessages.js');
    // kafkajs loaded already: its producer holds the original.
    if (require.cache[sendMessages] !== undefined) return false;
    const path = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
    const version = (require('kafkajs/package.json') as { version: string }).version;
    // Only the version whose function this one was checked against (test/bus/kafka-linear-grouping.test.ts).
    if (version !== '2.2.4') return false;
    require(path);
    const cached = require.cache[path];
    if (cached === undefined) return false;
    cached.exports = groupMessagesPerPartition;
    return true;
  } catch {
    return false;
  }
}

const installed = install();

/** Whether kafkajs's producer uses the linear grouping (this module was evaluated before kafkajs was loaded). */
export function linearGrouping(): boolean {
  return installed && require('kafkajs/src/producer/groupMessagesPerPartition.js') === groupMessagesPerPartition;
}
