import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Batch, BusRecord, ConsumeOptions, Subscription } from '../bus.js';
import { decode, decodeUnchecked, parseJson } from '../codec.js';
import { WIRE_HEADERS } from '../messages.js';
import { BusError } from '../errors.js';
import { commitGroups } from './commits.js';
import { CoPartitionedAssigner } from './co-partitioned-assigner.js';
import type { TopicName } from '../topics.js';
import type { Logger } from '../../log.js';
import type { KafkaMessage } from 'kafkajs';

/**
 * How long held records wait for their partition's next batch before `linger` has them read
 * again: well past a fetch round trip on a loaded machine, since in the normal course the next
 * batch comes with the next fetch, right after the handler calls of this one.
 */
const LINGER_MS = 1_000;

/** the wire names of the headers a record carries (messages.ts WIRE_HEADERS) */
const ENVELOPE_HEADERS: readonly string[] = Object.values(WIRE_HEADERS);

/**
 * Records of one topic-partition read and not yet handled (`onBatch`), as kafkajs handed them:
 * decoded (JSON, zod) only when they go to the handler. Why: a record waits here over many fetches
 * (the test broker's ≈ 30 per fetch, gathered to `maxBatch`), through several young-generation
 * collections, so whatever it holds is copied and then promoted; kafkajs's message is a few small
 * objects over its fetch's bytes, the decoded line some forty objects (bench/README.md "Session 15 —
 * kafka").
 */
interface Held {
  /** group joins when they were read */
  generation: number;
  messages: KafkaMessage[];
  timer: NodeJS.Timeout | undefined;
}

export interface KafkaSubscriptionContext {
  kafka: Kafka;
  sessionTimeout: number;
  /** Kafka topic name ↔ pipeline topic (the topic prefix) */
  nameOf(topic: TopicName): string;
  topicOf(kafkaTopic: string): TopicName;
  logger: Logger | undefined;
}

