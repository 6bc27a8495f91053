import { BusError } from './errors.js';
import type { Headers } from './messages.js';
import type { MessageOf, TopicName } from './topics.js';

/**
 * The one interface between stages. Two implementations: embedded (files under NOEMIE_HOME/bus,
 * the default) and Kafka (kafkajs). Delivery is at-least-once on both; stages get the
 * exactly-once effect by idempotent processing and by committing only after their effects are
 * durable (README "Bus").
 */
export interface OutgoingMessage<T extends TopicName> {
  value: MessageOf<T>;
  /** default: the topic's key (beneficiary for lines and settlements) */
  key?: string;
  /** merged over the headers the topic derives from the value (origin, lineKey) */
  headers?: Headers;
  /** explicit partition (the counters changelog follows its line's partition); default: partitionFor(key) */
  partition?: number;
  /**
   * `JSON.stringify(value)` when the producer holds it already (the ingest sink reads its lines
   * back from its spool as that text): written as the value's bytes instead of serialising again.
   * Used by `trusted` calls only (a checked call writes the schema's output); under
   * NOEMIE_BUS_VERIFY=1 it must be the JSON of `value`.
   */
  json?: string;
}

/**
 * A message a trusted producer holds only as text: its value's JSON, with the key and the headers —
 * every header the topic would derive from the value (`headersOf`) and any other it sets, as the
 * value path writes them — so nothing has to parse it back. The ingest
 * sink's spooled lines (src/pipeline/bus-sink.ts): parsing each line again to key it was most of
 * the sink's main-thread cost. A `trusted` call writes the text as it is (under NOEMIE_BUS_VERIFY=1
 * it is parsed and checked as a trusted value is, and the headers must include those the value derives);
 * an unchecked call parses it, checks it and writes the schema's output, as for a value.
 */
export interface OutgoingText {
  value?: undefined;
  /**
   * The JSON text, or its UTF-8 bytes (the ingest sink reads its spool as bytes: the bytes go to
   * the log as they are, never decoded to a string and encoded again). Not to be changed once
   * given: the embedded bus's tail keeps them for its followers until they have read them.
   */
  json: string | Uint8Array;
  key: string;
  headers: Headers;
  partition?: number;
}

/** What `produce` takes: a value (OutgoingMessage), or a trusted producer's text (OutgoingText). */
export type Outgoing<T extends TopicName> = OutgoingMessage<T> | OutgoingText;

/**
 * How `produce` treats the values it is given.
 *
 * The rule (README "The bus"): zod checks a message where it enters the system — a drop read by an
 * edge codec, a file or HTTP body, a record read from Kafka or found on disk — not again on every
 * internal hop. So a value a stage of this pipeline BUILT from data already checked (a line the
 * CSV/NOEMIE/XML codec validated, a settlement the engine computed from consumed lines, a state
 * the reconciliation decider folded) is produced with `trusted: true`: serialised as it is, no
 * schema pass. Everything else (a test, an import, a caller outside the stages) leaves it unset
 * and is checked: a bad value sends nothing of the call (BUS_INVALID_MESSAGE).
 *
 * With NOEMIE_BUS_VERIFY=1 (the test suite sets it: vitest.config.ts) trusted values are checked
 * too, and must already be exactly what their schema gives (no field the schema would drop or
 * change): a stage that builds a bad message fails its tests, and production writes the same bytes
 * as the tests did.
 */
export interface ProduceOptions {
  trusted?: boolean;
}

/** `produce(topic, messages, TRUSTED)`: values a stage built from data already checked (see ProduceOptions). */
export const TRUSTED: ProduceOptions = Object.freeze({ trusted: true });

export interface BusRecord<T extends TopicName> {
  topic: T;
  partition: number;
  offset: number;
  key: string;
  value: MessageOf<T>;
  headers: Headers;
  /** ms since epoch, set when appended (embedded) or produced (Kafka CreateTime) */
  timestamp: number;
  /**
   * The value's JSON as the bus stored it (text, or its UTF-8 bytes: a view the handler must not
   * change), given only for a topic the consumer asked `raw` for and only by a bus that does it
   * (the embedded one, and Kafka for a consumer that `checksRaw`); `value` is then what the `raw`
   * reader read from it.
   */
  json?: string | Uint8Array;
  /**
   * True when `json` was checked by nobody yet (Kafka, `checksRaw`): the handler checks it against
   * its topic's schema before any use, and fails the batch on a value that does not pass.
   */
  unchecked?: true;
}

