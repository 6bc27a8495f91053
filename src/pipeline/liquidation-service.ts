import { serialize } from 'node:v8';
import type { Batch, BatchSession, Bus, BusRecord, Outgoing, OutgoingMessage, Subscription } from '../bus/bus.js';
import { TRUSTED } from '../bus/bus.js';
import { lineRecord, stateKeyOf } from '../engine/state.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { Logger } from '../log.js';
import { lineKeyOf } from '../model/act-line.js';
import type { Settlement } from '../model/settlement.js';
import type { EngineState, LineRecord } from '../engine/index.js';
import { LIQUIDATION_GROUP, LIQUIDATION_TOPICS, type LineTopic, type LiquidationTopic } from './keys.js';
import { applyChangelog, healLedgers, restoreLedgers } from './ledger-restore.js';
import { LedgerStore, type BatchLedger, type StagedPiece } from './ledger-store.js';
import { encodeChange, outboxOf, recordIdsOf, watermarkKey, withLines, type Family, type HeadPiece, type LedgerChange, type LedgerPiece } from './ledgers.js';
import { partitionFor } from '../bus/topics.js';
import { PartitionLocks } from './partition-locks.js';
import { reliquidateFamily } from './reliquidate.js';
import { requestReliquidation, type ReliquidationRequest } from './reliquidation-requests.js';
import { asOfTimestamp, type LineRequest } from './liquidate-lines.js';
import { Liquidator } from './liquidator.js';
import { PipelineStageError } from './errors.js';
import type { LiquidateTask, LiquidateTaskResult } from './pool-messages.js';
import { checkedLine, packRaw, packRequests, routeOf, type RawCheck } from './task-lines.js';
import { lineRoutingOf } from './line-routing.js';
import { textOfBytes } from '../bus/codec.js';
import { viewsOf } from './task-bytes.js';
import type { LineMessage } from '../bus/messages.js';
import type { ActLine } from '../model/act-line.js';
import type { IsoDate } from '../model/dates.js';
import type { Beneficiary } from '../model/reference.js';
import { ReferenceCache, type ReferenceSource } from './reference.js';
import { recordLiquidationBatch, recordLiquidationSums } from '../http/metrics.js';
import { SettlementSums, type SettlementSum } from '../model/settlement-sums.js';

/**
 * The liquidation service: consumes décompte and invoice lines (group `liquidation`), liquidates
 * them in a piscina pool, and per bus batch, in this order (README "Exactly-once effect"):
 *   1. liquidate (families split over tasks, a family in one task only, ledgers carried in: the
 *      head and the records of the task's lines; the worker writes the ledger pieces too);
 *   2. produce the settlements that are new (unchanged re-decisions publish nothing);
 *   3. produce the changed ledger pieces to counters-changelog (changed line records, then the head
 *      with the input watermark: ledgers.ts, the rule for a crash between them);
 *   4. return, and the bus commits the input offsets.
 * The bus hands one batch at a time, and the handler awaits the pool, whose queue is bounded:
 * that is the backpressure from the workers to the consumer.
 */
const CHANGELOG_SLICE = 1_000;
/** the ledger of a family with no line yet (one a handover creates) */
const EMPTY_LEDGER: EngineState = { counters: {}, renewals: {}, lines: {} };
const KAFKA_SETTLEMENT_SLICE = 500;
/**
 * Kafka batches handled at once by default: while one batch waits for its produce acks or its
 * commit, another one's lines are in the pool (bench/README.md "Session 9 — kafka").
 */
export const DEFAULT_PARTITIONS_AT_ONCE = 4;
const EMBEDDED_SLICE = 100_000;
/**
 * A consumed line the batch liquidates. Its `line` is the whole act line, or only the fields
 * line-routing.ts reads when the record came raw (`record.json`: the worker gets that text).
 */
interface LineItem {
  record: BusRecord<LineTopic>;
  line: ActLine;
  beneficiary: Beneficiary | null;
  asOf: IsoDate;
  /** stateKeyOf: the ledger it lives in, and its settlement's key (the settlement's adherentId, else the line's member number) */
  family: string;
  /** lineKeyOfRecord: its settlement's lineKey */
  lineKey: string;
}

/** What a batch's routing found, for its decision only (`decideLines`). */
interface Routed {
  beneficiaries: (Beneficiary | null)[];
  /** per record, its family (stateKeyOf) */
  families: string[];
  /** per record, its lineKey (lineKeyOfRecord) */
  lineKeys: string[];
  linesOf: Map<string, Set<string>>;
}

/** What a batch of lines writes, decided (`decideLines` → `writeBatch`). */
interface Decided {
  settlements: Outgoing<'settlements'>[];
  snapshots: Outgoing<'counters-changelog'>[];
  pieces: StagedPiece[];
  /** the settlements counted and summed for the metrics */
  sums: SettlementSum[];
  unchanged: number;
}

/** A settlement's headers: its line's origin, as the value path derives them, and its lineKey. */
function settlementHeaders({ file, entry, record }: BusRecord<LineTopic>['headers'], lineKey: string): BusRecord<'settlements'>['headers'] {
  const headers: BusRecord<'settlements'>['headers'] = {};
  if (file) headers.file = file;
  if (entry) headers.entry = entry;
  if (record) headers.record = record;
  headers.lineKey = lineKey;
  return headers;
}

/**
 * The engine's date of a record (asOfTimestamp), the last one remembered: a batch's records
 * mostly share their append's timestamp, so most lines get the same string, not a Date and two new
 * strings each.
 */
