import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { BusRecord } from '../bus.js';
import { BusError } from '../errors.js';
import type { TopicName } from '../topics.js';
import { Handoff } from './handoff.js';
import { toRecord } from './subscription.js';

export interface RangeReaderContext {
  kafka: Kafka;
  clientId: string;
  sessionTimeout: number;
  /** every Kafka topic name of the pipeline: kafkajs cannot subscribe once running */
  kafkaTopics: string[];
}

export interface Range {
  topic: TopicName;
  kafkaTopic: string;
  partition: number;
  from: number;
  /** exclusive, ≤ the partition's end offset */
  to: number;
  maxBatch: number;
}

interface Active extends Range {
  next: number;
  out: Handoff<BusRecord<TopicName>[]>;
}

/**
 * Reads partition ranges for replay. kafkajs has no manual assignment, so the reader is a
 * consumer in a throwaway group of its own (`<clientId>-replay-<uuid>`, sole member, hence
 * assigned every partition), subscribed to every topic at the latest offsets and kept paused; a
 * read seeks the wanted partition to `from`, resumes it, and pauses it again when done. It never
 * commits (autoCommit off), so no live group's offsets are touched and the throwaway group
 * leaves nothing behind. Joined once per bus (a join costs seconds), one range at a time.
 *
 * Limit: on a compacted topic, a `to` inside a range compaction removed may never be reached;
 * ranges ending at the end offset (the default) always end (the active segment is never compacted).
 */
export class KafkaRangeReader {
  private consumer: Promise<Consumer> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private active: Active | null = null;

  constructor(private readonly ctx: RangeReaderContext) {}

  async *read<T extends TopicName>(range: Range): AsyncGenerator<BusRecord<T>[]> {
    if (range.from >= range.to) return;
    let release!: () => void;
    const previous = this.queue;
    this.queue = new Promise((r) => (release = r));
    await previous;
    const out = new Handoff<BusRecord<TopicName>[]>();
    let consumer: Consumer | null = null;
    try {
      consumer = await this.start();
      this.active = { ...range, next: range.from, out };
      consumer.seek({ topic: range.kafkaTopic, partition: range.partition, offset: String(range.from) });
      consumer.resume([{ topic: range.kafkaTopic, partitions: [range.partition] }]);
      yield* out as AsyncIterable<BusRecord<T>[]>;
    } finally {
      this.active = null;
      out.close();
      try {
        consumer?.pause([{ topic: range.kafkaTopic, partitions: [range.partition] }]);
      } catch {
        // the consumer crashed meanwhile: the next read starts a new one
      }
      release();
    }
  }

  async close(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    this.active?.out.close();
    await (await c?.catch(() => null))?.disconnect();
  }

  private start(): Promise<Consumer> {
    this.consumer ??= (async () => {
      const consumer = this.ctx.kafka.consumer({
        groupId: `${this.ctx.clientId}-replay-${randomUUID()}`,
        sessionTimeout: this.ctx.sessionTimeout,
        heartbeatInterval: Math.max(100, Math.floor(this.ctx.sessionTimeout / 10)),
        maxWaitTimeInMs: Math.min(5_000, Math.floor(this.ctx.sessionTimeout / 6)),
        allowAutoTopicCreation: false,
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // A restarted kafkajs consumer forgets seeks and pauses: end the read, start afresh next time.
        this.active?.out.fail(new BusError('BUS_BROKER', `replay reader lost the broker: ${payload.error.message}`, {}, { cause: payload.error, retriable: true }));
        void this.close();
      });
      await consumer.connect();
      await consumer.subscribe({ topics: this.ctx.kafkaTopics, fromBeginning: false });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
      consumer.pause(this.ctx.kafkaTopics.map((topic) => ({ topic })));
      return consumer;
    })();
    this.consumer.catch(() => (this.consumer = null));
    return this.consumer;
  }

  private async onBatch({ batch, resolveOffset, isStale }: EachBatchPayload): Promise<void> {
    // Fetched before the seek took effect: kafkajs fetches again from the seek offset.
    if (isStale()) return;
    // Resolving moves the fetch position only (autoCommit is off); unresolved, kafkajs fetches the same batch again.
    resolveOffset(batch.lastOffset());
    const a = this.active;
    if (!a || batch.topic !== a.kafkaTopic || batch.partition !== a.partition || a.next >= a.to) return;
    try {
      const wanted = batch.messages.filter((m) => Number(m.offset) >= a.next && Number(m.offset) < a.to);
      for (let i = 0; i < wanted.length; i += a.maxBatch) {
        const records = wanted.slice(i, i + a.maxBatch).map((m) => toRecord(a.topic, a.partition, m));
        a.next = records[records.length - 1]!.offset + 1;
        await a.out.put(records);
      }
      if (Number(batch.lastOffset()) + 1 >= a.to) a.out.end();
    } catch (e) {
      a.out.fail(e);
    }
  }
}
