import type { Batch, BatchSession, BusRecord, ConsumeOptions, Subscription } from '../bus.js';
import { decode, decodeOwn } from '../codec.js';
import type { TopicName } from '../topics.js';
import type { OffsetStore } from './offsets.js';
import type { PartitionLog } from './partition-log.js';

/** one member per group: no one to tell it is alive */
const NO_SESSION: BatchSession = { heartbeat: async () => undefined };

/** What a subscription needs from the embedded bus (kept narrow so the loop is testable on its own). */
export interface SubscriptionHost {
  log(topic: TopicName, partition: number): Promise<PartitionLog>;
  partitions(topic: TopicName): number;
  offsets: OffsetStore;
  /** resolves once something was appended after `seq`, or on wake() */
  waitForAppend(seq: number): Promise<void>;
  readonly appendSeq: number;
  wake(): void;
}

interface Slot {
  topic: TopicName;
  partition: number;
  position: number;
  log: PartitionLog;
}

/**
 * The embedded consumer: one member per group, every partition of its topics, one batch at a
 * time, round robin over partitions so a busy partition does not starve the others. The commit
 * file is written only after the handler resolved.
 */
export class EmbeddedSubscription<T extends TopicName> implements Subscription {
  readonly done: Promise<void>;
  /** resolves once the group's start positions are known and its partitions followed (or it failed before) */
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private stopping = false;

  constructor(
    private readonly host: SubscriptionHost,
    private readonly options: ConsumeOptions<T>,
    onEnd: () => void,
  ) {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
    this.done = this.run().finally(() => {
      this.markReady();
      onEnd();
    });
    // The caller may only ever call stop(); an unobserved failure must not crash the process.
    this.done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.host.wake();
    await this.done.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const { groupId, topics, fromBeginning = true } = this.options;
    const slots: Slot[] = [];
    try {
      for (const topic of topics) {
        const committed = await this.host.offsets.get(groupId, topic);
        for (let partition = 0; partition < this.host.partitions(topic); partition++) {
          const log = await this.host.log(topic, partition);
          const start = committed.get(partition) ?? (fromBeginning ? 0 : log.end);
          slots.push({ topic, partition, position: start, log });
          // From here on the partition's appends are kept in memory until this group has read them (tail.ts).
          log.tail?.follow(this, start);
        }
      }
      this.markReady();
      await this.loop(slots);
    } finally {
      for (const slot of slots) slot.log.tail?.unfollow(this);
    }
  }

  /**
   * The next batch of a partition as typed records, the topic's `slim` applied to their values. Its
   * own method: an async function's frame keeps every local through its awaits (V8 saves the whole
   * register file), so the stored records — values whole — would otherwise live as long as the handler.
   */
  private async take(slot: Slot, maxBatch: number): Promise<BusRecord<TopicName>[]> {
    const { log, topic, partition } = slot;
    const raw = this.options.raw?.[topic as T] as ((json: string | Uint8Array) => unknown) | undefined;
    // Raw: what this process appended comes as its JSON (checked by `produce` when appended); what
    // was found on disk is parsed and checked by zod below, as for any consumer.
    const stored = await log.read(slot.position, maxBatch, batchBytes(maxBatch), raw !== undefined ? log.ownFrom : Infinity);
    const slim = this.options.slim?.[topic as T] as ((value: unknown) => unknown) | undefined;
    return stored.map((r) => {
      if (r.j !== undefined) {
        const record = decodeOwn(topic, { partition, offset: r.o, key: r.k, value: raw!(r.j), headers: r.h, timestamp: r.t });
        record.json = r.j;
        return record;
      }
      const record = (r.o >= log.ownFrom ? decodeOwn : decode)(topic, { partition, offset: r.o, key: r.k, value: r.v, headers: r.h, timestamp: r.t });
      // Found on disk, checked: given whole, its JSON made again from what zod gave.
      if (raw !== undefined) record.json = JSON.stringify(record.value);
      if (slim !== undefined) record.value = slim(record.value) as typeof record.value;
      return record;
    });
  }

  private async loop(slots: Slot[]): Promise<void> {
    const { groupId, handler, maxBatch = 500 } = this.options;
    while (!this.stopping) {
      const seq = this.host.appendSeq;
      let worked = false;
      for (const slot of slots) {
        if (this.stopping) break;
        const records = await this.take(slot, maxBatch);
        if (records.length === 0) continue;
        await handler({ topic: slot.topic, partition: slot.partition, records } as Batch<T>, NO_SESSION);
        const next = slot.position + records.length;
        await this.host.offsets.commit(groupId, slot.topic, slot.partition, next);
        slot.position = next;
        slot.log.tail?.advance(this, next);
        worked = true;
      }
      if (!worked && !this.stopping) await this.host.waitForAppend(seq);
    }
  }
}

/**
 * The most log bytes one batch reads: room for `maxBatch` records of up to 2 KiB (a settlement is
 * ≈ 0.9 KB, a line ≈ 0.8 KB), at least 1 MiB. With a fixed 1 MiB a batch of 4 096 settlements was
 * cut to ≈ 1 100, so every consumer committed its store (and fsynced) ~4× as often as its
 * `maxBatch` says — the commits are most of the bytes written (bench/README.md, session 6).
 */
export const batchBytes = (maxBatch: number) => Math.max(1024 * 1024, maxBatch * 2048);