let lastAsOf = { timestamp: NaN, asOf: '' as IsoDate };
function asOfOf(timestamp: number): IsoDate {
  if (timestamp !== lastAsOf.timestamp) lastAsOf = { timestamp, asOf: asOfTimestamp(timestamp) };
  return lastAsOf.asOf;
}

const lineRequestOf = ({ line, beneficiary, asOf }: LineItem): LineRequest => ({ line, beneficiary, asOf });

/**
 * A consumed line's lineKey: the header the topic derives from the line when the record came raw
 * (its value holds only the routing fields; parsed whole in the rare record without the header),
 * else computed from the line as ever.
 */
function lineKeyOfRecord(record: BusRecord<LineTopic>): string {
  if (record.json === undefined) return lineKeyOf(record.value.line);
  return record.headers.lineKey ?? lineKeyOf((JSON.parse(textOfBytes(record.json)) as LineMessage).line);
}

/** A decided record's value and headers (`decidedRecords`): shared, empty. */
const DECIDED_VALUE = Object.freeze({ line: Object.freeze({}) }) as unknown as LineMessage;
const DECIDED_HEADERS: BusRecord<LineTopic>['headers'] = Object.freeze({});

/**
 * A decided batch's records keep their place only: what the writes need of them is in the decision
 * (settlements' keys and headers, the pieces), and the bus commits by offset. Each record's value
 * (its routing fields, or the whole line) and headers — ≈ 8 objects a line — would otherwise live
 * through the batch's writes (two fsynced produces, the store's commit), copied by each
 * young-generation collection meanwhile (bench/README.md "Session 19 — liquidation"), as its JSON
 * did until it was let go once packed (`decideLines`).
 */
function decidedRecords(records: BusRecord<LineTopic>[]): void {
  for (const r of records) {
    r.value = DECIDED_VALUE;
    r.headers = DECIDED_HEADERS;
  }
}

/** What the worker checks a task's unchecked lines against (task-lines.ts RawCheck): the routing this thread used. */
function rawCheck(records: BusRecord<LineTopic>[]): RawCheck {
  const first = records[0]!;
  return {
    topic: first.topic,
    partition: first.partition,
    offsets: records.map((r) => r.offset),
    routes: records.map((r) => {
      const { line, recordId } = r.value;
      return routeOf(line.nir, line.rang, line.amcMemberId, recordId, lineKeyOfRecord(r));
    }),
  };
}

/** An unchecked line that goes to no worker, checked on this thread as a worker would (task-lines.ts `checkedLine`). */
function checkHere(record: BusRecord<LineTopic>): void {
  checkedLine(textOfBytes(record.json!), rawCheck([record]), 0);
}

/** The record a batch ledger holds for a line (undefined: none, or no ledger). */
function recordOf(ledger: BatchLedger | undefined, lineKey: string): LineRecord | undefined {
  return ledger && Object.hasOwn(ledger.lines, lineKey) ? ledger.lines[lineKey] : undefined;
}

/**
 * Records per bus batch when none is given: on the embedded bus 4 096 (each batch costs a few
 * fsyncs — settlements, changelog, the store's commit, the offsets — and its store commit rewrites
 * about a page per family, so larger batches cost fewer of both per line: bench/README.md
 * "pipeline"). Otherwise, and whenever `taskLines` is given, enough to keep every thread busy
 * (taskLines × workers × 2): on Kafka a batch is handled between two heartbeats of the group
 * (a long one gets the member evicted on a short session timeout), and tests that want many
 * small batches set small tasks.
 */
export function defaultMaxBatch(taskLines: number | undefined, workers: number, bus: Bus['kind']): number {
  return taskLines === undefined && bus === 'embedded' ? 4_096 : (taskLines ?? 256) * Math.max(1, workers) * 2;
}

export interface LiquidationServiceOptions {
  bus: Bus;
  beneficiaries: BeneficiaryIndex;
  /**
   * Fixed reference files, or `{ home }`: the home's versioned reference data, read at the start
   * of every batch so a version published while the service runs is used from the next batch on
   * (src/pipeline/README.md "Reference data of a home").
   */
  reference: ReferenceSource;
  /** worker threads; 0 liquidates in this thread (tests, small replays). Default 1 */
  workers?: number;
  /** most lines per pool task (default 256); whole families go to a task, so it may be exceeded by one family */
  taskLines?: number;
  /** most records per bus batch (default on the embedded bus 4 096, else taskLines × max(1, workers) × 2: `defaultMaxBatch`) */
  maxBatch?: number;
  /**
   * Kafka: batches of different partitions handled at once (the bus's `concurrency`; default
   * DEFAULT_PARTITIONS_AT_ONCE), each holding its partition number and its families' (README
   * "Liquidation service"). 1: one batch at a time. The embedded bus hands one batch at a time.
   */
  partitionsAtOnce?: number;
  groupId?: string;
  /**
   * The local ledger store (README "State store"): the home whose state store holds it (default: a
   * scratch store, rebuilt from the whole changelog at each start), the most ledgers kept parsed in
   * memory (default 2 000) and their text bound, and whether a scratch store fsyncs (default true).
   */
  ledgers?: { home?: string; cacheSize?: number; cacheBytes?: number; fsync?: boolean };
  /** old-generation heap limit of each worker thread, MiB (pool.ts; default 128) */
  workerHeapMb?: number;
  /** young-generation size of each worker thread, MiB (pool.ts; default 16) */
  workerYoungMb?: number;
  /** names the bus the store mirrors (a store made for another bus is rebuilt); default: bus.kind */
  busId?: string;
  logger?: Logger;
  /** bench: count the structured-clone bytes of every pool task and result (`taskBytes`) */
  measureTasks?: boolean;
  /** test hook: a pause between steps 2–3 and 3–4, to let a kill land between them */
  stepDelayMs?: number;
  onBatch?: (stats: Readonly<ServiceStats>) => void;
}

