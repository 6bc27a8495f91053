import { CompressionTypes, Partitioners, type Admin, type Kafka, type Producer, type RetryOptions } from 'kafkajs';
import { checkRange, lagOf, type Bus, type BusRecord, type CommittedOffset, type ConsumeOptions, type GroupLag, type Outgoing, type PartitionOffsets, type ProduceOptions, type ReadRangeOptions, type Subscription } from '../bus.js';
import { prepare } from '../codec.js';
import { BusError } from '../errors.js';
import { partitionCount, TOPIC_NAMES, topicDef, type TopicName } from '../topics.js';
import { AdminQueue } from './admin-queue.js';
import { brokersTried, createKafka, RETRY, type KafkaBusOptions } from './client.js';
import { KafkaRangeReader } from './range-reader.js';
import type { CallGroups } from './call-groups.js';
import { sendGroups, type TopicMessages } from './sends.js';
import { KafkaSubscription } from './subscription.js';

export type { KafkaBusOptions } from './client.js';

/**
 * The bus on Kafka (kafkajs). Producer: acks −1, not idempotent and not transactional (the
 * pipeline's exactly-once effect comes from idempotent processing; librdkafka's mock cluster, our
 * test broker, breaks kafkajs's idempotent producer), maxInFlightRequests 1 so a retried request
 * cannot overtake the next one and reorder a partition; record batches gzip-compressed when
 * `compression` is 'gzip' (KAFKA_COMPRESSION). Produce calls made while a send is in flight go
 * out together in the next send (call-groups.ts).
 */
export async function openKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  if (options.connectRetry) await probeBrokers(options, options.connectRetry);
  const kafka = await createKafka(options);
  const admin = kafka.admin({ retry: options.retry ?? RETRY });
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: true,
    idempotent: false,
    maxInFlightRequests: 1,
    retry: options.retry ?? RETRY,
  });
  try {
    await admin.connect();
    await ensureTopics(admin, options);
    await producer.connect();
  } catch (e) {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    throw e instanceof BusError ? e : new BusError('BUS_BROKER', `cannot reach Kafka at ${brokersTried(options)}: ${(e as Error).message}`, {}, { cause: e, retriable: true });
  }
  return new KafkaBus(kafka, admin, producer, options);
}

/** Connects once with `retry` and lets go: BUS_BROKER naming the brokers when none answers. */
async function probeBrokers(options: KafkaBusOptions, retry: RetryOptions): Promise<void> {
  const probe = (await createKafka(options, retry)).admin({ retry });
  try {
    await probe.connect();
  } catch (e) {
    throw new BusError('BUS_BROKER', `cannot reach Kafka at ${brokersTried(options)}: ${(e as Error).message}`, {}, { cause: e, retriable: true });
  } finally {
    await probe.disconnect().catch(() => {});
  }
}

/**
 * Creates the topics with their partition count (cleanup.policy=compact for the changelogs,
 * retention.ms where the topic names one: `members`);
 * where CreateTopics is refused or missing (librdkafka's mock lacks it), relies on auto-creation
 * through the metadata request. Either way, checks every topic has the expected partition count.
 */
async function ensureTopics(admin: Admin, options: KafkaBusOptions): Promise<void> {
  const names = TOPIC_NAMES.map((t) => options.topicPrefix + t);
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: TOPIC_NAMES.map((t) => ({
        topic: options.topicPrefix + t,
        numPartitions: topicDef(t).partitions,
        ...(options.replicationFactor !== undefined ? { replicationFactor: options.replicationFactor } : {}),
        configEntries: [
          ...(topicDef(t).compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : []),
          ...(topicDef(t).retentionMs !== undefined ? [{ name: 'retention.ms', value: String(topicDef(t).retentionMs) }] : []),
        ],
      })),
    });
  } catch (e) {
    options.logger?.info({ err: e }, 'kafka: CreateTopics not available, relying on topic auto-creation');
  }
  let metadata;
  try {
    metadata = await admin.fetchTopicMetadata({ topics: names });
  } catch (e) {
    throw new BusError('BUS_BROKER', `kafka topics ${names.join(', ')} are missing and could not be created: create them with ${partitionCount()} partitions (NOEMIE_PARTITIONS) (${(e as Error).message})`, {}, { cause: e });
  }
  for (const t of metadata.topics) {
    const expected = topicDef(t.name.slice(options.topicPrefix.length) as TopicName).partitions;
    if (t.partitions.length !== expected) {
      throw new BusError(
        'BUS_PARTITION_MISMATCH',
        `kafka topic ${t.name} has ${t.partitions.length} partitions, the pipeline expects ${expected} (NOEMIE_PARTITIONS=${expected}): keys would land elsewhere; set NOEMIE_PARTITIONS=${t.partitions.length} to use these topics`,
        { topic: t.name },
      );
    }
  }
}

