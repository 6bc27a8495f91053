import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { checkRange, lagOf, type Bus, type BusRecord, type CommittedOffset, type ConsumeOptions, type GroupLag, type Outgoing, type PartitionOffsets, type ProduceOptions, type ReadRangeOptions, type Subscription } from '../bus.js';
import { decode, decodeOwn, prepare } from '../codec.js';
import { BusError } from '../errors.js';
import { partitionFor, topicDef, type TopicName } from '../topics.js';
import { acquireLock } from './lock.js';
import { OffsetStore, removeStaleTemps, writeAtomically } from './offsets.js';
import { PartitionLog, type AppendEntry } from './partition-log.js';
import { EmbeddedSubscription } from './subscription.js';
import { TailBudget } from './tail.js';
import { busTailMb } from '../../config.js';
import type { Logger } from '../../log.js';

/**
 * The default bus: partitioned append-only logs under one directory, for one machine.
 *
 *   <dir>/LOCK                          pid of the writing process
 *   <dir>/<topic>/topic.json            {"partitions": 4}, checked on every open
 *   <dir>/<topic>/<p>.log, <p>.idx      see partition-log.ts
 *   <dir>/groups/<group>/<topic>.json   committed offsets
 *
 * Not a broker: one process writes, consumers live in that process. A read-only open (for
 * `noemie topics` while the pipeline runs) takes no lock and sees the logs as indexed at open.
 */
export interface EmbeddedBusOptions {
  /** usually `<NOEMIE_HOME>/bus` */
  dir: string;
  readOnly?: boolean;
  /**
   * true (default): every produce call is fdatasync'ed before it resolves (survives a power loss).
   * false: written to the OS only (survives kill -9 of the process, not a power loss).
   */
  fsync?: boolean;
  /**
   * Bytes of the newest appends kept in memory, all partitions together, for the subscriptions of
   * this process that keep up (tail.ts); 0 keeps none. Default: NOEMIE_BUS_TAIL_MB (src/config.ts).
   */
  tailBytes?: number;
  logger?: Logger;
}

const TopicFileSchema = z.object({ partitions: z.number().int().min(1) });

export async function openEmbeddedBus(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
  const readOnly = options.readOnly ?? false;
  let release = async () => undefined as void;
  if (!readOnly) {
    await mkdir(options.dir, { recursive: true });
    release = await acquireLock(options.dir);
    // Under the lock: any temp file left is a dead writer's, never to be renamed into place.
    const removed = await removeStaleTemps(options.dir);
    if (removed.length > 0) options.logger?.info({ files: removed.length }, 'bus: removed temp files left by an interrupted write');
  }
  return new EmbeddedBus(options, readOnly, release);
}

export class EmbeddedBus implements Bus {
  readonly kind = 'embedded' as const;
  private readonly logs = new Map<string, Promise<PartitionLog>>();
  private readonly openLogs: PartitionLog[] = [];
  private readonly topicsChecked = new Map<TopicName, Promise<void>>();
  private readonly subscriptions = new Set<EmbeddedSubscription<TopicName>>();
  private readonly groupsInUse = new Set<string>();
  private waiters: (() => void)[] = [];
  private seq = 0;
  private closed = false;
  readonly offsets: OffsetStore;
  /** shared by every partition's tail (null: none kept) */
  private readonly tailBudget: TailBudget | null;

  constructor(
    private readonly options: EmbeddedBusOptions,
    private readonly readOnly: boolean,
    private readonly release: () => Promise<void>,
  ) {
    this.offsets = new OffsetStore(join(options.dir, 'groups'));
    const tailBytes = options.tailBytes ?? busTailMb() * 1024 * 1024;
    this.tailBudget = readOnly || tailBytes <= 0 ? null : new TailBudget(tailBytes);
  }

  /** What the in-memory tails hold and served (tail.ts), all partitions together. */
  tailStats(): { limit: number; used: number; served: number; missed: number; kept: number; refused: number } {
    const out = { limit: this.tailBudget?.limit ?? 0, used: this.tailBudget?.used ?? 0, served: 0, missed: 0, kept: 0, refused: 0 };
    for (const l of this.openLogs) {
      const s = l.tail?.stats;
      if (!s) continue;
      out.served += s.served;
      out.missed += s.missed;
      out.kept += s.kept;
      out.refused += s.refused;
    }
    return out;
  }

  get appendSeq(): number {
    return this.seq;
  }

  partitions(topic: TopicName): number {
    return topicDef(topic).partitions;
  }

  async produce<T extends TopicName>(topic: T, messages: readonly Outgoing<T>[], options?: ProduceOptions): Promise<void> {
    this.assertWritable();
    const prepared = prepare(topic, messages, options);
    const partitions = this.partitions(topic);
    const byPartition = new Map<number, AppendEntry[]>();
    for (const m of prepared) {
      const p = m.partition ?? partitionFor(m.key, partitions);
      const list = byPartition.get(p);
      if (list) list.push(m);
      else byPartition.set(p, [m]);
    }
    const sync = this.options.fsync ?? true;
    await Promise.all([...byPartition].map(async ([p, entries]) => (await this.log(topic, p)).append(entries, sync)));
    this.seq++;
    this.wake();
  }