export interface ServiceStats {
  batches: number;
  lines: number;
  /** redelivered lines at or below their family's watermark: already applied */
  redelivered: number;
  /** lines whose record id the family's ledger already holds (or seen earlier in the batch): published twice by a resumed ingestion */
  republished: number;
  published: number;
  /** re-decisions identical to the recorded version: nothing published */
  unchanged: number;
  /** ledger pieces produced to counters-changelog (changed line records and heads) */
  snapshots: number;
  /** changelog entries written by another group member, read in when their partition moved here */
  caughtUp: number;
  /** the reference version key of the last batch (`grids-2+nomenclature-1+pmss-1`, or `files`) */
  reference: string;
  /** re-liquidation requests applied (README "Re-liquidation"); redelivered ones are counted in `redelivered` */
  requests: number;
  /** lines decided again by those requests (changed or not) */
  redecided: number;
  /** lines a request would have re-decided but could not: no input kept (written before inputs were), or the person now belongs to another family */
  notRedecided: number;
}

export class LiquidationService {
  readonly stats: ServiceStats = { batches: 0, lines: 0, redelivered: 0, republished: 0, published: 0, unchanged: 0, snapshots: 0, caughtUp: 0, requests: 0, redecided: 0, notRedecided: 0, reference: '' };
  /** with `measureTasks`: pool tasks run, the structured-clone bytes sent to and back from them, and the bytes transferred back (the results' texts) */
  readonly taskBytes = { tasks: 0, in: 0, out: 0, inParsed: 0, transferred: 0, transferredIn: 0 };
  private subscription: Subscription | undefined;
  private stopped: Promise<void> | undefined;
  private readonly locks = new PartitionLocks();
  /**
   * Changelog partitions whose end this member knows without asking the broker: the position it
   * reached, confirmed equal to the end in the group generation given (`catchUp`).
   */
  private readonly confirmed = new Map<number, number>();
  /** batches under way and the reference version they use (`enterReference`) */
  private readonly inForce = { batches: 0, key: '', drained: [] as (() => void)[] };

  private constructor(
    private readonly o: LiquidationServiceOptions,
    private readonly store: LedgerStore,
    /** per counters-changelog partition, the first offset not yet in the store */
    private readonly positions: Map<number, number>,
    private readonly liquidator: Liquidator,
    private readonly references: ReferenceCache,
  ) {}

  static async start(o: LiquidationServiceOptions): Promise<LiquidationService> {
    // Reference data first: a home without it fails here (REFERENCE_MISSING), before any state is opened.
    const references = new ReferenceCache(o.reference);
    const workers = o.workers ?? 1;
    const liquidator = new Liquidator(references, { workers, heapMb: o.workerHeapMb, youngMb: o.workerYoungMb });
    let firstKey: string;
    try {
      firstKey = references.currentKey();
      // loaded now, so that unreadable reference data fails the start; the pool's threads start
      // with the first batch (`enterReference`): a restart with nothing to liquidate starts none
      await references.get(firstKey);
    } catch (e) {
      await liquidator.close();
      throw e;
    }
    const families = await LedgerStore.open({ ...(o.ledgers ?? {}), namespace: o.busId ?? o.bus.kind }).catch(async (e: unknown) => {
      await liquidator.close();
      throw e;
    });
    const restored = await restoreLedgers(o.bus, families, o.busId ?? o.bus.kind).catch(async (e: unknown) => {
      await families.close();
      await liquidator.close();
      throw e;
    });
    o.logger?.info({ ...restored, file: families.file, cacheSize: families.cacheSize, cacheBytes: families.cacheBytes }, 'liquidation: ledger store current with counters-changelog');
    const service = new LiquidationService(o, families, restored.positions, liquidator, references);
    service.stats.reference = firstKey;
    o.logger?.info({ reference: firstKey }, 'liquidation: reference data in force');
    service.subscription = await o.bus.consume<LiquidationTopic>({
      groupId: o.groupId ?? LIQUIDATION_GROUP,
      topics: LIQUIDATION_TOPICS,
      maxBatch: o.maxBatch ?? defaultMaxBatch(o.taskLines, workers, o.bus.kind),
      concurrency: o.partitionsAtOnce ?? DEFAULT_PARTITIONS_AT_ONCE,
      // The lines as their stored JSON: this thread reads only the routing fields, the workers
      // parse the lines (line-routing.ts says why) — and on Kafka, where nobody checked them, check
      // them against the topic schema and what this thread read (task-lines.ts `checkedLine`).
      raw: { 'decompte-lines': lineRoutingOf, 'invoice-lines': lineRoutingOf },
      checksRaw: true,
      handler: (batch, session) => (batch.topic === 'reliquidations' ? service.handleRequests(batch, session) : service.handle(batch, session)),
    });
    return service;
  }

  /** The ledger store's cache use: ledgers in memory now, the bound, files read and written, cache hits. */
  get ledgerStats(): { cached: number; cacheSize: number; cachedBytes: number; cacheBytes: number; reads: number; writes: number; hits: number; commits: number } {
    return { cached: this.store.cached, cacheSize: this.store.cacheSize, cachedBytes: this.store.cachedBytes, cacheBytes: this.store.cacheBytes, ...this.store.stats };
  }

