import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Batch, BusRecord, ConsumeOptions, Subscription } from '../bus.js';
import { decode, parseJson } from '../codec.js';
import { BusError } from '../errors.js';
import { commitGroups } from './commits.js';
import { CoPartitionedAssigner } from './co-partitioned-assigner.js';
import type { TopicName } from '../topics.js';
import type { Logger } from '../../log.js';
import type { KafkaMessage } from 'kafkajs';

export interface KafkaSubscriptionContext {
  kafka: Kafka;
  sessionTimeout: number;
  /** Kafka topic name ↔ pipeline topic (the topic prefix) */
  nameOf(topic: TopicName): string;
  topicOf(kafkaTopic: string): TopicName;
  logger: Logger | undefined;
}

/**
 * A consumer group member. autoCommit off and eachBatchAutoResolve off: an offset is resolved and
 * committed (commitOffsets with the explicit offset) only after the handler resolved for its
 * records. A handler failure commits nothing and ends the subscription; kafkajs crashes on
 * retriable broker errors restart the consumer by themselves (with backoff), others end it with
 * BUS_BROKER.
 */
export class KafkaSubscription<T extends TopicName> implements Subscription {
  readonly done: Promise<void>;
  private consumer: Consumer;
  private stopping = false;
  private failure: unknown = null;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private shutdown: Promise<void> | null = null;
  /** group joins so far (BatchSession.generation) */
  private joins = 0;
  /** commits of batches handled at once go in one OffsetCommit (commits.ts) */
  private readonly commits = commitGroups();

  constructor(
    private readonly ctx: KafkaSubscriptionContext,
    private readonly options: ConsumeOptions<T>,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
    this.consumer = ctx.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: ctx.sessionTimeout,
      // Kafka's advice: a third of the session timeout at most.
      heartbeatInterval: Math.max(100, Math.floor(ctx.sessionTimeout / 10)),
      rebalanceTimeout: Math.max(ctx.sessionTimeout, 10_000),
      // kafkajs heartbeats between fetches: a fetch must not outwait the session.
      maxWaitTimeInMs: Math.min(5_000, Math.floor(ctx.sessionTimeout / 6)),
      allowAutoTopicCreation: true,
      partitionAssigners: [CoPartitionedAssigner],
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => void (this.joins += 1));
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !this.stopping) this.fail(new BusError('BUS_BROKER', `consumer of group ${options.groupId} stopped: ${payload.error.message}`, { group: options.groupId }, { cause: payload.error, retriable: true }));
      else ctx.logger?.warn({ group: options.groupId, err: payload.error }, 'kafka consumer crashed, restarting');
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: this.options.topics.map((t) => this.ctx.nameOf(t)), fromBeginning: this.options.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, this.options.concurrency ?? 1),
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const topic = this.ctx.topicOf(batch.topic);
    const { partition } = batch;
    const maxBatch = this.options.maxBatch ?? 500;
    for (let i = 0; i < batch.messages.length; i += maxBatch) {
      if (this.stopping || this.failure || !isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + maxBatch);
      const generation = this.joins;
      let records: BusRecord<TopicName>[];
      const keepAlive = this.keepAlive(heartbeat);
      try {
        records = chunk.map((m) => toRecord(topic, partition, m));
        await this.options.handler({ topic, partition, records } as Batch<T>, { heartbeat, generation });
      } catch (e) {
        // Not thrown to kafkajs: it would retry the same batch; the service decides what next.
        this.fail(e);
        return;
      } finally {
        clearInterval(keepAlive);
      }
      const last = chunk[chunk.length - 1]!.offset;
      resolveOffset(last);
      await this.commits.push({ generation, commit: commitOffsetsIfNecessary, topic: batch.topic, partition, offset: String(BigInt(last) + 1n) });
      await heartbeat();
    }
  }

  /**
   * Heartbeats while the handler runs, as the Java client's heartbeat thread does: the session
   * timeout says whether the member is alive, not how long a batch may take. kafkajs heartbeats only
   * between fetches or when the handler calls heartbeat(), so a handler slower than the session
   * timeout (a re-liquidation request loading a whole ledger, a worker pool starting for a new grid
   * version, a loaded machine) got the member evicted, the batch handed out again and its work done
   * twice. kafkajs sends a heartbeat only once its heartbeatInterval has passed, so ticking at that
   * interval costs nothing more. A heartbeat refused (a rebalance under way) is left to the commit
   * after the handler, which then fails and the batch comes again: at-least-once, as before.
   */
  private keepAlive(heartbeat: () => Promise<void>): NodeJS.Timeout {
    const timer = setInterval(() => void heartbeat().catch(() => undefined), Math.max(100, Math.floor(this.ctx.sessionTimeout / 10)));
    timer.unref();
    return timer;
  }

  stop(): Promise<void> {
    this.stopping = true;
    return this.close();
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    // Disconnecting waits for the batch in flight: not from inside it.
    setImmediate(() => void this.close());
  }

  private close(): Promise<void> {
    this.shutdown ??= this.consumer
      .disconnect()
      .catch((e: unknown) => this.ctx.logger?.warn({ err: e, group: this.options.groupId }, 'kafka consumer disconnect failed'))
      .then(() => (this.failure ? this.settle.reject(this.failure) : this.settle.resolve()));
    return this.shutdown.then(() => this.done.catch(() => undefined));
  }
}

export function toRecord<T extends TopicName>(topic: T, partition: number, m: KafkaMessage): BusRecord<T> {
  const offset = Number(m.offset);
  const value = m.value === null ? null : parseJson(m.value, { topic, partition, offset });
  const headers: Record<string, string | Uint8Array | undefined> = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) headers[k] = Array.isArray(v) ? v[0] : v;
  return decode(topic, { partition, offset, key: m.key?.toString('utf8') ?? '', value, headers, timestamp: Number(m.timestamp) });
}