/**
 * A consumer group member. autoCommit off and eachBatchAutoResolve off: an offset is committed
 * (commitOffsets with the explicit offset) only after the handler resolved for its records;
 * records are gathered across fetches into handler batches (`onBatch`). A handler failure commits nothing and ends the subscription; kafkajs crashes on
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
  /** records read and not yet handled, per `<kafka topic>:<partition>` (onBatch) */
  private readonly held = new Map<string, Held>();
  private heldCount = 0;
  /** most records held at once: past it, a partition's held records go to the handler without waiting for more */
  private readonly heldLimit: number;
  /** partitions sought back by `linger`: their next batch goes to the handler at once */
  private readonly lingered = new Set<string>();

  constructor(
    private readonly ctx: KafkaSubscriptionContext,
    private readonly options: ConsumeOptions<T>,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // A full batch for each partition handled at once, and one more gathering.
    this.heldLimit = (options.maxBatch ?? 500) * (Math.max(1, options.concurrency ?? 1) + 1);
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

  /**
   * Records are gathered across fetches, per topic-partition, into handler batches of up to
   * `maxBatch`: a batch is handed to the handler once `maxBatch` records are there, or once the
   * partition has nothing more for now (its records read up to the high watermark the fetch
   * reported), or when this member holds too many records read and not handled (`heldLimit`).
   * Why: a broker answers a fetch with what it has at hand — librdkafka's mock, the test broker,
   * with ONE record batch per partition, so a drop sent 500 lines at a time over 16 partitions came
   * as handler batches of ≈ 30 lines, each paying the service's fixed cost per batch (a pool task,
   * produce and commit round trips, a ledger head per family: bench/README.md "Session 9 — kafka").
   *
   * Read records are resolved (so the next fetch goes on from them) but not committed: the
   * commit, as before, is the offset after the last record the handler returned for. The handler
   * still runs inside kafkajs's eachBatch of its partition, so a rebalance still waits for it (the
   * next owner never works on the partition at the same time). Records held when the group is
   * joined again (a new generation) are dropped: the new assignment starts from the committed
   * offsets, so they are read again, by this member or the next owner; so are records held when
   * the subscription stops.
   */
  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const topic = this.ctx.topicOf(batch.topic);
    const { partition } = batch;
    const slot = `${batch.topic}:${partition}`;
    const maxBatch = this.options.maxBatch ?? 500;
    const generation = this.joins;
    let held = this.held.get(slot);
    if (held !== undefined) {
      clearTimeout(held.timer);
      held.timer = undefined;
      if (held.generation !== generation) {
        this.release(slot);
        held = undefined;
      }
    }
    const gone = () => this.stopping || this.failure !== null || !isRunning() || isStale();
    if (gone()) return this.release(slot);
    const read = batch.messages;
    if (read.length === 0) return;
    resolveOffset(read[read.length - 1]!.offset);
    if (held === undefined) this.held.set(slot, (held = { generation, messages: [], timer: undefined }));
    for (const m of read) held.messages.push(m);
    this.heldCount += read.length;
    const readAll = this.lingered.delete(slot) || Number(batch.lastOffset()) + 1 >= Number(batch.highWatermark);
    while (held.messages.length >= maxBatch || (held.messages.length > 0 && (readAll || this.heldCount > this.heldLimit))) {
      if (gone()) return this.release(slot);
      const taken = held.messages.splice(0, maxBatch);
      this.heldCount -= taken.length;
      // A record that is not JSON or fails its schema ends the subscription, nothing of its chunk handled or committed.
      let chunk: BusRecord<TopicName>[];
      try {
        const raw = this.options.checksRaw === true ? this.raw(topic) : undefined;
        chunk = taken.map((m) => (raw !== undefined ? toRawRecord(topic, partition, m, raw) : toRecord(topic, partition, m, this.slim(topic))));
      } catch (e) {
        this.fail(e);
        return;
      }
      const keepAlive = this.keepAlive(heartbeat);
      try {
        await this.options.handler({ topic, partition, records: chunk } as Batch<T>, { heartbeat, generation });
      } catch (e) {
        // Not thrown to kafkajs: it would retry the same batch; the service decides what next.
        this.fail(e);
        return;
      } finally {
        clearInterval(keepAlive);
      }
      await this.commits.push({ generation, commit: commitOffsetsIfNecessary, topic: batch.topic, partition, offset: String(chunk[chunk.length - 1]!.offset + 1) });
      await heartbeat();
    }
    if (held.messages.length > 0) {
      const kept = held;
      kept.timer = setTimeout(() => this.linger(slot, batch.topic, partition, kept), LINGER_MS);
      kept.timer.unref();
    }
  }

  /**
   * Held records whose partition brought nothing more within LINGER_MS although the fetch said
   * more was there: the rest may be records kafkajs does not hand out (transaction markers,
   * records deleted since). The handler may only run inside an eachBatch of the partition, so
   * the held records are dropped and the partition is sought back to the first of them: the next
   * fetch reads them again, and that batch goes to the handler at once, whatever follows it.
   */
  private linger(slot: string, kafkaTopic: string, partition: number, held: Held): void {
    if (this.held.get(slot) !== held || held.generation !== this.joins || this.stopping || this.failure !== null) return;
    const first = held.messages[0]!.offset;
    this.release(slot);
    this.lingered.add(slot);
    try {
      this.consumer.seek({ topic: kafkaTopic, partition, offset: first });
    } catch (e) {
      // The consumer is not running: its next run starts from the committed offsets, before `first`.
      this.ctx.logger?.warn({ err: e, group: this.options.groupId, topic: kafkaTopic, partition }, 'kafka consumer: could not seek back to held records');
    }
  }

  /** Forgets the records held for `slot` (read again from the committed offset: see onBatch). */
  private release(slot: string): void {
    const held = this.held.get(slot);
    if (held === undefined) return;
    clearTimeout(held.timer);
    this.heldCount -= held.messages.length;
    this.held.delete(slot);
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

  /** The consumer's reader of `topic`'s JSON (ConsumeOptions.raw), used only when it `checksRaw`. */
  private raw(topic: TopicName): ((json: string | Uint8Array) => unknown) | undefined {
    return (this.options.raw as Record<string, ((json: string | Uint8Array) => unknown) | undefined> | undefined)?.[topic];
  }

  /** What the handler keeps of each value of `topic` (ConsumeOptions.slim), as the embedded bus applies it. */
  private slim(topic: TopicName): ((value: never) => unknown) | undefined {
    return (this.options.slim as Record<string, ((value: never) => unknown) | undefined> | undefined)?.[topic];
  }

  stop(): Promise<void> {
    this.stopping = true;
    for (const slot of [...this.held.keys()]) this.release(slot);
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

/**
 * A kafkajs message as a record for a consumer that checks its JSON itself (ConsumeOptions.checksRaw):
 * its value's bytes as `json` (a view on kafkajs's fetch buffer, not copied), `value` what `raw` read
 * from them, the headers checked here. A value `raw` cannot read (not JSON, a field missing) goes
 * through `toRecord`: parsed and checked by zod, whose error ends the subscription as for any
 * consumer; one that passes comes whole, checked, its `json` made again from zod's output.
 */
export function toRawRecord<T extends TopicName>(topic: T, partition: number, m: KafkaMessage, raw: (json: string | Uint8Array) => unknown): BusRecord<T> {
  let value: unknown;
  if (m.value !== null) {
    try {
      value = raw(m.value);
    } catch {
      value = undefined;
    }
  }
  if (value === undefined || m.value === null) {
    // Checked here and whole: its JSON made again from what zod gave (as the embedded bus gives a
    // record found on disk), so that every record of a batch has its `json`.
    const record = toRecord(topic, partition, m);
    record.json = JSON.stringify(record.value);
    return record;
  }
  return decodeUnchecked(topic, { partition, offset: Number(m.offset), key: m.key?.toString('utf8') ?? '', headers: envelopeHeaders(m), timestamp: Number(m.timestamp) }, value, m.value);
}

/** A kafkajs message as a checked record (codec.ts `decode`); `slim`: what is kept of its value, after the check (ConsumeOptions.slim). */
export function toRecord<T extends TopicName>(topic: T, partition: number, m: KafkaMessage, slim?: (value: never) => unknown): BusRecord<T> {
  const offset = Number(m.offset);
  const value = m.value === null ? null : parseJson(m.value, { topic, partition, offset });
  const record = decode(topic, { partition, offset, key: m.key?.toString('utf8') ?? '', value, headers: envelopeHeaders(m), timestamp: Number(m.timestamp) });
  if (slim !== undefined) record.value = slim(record.value as never) as BusRecord<T>['value'];
  return record;
}

/**
 * Only the envelope's wire names are read (codec.ts fromWire): the others are not copied out. A header
 * sent twice comes as an array from kafkajs: its first value, as before.
 */
function envelopeHeaders(m: KafkaMessage): Record<string, string | Uint8Array | undefined> {
  const headers: Record<string, string | Uint8Array | undefined> = {};
  const given = m.headers;
  if (given !== undefined) {
    for (const name of ENVELOPE_HEADERS) {
      const v = given[name];
      if (v !== undefined) headers[name] = Array.isArray(v) ? v[0] : v;
    }
  }
  return headers;
}