  /** Resolves when the subscription ends; rejects with the error that ended it. */
  get done(): Promise<void> {
    return this.subscription!.done;
  }

  /** Finishes the batch in flight (and its commit), leaves the group, stops the workers. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.subscription?.stop();
      await this.liquidator.close();
      // What the last batches staged: committed with its marker (a kill skips this; the restart reads it from the changelog).
      await this.store.flush(this.busId);
      await this.store.close();
    })();
    return this.stopped;
  }

  /**
   * The reference version in force for a batch starting now, its pool ready. Batches under way
   * under another version are let finish first: the pool holds one version and is replaced
   * between batches (liquidator.ts), never under a task in flight.
   */
  private async enterReference(): Promise<string> {
    for (;;) {
      const reference = this.references.currentKey();
      if (this.inForce.batches === 0 || this.inForce.key === reference) {
        this.inForce.batches += 1;
        this.inForce.key = reference;
        if (reference !== this.stats.reference) {
          this.o.logger?.info({ reference, before: this.stats.reference }, 'liquidation: new reference version in force from this batch on');
          this.stats.reference = reference;
        }
        try {
          await this.liquidator.use(reference);
        } catch (e) {
          this.leaveReference();
          throw e;
        }
        return reference;
      }
      await new Promise<void>((resolve) => this.inForce.drained.push(resolve));
    }
  }

  private leaveReference(): void {
    this.inForce.batches -= 1;
    if (this.inForce.batches === 0) for (const resume of this.inForce.drained.splice(0)) resume();
  }

  private get busId(): string {
    return this.o.busId ?? this.o.bus.kind;
  }

  private async handle(batch: Batch<LineTopic>, session: BatchSession): Promise<void> {
    const started = performance.now();
    const { topic, partition } = batch;
    const records = batch.records as BusRecord<LineTopic>[];
    const wk = watermarkKey(topic, partition);
    // One lookup per person of the batch, when it arrives (the array is built synchronously: the
    // live index cannot change in between; the batch is decided against this picture of it).
    const persons = new Map<string, ReturnType<BeneficiaryIndex['byNirRang']> | null>();
    const beneficiaries = records.map(({ value: { line } }) => {
      const person = `${line.nir}-${line.rang}`;
      let b = persons.get(person);
      if (b === undefined) persons.set(person, (b = this.o.beneficiaries.byNirRang(line.nir, line.rang) ?? null));
      return b;
    });
    // The batch's ledgers, held until the batch is done whatever the cache size: each family's
    // head and only the records of its lines in this batch.
    const linesOf = new Map<string, Set<string>>();
    // An unknown beneficiary's lines live in the ledger of the member number they name (stateKeyOf):
    // consuming nothing, but remembering their versions.
    const families = records.map((r, i) => stateKeyOf({ line: r.value.line, beneficiary: beneficiaries[i] ?? undefined }));
    const lineKeys = records.map(lineKeyOfRecord);
    records.forEach((_, i) => {
      const id = families[i]!;
      let set = linesOf.get(id);
      if (!set) linesOf.set(id, (set = new Set()));
      set.add(lineKeys[i]!);
    });
    // Batches of other partitions may be under way (Kafka `concurrency`): this one holds its
    // partition number and its families' until it returns (partition-locks.ts).
    const release = await this.locks.acquire([partition, ...[...linesOf.keys()].map((family) => partitionFor(family))]);
    let reference: string | undefined;
    // What only the decision needs, let go once decided: an async function's frame keeps its
    // locals through every await (subscription.ts `take`), and the writes below wait on fsyncs.
    let routed: Routed | undefined = { beneficiaries, families, lineKeys, linesOf };
    try {
      await this.catchUp(partition, session);
      // The reference versions in force now: every task of this batch uses them (one batch is never
      // liquidated under two grid versions); a version published meanwhile counts from the next batch.
      reference = await this.enterReference();
      const decided = await this.decideLines(wk, records, routed, reference);
      routed = undefined;
      decidedRecords(records);
      await this.writeBatch(partition, started, records.length, decided);
    } finally {
      if (reference !== undefined) this.leaveReference();
      release();
    }
  }

