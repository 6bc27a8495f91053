import { CallGroups } from './call-groups.js';

/** kafkajs's offsets argument of `commitOffsetsIfNecessary` (an EachBatchPayload's). */
export interface Offsets {
  topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
}

/** One batch's commit: its offset, with the commit function of the batch's payload. */
export interface CommitCall {
  /** group joins when the batch was handed out (a crashed and restarted kafkajs consumer joins again) */
  generation: number;
  commit: (offsets: Offsets) => Promise<void>;
  topic: string;
  partition: number;
  /** the next offset to read */
  offset: string;
}

/**
 * Offset commits of batches handled at once grouped into one OffsetCommit (call-groups.ts). Only
 * batches handed out in one generation go together, through the commit function of the first:
 * after a rejoin a restarted kafkajs consumer has a new runner, and each batch's commit must go
 * through its own.
 */
export function commitGroups(): CallGroups<CommitCall> {
  return new CallGroups<CommitCall>(
    (calls) => calls[0]!.commit(offsetsOf(calls)),
    (waiting) => {
      let n = 1;
      while (n < waiting.length && waiting[n]!.generation === waiting[0]!.generation) n += 1;
      return n;
    },
  );
}

function offsetsOf(calls: readonly CommitCall[]): Offsets {
  const topics = new Map<string, Map<number, string>>();
  for (const { topic, partition, offset } of calls) {
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map()));
    // One batch of a partition at a time (kafkajs), so a partition appears once; the later call wins if not.
    partitions.set(partition, offset);
  }
  return { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions: [...partitions].map(([partition, offset]) => ({ partition, offset })) })) };
}