export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly subscriptions = new Set<KafkaSubscription<TopicName>>();
  private closed = false;
  private readonly ranges: KafkaRangeReader;
  private readonly compression: CompressionTypes;
  /** every admin call goes through it (admin-queue.ts: a kafkajs bug with concurrent calls) */
  private readonly adminCalls = new AdminQueue();
  /** produce calls made while a send is in flight share the next one (call-groups.ts) */
  private readonly sends: CallGroups<TopicMessages>;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly options: KafkaBusOptions,
  ) {
    this.compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.sends = sendGroups((topicMessages) => this.producer.sendBatch({ topicMessages, acks: -1, compression: this.compression }));
    this.ranges = new KafkaRangeReader({
      kafka,
      clientId: options.clientId,
      sessionTimeout: options.sessionTimeout,
      kafkaTopics: TOPIC_NAMES.map((t) => this.nameOf(t)),
    });
  }

  private nameOf(topic: TopicName): string {
    return this.options.topicPrefix + topic;
  }

  async produce<T extends TopicName>(topic: T, messages: readonly Outgoing<T>[], options?: ProduceOptions): Promise<void> {
    this.assertOpen();
    const prepared = prepare(topic, messages, options);
    if (prepared.length === 0) return;
    try {
      await this.sends.push({
        topic: this.nameOf(topic),
        messages: prepared.map((m) => ({ key: m.key, value: kafkaValue(m.value), headers: m.headers, ...(m.partition !== undefined ? { partition: m.partition } : {}) })),
      });
    } catch (e) {
      throw new BusError('BUS_BROKER', `produce to ${this.nameOf(topic)} failed after retries: ${(e as Error).message}`, { topic }, { cause: e, retriable: true });
    }
  }

  async consume<T extends TopicName>(options: ConsumeOptions<T>): Promise<Subscription> {
    this.assertOpen();
    const sub = new KafkaSubscription<TopicName>(
      {
        kafka: this.kafka,
        sessionTimeout: this.options.sessionTimeout,
        nameOf: (t) => this.nameOf(t),
        topicOf: (name) => name.slice(this.options.topicPrefix.length) as TopicName,
        logger: this.options.logger,
      },
      options as unknown as ConsumeOptions<TopicName>,
    );
    this.subscriptions.add(sub);
    void sub.done.catch(() => undefined).finally(() => this.subscriptions.delete(sub));
    try {
      await sub.start();
    } catch (e) {
      await sub.stop();
      throw new BusError('BUS_BROKER', `cannot join group ${options.groupId}: ${(e as Error).message}`, { group: options.groupId }, { cause: e, retriable: true });
    }
    return sub;
  }

  async *readRange<T extends TopicName>(topic: T, partition: number, options: ReadRangeOptions): AsyncGenerator<BusRecord<T>[]> {
    this.assertOpen();
    const offsets = (await this.endOffsets(topic)).find((o) => o.partition === partition);
    if (!offsets) throw new BusError('BUS_OFFSET_OUT_OF_RANGE', `${topic} has no partition ${partition}`, { topic, partition });
    checkRange(topic, partition, options.from, offsets.high, offsets.low);
    yield* this.ranges.read<T>({
      topic,
      kafkaTopic: this.nameOf(topic),
      partition,
      from: options.from,
      to: Math.min(options.to ?? offsets.high, offsets.high),
      maxBatch: options.maxBatch ?? 500,
    });
  }

  async offsetForTime(topic: TopicName, partition: number, timestamp: number): Promise<number> {
    const ends = (await this.endOffsets(topic)).find((o) => o.partition === partition);
    if (!ends) throw new BusError('BUS_OFFSET_OUT_OF_RANGE', `${topic} has no partition ${partition}`, { topic, partition });
    if (this.options.timestampLookup !== false) {
      const found = (await this.adminCalls.run(() => this.admin.fetchTopicOffsetsByTimestamp(this.nameOf(topic), timestamp))).find((o) => o.partition === partition);
      return found ? Number(found.offset) : ends.high;
    }
    // CreateTime is set by the producer, so not strictly ordered: the first record at or after wins.
    for await (const batch of this.readRange(topic, partition, { from: ends.low })) {
      const hit = batch.find((r) => r.timestamp >= timestamp);
      if (hit) return hit.offset;
    }
    return ends.high;
  }

  async endOffsets(topic: TopicName): Promise<PartitionOffsets[]> {
    const offsets = await this.adminCalls.run(() => this.admin.fetchTopicOffsets(this.nameOf(topic)));
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) })).sort((a, b) => a.partition - b.partition);
  }

  async committedOffsets(groupId: string, topic: TopicName): Promise<CommittedOffset[]> {
    const [found] = await this.adminCalls.run(() => this.admin.fetchOffsets({ groupId, topics: [this.nameOf(topic)] }));
    return (found?.partitions ?? [])
      .map((p) => ({ partition: p.partition, offset: Number(p.offset) < 0 ? null : Number(p.offset) }))
      .sort((a, b) => a.partition - b.partition);
  }

  lag(groupId: string, topics: readonly TopicName[]): Promise<GroupLag[]> {
    return lagOf(this, groupId, topics);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.ranges.close();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('BUS_CLOSED', 'the bus is closed');
  }
}

/** kafkajs takes a string or a Buffer: bytes a producer gave (OutgoingText) are viewed as a Buffer, not copied. */
function kafkaValue(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' || Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}