  /**
   * Steps 1 (liquidate) and the messages of 2 and 3: what the batch writes. Its own function so that
   * what only the decision needs (the batch's ledgers, the tasks, their results, the items) is
   * garbage once it returns, not live through the writes' awaits (young-generation copies, then
   * promotions: the GC helper threads' work, bench/README.md "Session 15 — liquidation").
   */
  private async decideLines(wk: string, records: BusRecord<LineTopic>[], { beneficiaries, families: familyOf, lineKeys, linesOf }: Routed, reference: string): Promise<Decided> {
    // Heads as text (the worker parses them) with their write number and watermarks, and the records of the batch's lines.
    const families = this.store.getBatch(linesOf.keys(), (id) => linesOf.get(id)!);
    const items: LineItem[] = [];
    const idsInBatch = new Set<string>();
    for (const [i, record] of records.entries()) {
      const { line, recordId } = record.value;
      const beneficiary = beneficiaries[i] ?? null;
      const family = familyOf[i]!;
      const lineKey = lineKeys[i]!;
      const ledger = families.get(family);
      const applied = ledger?.applied[wk];
      // A line skipped below is checked here if nobody did yet (Kafka; rare: a redelivery, a
      // republished record): every consumed line is, before anything of its batch is written.
      if (applied !== undefined && record.offset <= applied) {
        if (record.unchecked) checkHere(record);
        this.stats.redelivered += 1;
        continue;
      }
      // The same input record published twice (ingestion resumed after a crash, bus-sink.ts):
      // applied already, whatever happened to its line since (an I after its own A must not reopen it).
      if (recordId !== undefined && (idsInBatch.has(recordId) || recordIdsOf(recordOf(ledger, lineKey)).includes(recordId))) {
        if (record.unchecked) checkHere(record);
        this.stats.republished += 1;
        continue;
      }
      if (recordId !== undefined) idsInBatch.add(recordId);
      items.push({ record, line, beneficiary, asOf: asOfOf(record.timestamp), family, lineKey });
    }

    // 1. Liquidate: whole families per task, in order of first appearance. Each task also writes
    // its families' ledger pieces (liquidate-lines.ts `encodeTaskLedgers`): the pipeline's fields of
    // each changed record, and the head with this batch's watermark — in the worker, this thread
    // only appends the text.
    const lastOffset = new Map<string, number>();
    for (const item of items) lastOffset.set(item.family, item.record.offset);
    const writes = new Map<string, { seq: number; applied: Record<string, number> }>();
    const write = (family: string) => {
      let w = writes.get(family);
      if (w === undefined) {
        const old = families.get(family);
        writes.set(family, (w = { seq: old?.seq ?? 0, applied: { ...(old?.applied ?? {}), [wk]: lastOffset.get(family) ?? old?.applied[wk] ?? 0 } }));
      }
      return w;
    };
    // The lines cross to the worker as the bus's JSON of each (a `raw` consume: one transferred
    // buffer, parsed there, their record ids read there too), or packed (task-lines.ts): values
    // without their names.
    const raw = items.every((item) => item.record.json !== undefined);
    const tasks = this.split(items, families, this.o.taskLines ?? 256, reference, write, !raw);
    // Lines nobody checked yet (Kafka): the worker checks them, and that they are what this thread
    // routed, deduplicated and filed them by (task-lines.ts RawCheck).
    const unchecked = raw && items.some((item) => item.record.unchecked === true);
    for (const { task, indices } of tasks) {
      if (raw) {
        task.raw = packRaw(
          indices.map((i) => items[i]!.record.json!),
          indices.map((i) => items[i]!.beneficiary),
          indices.map((i) => items[i]!.asOf),
          unchecked ? rawCheck(indices.map((i) => items[i]!.record)) : undefined,
        );
      } else task.packed = packRequests(indices.map((i) => lineRequestOf(items[i]!)));
    }
    // The lines' bytes are in the tasks' buffers now: the records let go of their views, so the
    // buffer a batch was read into from the log is not kept through the pool and the writes.
    if (raw) for (const r of records) r.json = undefined;
    const results = await Promise.all(tasks.map((t) => this.runTask(t.task)));
    const snapshots: Outgoing<'counters-changelog'>[] = [];
    const pieces: StagedPiece[] = [];
    const changed: string[] = [];
    for (const result of results) {
      for (const [family, familyPieces] of Object.entries(result.pieces ?? {})) {
        changed.push(family);
        const partition = partitionFor(family);
        // The head's summary is what this batch sent the worker to write (encodeTaskLedgers: the
        // next write number, these watermarks, no outbox): the head text is not parsed here.
        const { seq, applied } = write(family);
        for (const [key, text, json] of familyPieces) {
          // The record's JSON made by the worker, its bytes written as they are (NOEMIE_BUS_VERIFY
          // parses and checks it); the topic derives no header from a piece.
          snapshots.push({ key, partition, json, headers: {} });
          pieces.push([key, key === family ? { seq: seq + 1, applied } : undefined, text]);
        }
      }
    }

    // 2. Settlements, in input order — after those a re-liquidation left in the outbox of a family
    // this batch rewrites (the rewrite drops the outbox; README "Re-liquidation").
    const settlements: Outgoing<'settlements'>[] = [];
    const sums = new SettlementSums();
    let unchanged = 0;
    for (const family of changed) {
      for (const m of outboxOf(family, families.get(family))) {
        settlements.push(m);
        sums.add(m.value.status, m.value.operation, m.value.amcAmount);
      }
    }
    // Each task's new settlements in its lines' order; the tasks' lines cover the items, each
    // family's in one task: in input order once placed by index.
    const json: (Uint8Array | undefined)[] = new Array(items.length);
    results.forEach((result, t) => {
      const { changed: isNew, ends, sums: taskSums } = result.written!;
      const views = viewsOf(result.bytes![0]!, ends);
      sums.addSums(taskSums);
      let s = 0;
      tasks[t]!.indices.forEach((index, k) => {
        if (isNew[k] === 1) json[index] = views[s++];
      });
    });
    items.forEach((item, i) => {
      const text = json[i];
      if (text === undefined) {
        unchanged += 1;
        return;
      }
      // The worker's JSON of the settlement, written as it is, keyed and headed as the value path
      // would: its key the settlement's adherentId, else the line's member number (the item's
      // family, stateKeyOf), its lineKey the line's (the topic derives the lineKey header;
      // NOEMIE_BUS_VERIFY parses and checks the text).
      settlements.push({ json: text, key: item.family, headers: settlementHeaders(item.record.headers, item.lineKey) });
    });
    return { settlements, snapshots, pieces, sums: sums.sums(), unchanged };
  }