/**
 * Kafka: tells the group coordinator this member is alive. kafkajs heartbeats only between batches,
 * so a handler doing long work (a ledger catch-up) calls it now and then, or the group evicts the
 * member while it still writes. Embedded: a group has one member, nothing to tell.
 */
export interface BatchSession {
  heartbeat(): Promise<void>;
  /**
   * Kafka: how many times this member has joined its group so far (each join may change its
   * partitions). Two batches that see the same number were handed out with no rebalance between
   * them: the member held their partitions all along, so nobody else consumed them meanwhile.
   * Embedded: undefined (a group has one member).
   */
  readonly generation?: number;
}

/** What a handler receives: consecutive records of one topic-partition, in offset order. */
export type Batch<T extends TopicName> = { [K in T]: { topic: K; partition: number; records: BusRecord<K>[] } }[T];

export interface ConsumeOptions<T extends TopicName> {
  groupId: string;
  topics: readonly T[];
  /**
   * Called one batch at a time per subscription (Kafka: up to `concurrency` at once). The batch's offsets are committed only after
   * the returned promise resolves; if it rejects, nothing is committed, the subscription ends
   * (`done` rejects) and the batch is delivered again to the group's next member.
   */
  handler: (batch: Batch<T>, session: BatchSession) => Promise<void>;
  /** where a group without a committed offset starts: earliest (default, true) or the end */
  fromBeginning?: boolean;
  /** most records per handler call (default 500) */
  maxBatch?: number;
  /**
   * Kafka: how many batches may be handled at once, each of a different topic-partition (kafkajs
   * `partitionsConsumedConcurrently`; default 1). Batches of one topic-partition still come one
   * at a time and in offset order, each committed after its own handler resolved; what batches of
   * different topic-partitions share (the same partition number of two co-partitioned topics, a
   * store) is the handler's to keep apart. The embedded bus hands one batch at a time whatever
   * this says.
   */
  concurrency?: number;
  /**
   * Per topic, what the handler keeps of each consumed value: applied by either bus to each
   * value as it decodes a batch (after zod, for a record that goes through it), before the handler
   * sees it — for a consumer that reads a few fields of large values (the reconciliation reads ≈ 15
   * of a settlement's, src/reconcile/settlement.ts `slimSettlement`), so the batch does not hold
   * every value whole through the handler's awaits (live, each young-generation collection copies
   * it, then promotes it: bench/README.md "Session 14 — reconciliation"). The handler must read
   * the values as what this returns (a subset of the message) or whole (readRange hands them whole).
   */
  slim?: { [K in T]?: (value: MessageOf<K>) => MessageOf<K> };
  /**
   * Per topic, a reader of each value's stored JSON, for a consumer that hands the values on as
   * they are (the liquidation sends them to its worker threads, which parse them) and reads only a
   * few fields itself: a bus that supports it (the embedded one) does not parse a value this
   * process appended (checked by `produce` then), gives the record its `json` as stored and as
   * `value` what the reader returns (a subset of the message, read as `slim`'s); a record it did
   * not append (found on disk) is parsed and checked by zod as ever, then given whole with its
   * JSON made again (`json`). Kafka does it only for a consumer that `checksRaw` (its records come
   * from outside: nobody checked them). A bus that does not do it hands every value whole and no
   * `json`: the handler must take both.
   */
  raw?: { [K in T]?: (json: string | Uint8Array) => MessageOf<K> };
  /**
   * The handler checks a raw record's JSON (`BusRecord.unchecked`) against its topic's schema
   * before any use, failing the batch (so nothing of it is committed) on one that does not pass,
   * and checks that what the `raw` reader read agrees with it. Kafka then hands the `raw` topics'
   * records as their JSON too, unchecked (headers are checked as ever): the liquidation checks its
   * lines in its worker threads, where it parses them, not on the consuming thread
   * (bench/README.md "Session 17 — kafka"). A value the `raw` reader cannot read is parsed and
   * checked here as for any consumer (an error ends the subscription).
   */
  checksRaw?: boolean;
}