  async consume<T extends TopicName>(options: ConsumeOptions<T>): Promise<Subscription> {
    this.assertWritable();
    if (this.groupsInUse.has(options.groupId)) {
      throw new BusError('BUS_GROUP_BUSY', `group ${options.groupId} already has a member; the embedded bus serves one per group`, { group: options.groupId });
    }
    this.groupsInUse.add(options.groupId);
    for (const t of options.topics) await this.log(t, 0);
    const sub: EmbeddedSubscription<TopicName> = new EmbeddedSubscription<TopicName>(this, options as unknown as ConsumeOptions<TopicName>, () => {
      this.groupsInUse.delete(options.groupId);
      this.subscriptions.delete(sub);
    });
    this.subscriptions.add(sub);
    // Resolved with its partitions followed: what is appended from now on is kept for it (tail.ts).
    await sub.ready;
    return sub;
  }

  async *readRange<T extends TopicName>(topic: T, partition: number, options: ReadRangeOptions): AsyncGenerator<BusRecord<T>[]> {
    this.assertOpen();
    const log = await this.existingLog(topic, partition);
    const end = log?.end ?? 0;
    checkRange(topic, partition, options.from, end);
    const to = Math.min(options.to ?? end, end);
    const maxBatch = options.maxBatch ?? 500;
    for (let pos = options.from; log && pos < to; ) {
      const stored = await log.read(pos, Math.min(maxBatch, to - pos));
      if (stored.length === 0) break;
      yield stored.map((r) => (r.o >= log.ownFrom ? decodeOwn : decode)(topic, { partition, offset: r.o, key: r.k, value: r.v, headers: r.h, timestamp: r.t }));
      pos += stored.length;
    }
  }

  async offsetForTime(topic: TopicName, partition: number, timestamp: number): Promise<number> {
    const log = await this.existingLog(topic, partition);
    if (!log) return 0;
    // Timestamps never decrease within a partition (partition-log.ts), so binary search.
    let lo = 0;
    let hi = log.end;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const [rec] = await log.read(mid, 1);
      if (rec && rec.t < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async endOffsets(topic: TopicName): Promise<PartitionOffsets[]> {
    const out: PartitionOffsets[] = [];
    for (let partition = 0; partition < this.partitions(topic); partition++) {
      const log = await this.existingLog(topic, partition);
      out.push({ partition, low: 0, high: log?.end ?? 0 });
    }
    return out;
  }

  async committedOffsets(groupId: string, topic: TopicName): Promise<CommittedOffset[]> {
    const committed = await this.offsets.get(groupId, topic);
    return Array.from({ length: this.partitions(topic) }, (_, partition) => ({ partition, offset: committed.get(partition) ?? null }));
  }

  lag(groupId: string, topics: readonly TopicName[]): Promise<GroupLag[]> {
    return lagOf(this, groupId, topics);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.offsets.flush();
    if (this.tailBudget) this.options.logger?.info({ tail: this.tailStats() }, 'embedded bus: records served from memory (tail) and read from the logs');
    const logs = await Promise.allSettled(this.logs.values());
    await Promise.all(logs.map((l) => (l.status === 'fulfilled' ? l.value.close() : undefined)));
    await this.release();
  }

  // --- for subscriptions and recovery reports ---

  waitForAppend(seq: number): Promise<void> {
    if (this.seq !== seq || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Opens (and on first open recovers) a partition log, creating it unless read-only. */
  log(topic: TopicName, partition: number): Promise<PartitionLog> {
    const name = `${topic}/${partition}`;
    let log = this.logs.get(name);
    if (!log) {
      log = this.checkTopic(topic).then(async () => {
        const l = await PartitionLog.open(join(this.options.dir, topic, String(partition)), this.readOnly, this.tailBudget ?? undefined);
        this.openLogs.push(l);
        const r = l.recovery;
        if (r.truncatedBytes > 0 || r.fullRebuild) {
          this.options.logger?.warn({ topic, partition, ...r }, 'embedded bus: recovered a partition log after an unclean stop');
        }
        return l;
      });
      this.logs.set(name, log);
      log.catch(() => this.logs.delete(name));
    }
    return log;
  }

  /** Read-only buses do not create files: a partition never written is empty. */
  private async existingLog(topic: TopicName, partition: number): Promise<PartitionLog | null> {
    if (partition < 0 || partition >= this.partitions(topic) || !Number.isInteger(partition)) {
      throw new BusError('BUS_OFFSET_OUT_OF_RANGE', `${topic} has partitions 0..${this.partitions(topic) - 1}, not ${partition}`, { topic, partition });
    }
    if (this.readOnly && !(await exists(join(this.options.dir, topic, `${partition}.log`)))) return null;
    return this.log(topic, partition);
  }

  private checkTopic(topic: TopicName): Promise<void> {
    let check = this.topicsChecked.get(topic);
    if (!check) {
      check = (async () => {
        const file = join(this.options.dir, topic, 'topic.json');
        const expected = this.partitions(topic);
        const text = await readFile(file, 'utf8').catch(() => null);
        if (text === null) {
          if (!this.readOnly) await writeAtomically(file, JSON.stringify({ partitions: expected }));
          return;
        }
        const found = TopicFileSchema.safeParse(parseOrNull(text)).data?.partitions;
        if (found !== expected) {
          throw new BusError(
            'BUS_PARTITION_MISMATCH',
            `${file} says ${found ?? '?'} partitions, the pipeline expects ${expected} (NOEMIE_PARTITIONS=${expected}): keys would land elsewhere${found === undefined ? '' : `; set NOEMIE_PARTITIONS=${found} to open this bus`}`,
            { topic, file },
          );
        }
      })();
      this.topicsChecked.set(topic, check);
      check.catch(() => this.topicsChecked.delete(topic));
    }
    return check;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusError('BUS_CLOSED', 'the bus is closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) throw new BusError('BUS_READ_ONLY', `${this.options.dir} was opened read-only`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