  /** Steps 2 and 3 of a batch of lines: its settlements, then its ledgers. */
  private async writeBatch(partition: number, started: number, lines: number, decided: Decided): Promise<void> {
    const { pieces, sums, unchanged } = decided;
    const published = decided.settlements.length;
    const snapshots = decided.snapshots.length;
    await this.produceSettlements(decided.settlements);
    // Produced: let go of the messages (the bus keeps what it appended for its followers, tail.ts),
    // so that they do not live through the changelog's fsync and the store's commit below, copied
    // by each young-generation collection meanwhile (the caller's frame holds `decided` too).
    decided.settlements = [];
    await this.pause();

    // 3. Ledgers of the families that changed (line records before their head, in order on the
    // family's partition: see ledgers.ts for a crash between them), with the watermark of this batch.
    await this.writeLedgers(partition, decided, pieces);
    await this.pause();

    this.stats.batches += 1;
    this.stats.lines += lines;
    this.stats.unchanged += unchanged;
    this.stats.published += published;
    this.stats.snapshots += snapshots;
    recordLiquidationSums('lines', started, sums);
    this.o.onBatch?.(this.stats);
    // 4. Returning lets the bus commit the batch's offsets.
  }

  /**
   * A batch of re-liquidation requests (README "Re-liquidation"). Each request is applied to its
   * family's whole ledger unless the family's watermark for this topic-partition is at or past it
   * (a redelivery: nothing decided); requests of one family in the batch one after the other,
   * families in parallel tasks. Steps: (0) publish again the outbox of each family redelivered;
   * (1) re-decide; (2) write the changed ledgers, each head with the watermark of the family's
   * last request that changed it and the settlements decided as its outbox; (3) publish those
   * settlements; (4) return, the bus commits. The ledger goes before the settlements here (the
   * other way round for lines): see step 2.
   */
  private async handleRequests(batch: Batch<'reliquidations'>, session: BatchSession): Promise<void> {
    const release = await this.locks.acquire([batch.partition, ...batch.records.map((r) => partitionFor(r.value.adherentId))]);
    let reference: string | undefined;
    try {
      await this.catchUp(batch.partition, session);
      // Requests are decided under the reference versions in force now, like a batch of lines.
      reference = await this.enterReference();
      await this.applyRequests(batch, reference);
    } finally {
      if (reference !== undefined) this.leaveReference();
      release();
    }
  }

  private async applyRequests(batch: Batch<'reliquidations'>, reference: string): Promise<void> {
    const started = performance.now();
    const { topic, partition, records } = batch;
    const wk = watermarkKey(topic, partition);
    const runTask = (task: Omit<LiquidateTask, 'reference'>) => this.runTask({ ...task, reference });
    const byFamily = new Map<string, BusRecord<'reliquidations'>[]>();
    for (const r of records) {
      const list = byFamily.get(r.value.adherentId);
      if (list) list.push(r);
      else byFamily.set(r.value.adherentId, [r]);
    }
    // Whole ledgers: which lines a request names is only known by reading them all.
    const families = await this.store.getMany(byFamily.keys(), () => 'all');

    // 0. A request at or below its family's watermark is a redelivery: the process may have died
    // between writing the ledger and publishing what it decided, so the family's outbox goes out
    // again (identical copies downstream dedupes). A request past the watermark means the last
    // request batch was committed, hence published.
    const redelivered = (id: string, f: Family | undefined) => byFamily.get(id)!.some((r) => f?.applied[wk] !== undefined && r.offset <= f.applied[wk]!);
    const outboxes = [...byFamily.keys()].filter((id) => redelivered(id, families.get(id))).flatMap((id) => outboxOf(id, families.get(id)));
    await this.produceSettlements(outboxes);

    // 1. Re-decide, family by family (a family's requests in offset order).
    const results = await Promise.all([...byFamily].map(async ([id, requests]) => {
      const family = families.get(id);
      let state = family?.state;
      let last: number | undefined;
      const settlements: Settlement[] = [];
      const touched = new Set<string>();
      const handovers: ReliquidationRequest[] = [];
      for (const r of requests) {
        const applied = family?.applied[wk];
        if (applied !== undefined && r.offset <= applied) {
          this.stats.redelivered += 1;
          continue;
        }
        this.stats.requests += 1;
        // No ledger: the family has no line yet, nothing to re-decide — unless lines are handed over to it.
        if (!state && !r.value.handover) continue;
        const done = await reliquidateFamily(id, state ?? EMPTY_LEDGER, r.value, this.o.beneficiaries, runTask);
        handovers.push(...done.handovers);
        this.stats.redecided += done.redecided;
        this.stats.notRedecided += done.skipped;
        this.stats.unchanged += done.redecided - done.settlements.length;
        if (done.state !== state) last = r.offset;
        for (const k of done.touched) touched.add(k);
        state = done.state;
        settlements.push(...done.settlements);
      }
      return { id, family, state, last, settlements, touched, handovers };
    }));

    // 1b. Lines handed over to their person's family (reliquidate.ts), produced BEFORE the ledger
    // that marks them moved is written: a crash between hands them over again, identical, and the
    // receiving ledger, which has them by then, adds nothing.
    await requestReliquidation(this.o.bus, results.flatMap((r) => r.handovers));

    // 2. Changed ledgers FIRST, each head carrying this topic-partition's watermark at the family's
    // last request that changed it, and the settlements decided (its outbox). Unlike lines, whose
    // input record decides them again the same way, a request is decided against the membership
    // as it is when it runs: decided again after a crash, it could give a version another content.
    const snapshots: OutgoingMessage<'counters-changelog'>[] = [];
    const pieces: [string, LedgerPiece, string][] = [];
    for (const { id, family, state, last, touched, settlements } of results) {
      if (!state || last === undefined || state === family?.state) continue;
      // Only the records of the lines that changed.
      const change: LedgerChange = { counters: state.counters, renewals: state.renewals, lines: Object.fromEntries([...touched].flatMap((k) => { const r = lineRecord(state, k); return r ? [[k, r]] : []; })) };
      const written = encodeChange(id, family, change, { ...family?.applied, [wk]: last }, settlements);
      snapshots.push(...written.messages);
      const texts = written.texts;
      written.pieces.forEach(([key, piece], k) => pieces.push([key, piece, texts[k]!]));
    }
    await this.writeLedgers(partition, { snapshots }, pieces);
    await this.pause();

    // 3. The settlements, each family's in the order decided.
    const settlements: OutgoingMessage<'settlements'>[] = results.flatMap((r) => r.settlements.map((value) => ({ value, key: value.adherentId ?? r.id })));
    await this.produceSettlements(settlements);
    await this.pause();

    this.stats.batches += 1;
    this.stats.published += settlements.length + outboxes.length;
    this.stats.snapshots += snapshots.length;
    recordLiquidationBatch('reliquidations', started, settlements);
    this.o.onBatch?.(this.stats);
    // 4. Returning lets the bus commit the batch's offsets.
  }