export interface Subscription {
  /** waits for the batch in flight (handler and commit), then leaves the group */
  stop(): Promise<void>;
  /** resolves when stopped; rejects with the handler's error, a bad message, or BUS_BROKER */
  readonly done: Promise<void>;
}

export interface ReadRangeOptions {
  /** first offset read */
  from: number;
  /** first offset NOT read; default: the end offset when the read starts */
  to?: number;
  /** most records per yielded batch (default 500) */
  maxBatch?: number;
}

export interface PartitionOffsets {
  partition: number;
  /** first offset still held (always 0 on the embedded bus: no retention) */
  low: number;
  /** end offset: the offset the next message will get */
  high: number;
}

export interface CommittedOffset {
  partition: number;
  /** next offset the group will read; null when it never committed */
  offset: number | null;
}

export interface GroupLag {
  topic: TopicName;
  partition: number;
  committed: number | null;
  end: number;
  /** messages not yet committed by the group (from `low` when it never committed) */
  lag: number;
}

export interface Bus {
  readonly kind: 'embedded' | 'kafka';
  /**
   * Appends messages; resolves once they are durable (Kafka: acks from all in-sync replicas,
   * acks = −1; embedded: written and fdatasync'ed). Order is kept per partition within a call and
   * between awaited calls. Values are checked against the topic schema first (unless `trusted`,
   * see ProduceOptions): on a bad value nothing of the call is sent (BUS_INVALID_MESSAGE).
   */
  produce<T extends TopicName>(topic: T, messages: readonly Outgoing<T>[], options?: ProduceOptions): Promise<void>;
  consume<T extends TopicName>(options: ConsumeOptions<T>): Promise<Subscription>;
  /** Reads one partition's range [from, to) for replay, outside any consumer group's offsets. */
  readRange<T extends TopicName>(topic: T, partition: number, options: ReadRangeOptions): AsyncIterable<BusRecord<T>[]>;
  /** First offset whose timestamp is ≥ `timestamp` (ms), or the end offset. */
  offsetForTime(topic: TopicName, partition: number, timestamp: number): Promise<number>;
  endOffsets(topic: TopicName): Promise<PartitionOffsets[]>;
  committedOffsets(groupId: string, topic: TopicName): Promise<CommittedOffset[]>;
  lag(groupId: string, topics: readonly TopicName[]): Promise<GroupLag[]>;
  /** stops every subscription (waiting for batches in flight) and releases files / connections */
  close(): Promise<void>;
}

/**
 * Lag from end and committed offsets, shared by both buses. Every topic's committed offsets are read
 * BEFORE any end offset: a service produces a record's effects (a handover request on the very
 * topic it reads, say) before it commits the record, so ends read after the commits include those
 * effects. Read at once or the other way round, a commit could land between the two reads and a
 * group with work still ahead would look caught up (seen: a handover request left unread by a
 * `--once` wait on Kafka).
 */
export async function lagOf(bus: Pick<Bus, 'endOffsets' | 'committedOffsets'>, groupId: string, topics: readonly TopicName[]): Promise<GroupLag[]> {
  const committedOf = await Promise.all(topics.map((topic) => bus.committedOffsets(groupId, topic)));
  const endsOf = await Promise.all(topics.map((topic) => bus.endOffsets(topic)));
  const out: GroupLag[] = [];
  for (const [i, topic] of topics.entries()) {
    const ends = endsOf[i]!;
    const byPartition = new Map(committedOf[i]!.map((c) => [c.partition, c.offset]));
    for (const { partition, low, high } of [...ends].sort((a, b) => a.partition - b.partition)) {
      const c = byPartition.get(partition) ?? null;
      out.push({ topic, partition, committed: c, end: high, lag: Math.max(0, high - (c ?? low)) });
    }
  }
  return out;
}

/** A replay must start inside what the partition holds: [low, end]. */
export function checkRange(topic: string, partition: number, from: number, end: number, low = 0): void {
  if (!Number.isInteger(from) || from < low || from > end) {
    throw new BusError('BUS_OFFSET_OUT_OF_RANGE', `${topic}[${partition}] holds offsets ${low}..${end - 1}; cannot start at ${from}`, { topic, partition, offset: String(from) });
  }
}