  /**
   * The ledger writes: the changelog (durable) first, then the local store, which commits the
   * pieces of the last few batches in ONE transaction with its marker moved to the changelog's
   * end they reach (ledger-store.ts `stage` / `flush`; ledger-restore.ts: why the order).
   */
  private async writeLedgers(partition: number, messages: { snapshots: Outgoing<'counters-changelog'>[] }, pieces: StagedPiece[]): Promise<void> {
    // No local holds the messages (an async function's frame keeps its locals through its awaits):
    // once produced they are let go, before the store's commit (the pieces' texts stay staged).
    if (messages.snapshots.length === 0) return;
    const written = new Map<number, number>();
    for (let i = 0; i < messages.snapshots.length; i++) {
      const p = messages.snapshots[i]!.partition!;
      written.set(p, (written.get(p) ?? 0) + 1);
    }
    // Pieces are small (a head, or one line record): 1 000 per produce, so a batch
    // costs a few changelog fsyncs, not one per 200 pieces.
    for (let i = 0; i < messages.snapshots.length; i += CHANGELOG_SLICE) await this.o.bus.produce('counters-changelog', messages.snapshots.slice(i, i + CHANGELOG_SLICE), TRUSTED);
    messages.snapshots = [];
    // The only writer of the partition since its end was last asked (`catchUp`): the end is that
    // position plus what this batch wrote there. A producer retry that wrote a slice twice leaves
    // the real end further: the marker then sits below it and a restore reads those copies again
    // (harmless), never above it.
    const known = this.confirmed.has(partition) ? this.positions.get(partition) : undefined;
    const end = known !== undefined ? known + (written.get(partition) ?? 0) : (await this.changelogRange(partition)).high;
    if (this.store.stage(pieces, new Map([[partition, end]]))) await this.store.flush(this.busId);
    this.positions.set(partition, end);
    // A family keyed elsewhere than its lines' partition (held too: partition-locks.ts) keeps its known end exact.
    for (const [p, n] of written) if (p !== partition && this.confirmed.has(p)) this.positions.set(p, this.positions.get(p)! + n);
  }

  /**
   * A family's ledger pieces live on the changelog partition of the same number as its lines.
   * While this member owns a line partition it is that changelog partition's only writer; when the
   * partition arrives from another member (a Kafka rebalance), the changelog holds entries this
   * store has not seen: read them in before liquidating anything of the partition. On Kafka the
   * end is asked at the partition's first batch after each group join (BatchSession.generation):
   * between two joins the member held the partition all along, so it knows the end from its own
   * writes (`confirmed`, `writeLedgers`). The embedded bus (one member) asks at every batch: a
   * local call. A single member finds nothing to read.
   */
  private async catchUp(partition: number, session: BatchSession): Promise<void> {
    const { generation } = session;
    if (generation !== undefined && this.confirmed.get(partition) === generation) return this.heal(partition);
    this.confirmed.delete(partition);
    const { low, high: end } = await this.changelogRange(partition);
    let from = this.positions.get(partition) ?? 0;
    if (end <= from) {
      if (end === from && generation !== undefined) {
        this.positions.set(partition, end);
        this.confirmed.set(partition, generation);
      }
      return this.heal(partition);
    }
    if (from < low) {
      // Entries below `low` were deleted (retention, or a test broker's size cap): the compacted
      // topic's later entries still carry the last value of every piece written since.
      this.o.logger?.warn({ partition, from, low }, 'liquidation: counters-changelog no longer starts where this store stopped; reading from its first offset');
      from = low;
    }
    // This store's own staged pieces first (they come before the other member's in the changelog).
    await this.store.flush(this.busId);
    // Heartbeats between read batches: a long catch-up must not get this member evicted mid-work.
    const read = await applyChangelog(this.o.bus, this.store, this.busId, partition, from, end, () => session.heartbeat());
    this.positions.set(partition, end);
    if (generation !== undefined) this.confirmed.set(partition, generation);
    this.stats.caughtUp += read;
    this.o.logger?.info({ partition, from, to: end, read }, 'liquidation: partition arrived from another member, ledgers caught up from counters-changelog');
    await this.heal(partition);
  }

  /**
   * A write cut before its head (a crash, or a refused produce), found past the store's marker by
   * the restore or a catch-up: rolled back on the changelog before this member writes any family
   * of the partition (ledger-restore.ts `healLedgers`; ledgers.ts says why it must be).
   */
  private async heal(partition: number): Promise<void> {
    if ((await this.store.suspected(partition)).length === 0) return;
    await this.store.flush(this.busId);
    const produced = await healLedgers(this.o.bus, this.store, this.busId, partition);
    this.positions.set(partition, (await this.changelogRange(partition)).high);
    if (produced > 0) this.o.logger?.warn({ partition, produced }, 'liquidation: line records of a write cut before its head rolled back on counters-changelog');
  }

  private async changelogRange(partition: number): Promise<{ low: number; high: number }> {
    const range = (await this.o.bus.endOffsets('counters-changelog')).find((e) => e.partition === partition);
    if (!range) throw new PipelineStageError('PIPELINE_STATE', `counters-changelog has no partition ${partition}`, { topic: 'counters-changelog', partition });
    return range;
  }

  /** Tasks of whole families up to `taskLines` lines (an unknown beneficiary: the ledger of its member number). */
  private split(items: LineItem[], families: ReadonlyMap<string, BatchLedger>, taskLines: number, reference: string, write: (family: string) => { seq: number; applied: Record<string, number> }, withRecordIds: boolean): { task: LiquidateTask; indices: number[] }[] {
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => {
      const g = item.family;
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const tasks: { task: LiquidateTask; indices: number[] }[] = [];
    let current: { task: LiquidateTask; indices: number[] } | undefined;
    for (const [g, indices] of groups) {
      if (!current || current.indices.length >= taskLines) {
        current = { task: { reference, requests: [], ledgers: {}, heads: {}, write: withRecordIds ? { recordIds: [], positions: [], seqs: {}, applied: {} } : { positions: [], seqs: {}, applied: {} } }, indices: [] };
        tasks.push(current);
      }
      // The head as text (parsed by the worker) and only the records of the family's lines in this
      // batch, all in this task: the engine reads no other line.
      const family = families.get(g);
      if (family) current.task.heads![g] = { head: family.text, lines: family.lines };
      const { seq, applied } = write(g);
      current.task.write!.seqs[g] = seq;
      current.task.write!.applied[g] = applied;
      for (const i of indices) {
        current.indices.push(i);
        // raw lines: the worker reads each record id from the line's bytes (pool-messages.ts LedgerWrite)
        if (withRecordIds) current.task.write!.recordIds!.push(items[i]!.record.value.recordId ?? null);
        current.task.write!.positions.push(i);
      }
    }
    return tasks;
  }

  /**
   * One pool task; with `measureTasks`, the structured-clone size of what crosses each way is
   * counted (v8.serialize, the same serializer), and what the same task weighed when it carried
   * its families' counters and renewals parsed instead of the head text (`inParsed`: the
   * comparison in bench/README.md "Session 7 — liquidation ledgers").
   */
  private async runTask(task: LiquidateTask): Promise<LiquidateTaskResult> {
    if (this.o.measureTasks) {
      const b = this.taskBytes;
      b.tasks += 1;
      // Raw lines' buffer is transferred, not cloned (pool.ts): counted apart (`transferredIn`).
      const cloned = task.raw ? { ...task, raw: { ...task.raw, bytes: new ArrayBuffer(0) } } : task;
      b.in += serialize(cloned).length;
      b.transferredIn += task.raw?.bytes.byteLength ?? 0;
      b.inParsed += serialize({ ...cloned, heads: undefined, ledgers: Object.fromEntries(Object.entries(task.heads ?? {}).map(([id, { head, lines }]) => { const h = JSON.parse(head) as HeadPiece; return [id, { counters: h.counters, renewals: h.renewals, lines: withLines({}, lines) }]; })) }).length;
    }
    const result = await this.liquidator.run(task);
    if (this.o.measureTasks) {
      // The texts' buffers were transferred, not cloned: counted apart (`transferred`), each view
      // in the clone as its length (v8.serialize would copy a view's bytes, as a clone does not).
      const size = (v: unknown) => (v instanceof Uint8Array ? v.byteLength : v);
      this.taskBytes.out += serialize({ ...result, pieces: Object.fromEntries(Object.entries(result.pieces ?? {}).map(([f, list]) => [f, list.map((p) => p.map(size))])), bytes: undefined }).length;
      this.taskBytes.transferred += (result.bytes ?? []).reduce((n, b) => n + b.byteLength, 0);
    }
    return result;
  }

  /**
   * Settlements in produce calls of 500 on Kafka (a request stays well under the broker's message
   * size limit), in one call on the embedded bus, which fsyncs once per call and partition.
   */
  private async produceSettlements(settlements: Outgoing<'settlements'>[]): Promise<void> {
    const slice = this.o.bus.kind === 'embedded' ? EMBEDDED_SLICE : KAFKA_SETTLEMENT_SLICE;
    for (let i = 0; i < settlements.length; i += slice) await this.o.bus.produce('settlements', settlements.slice(i, i + slice), TRUSTED);
  }

  private async pause(): Promise<void> {
    if (this.o.stepDelayMs) await new Promise((r) => setTimeout(r, this.o.stepDelayMs));
  }
}
