import type { Batch, Bus, BusRecord, OutgoingMessage, Subscription } from '../bus/bus.js';
import type { EngineState } from '../engine/index.js';
import type { BeneficiaryIndex } from '../ingest/reference/beneficiaries.js';
import type { Logger } from '../log.js';
import { LIQUIDATION_GROUP, LINE_TOPICS, type LineTopic } from './keys.js';
import { encodeSnapshot, loadFamilies, watermarkKey, type Families, type Family } from './ledgers.js';
import { asOfTimestamp, liquidateLines, type LineOutcome, type LineRequest } from './liquidate-lines.js';
import { LiquidationPool } from './pool.js';
import type { LiquidateTask, LiquidateTaskResult, WorkerSetup } from './pool-messages.js';
import { loadReference } from './reference.js';

/**
 * The liquidation service: consumes décompte and invoice lines (group `liquidation`), liquidates
 * them in a piscina pool, and per bus batch, in this order (README "Exactly-once effect"):
 *   1. liquidate (families split over tasks, a family in one task only, ledgers carried in);
 *   2. produce the settlements that are new (unchanged re-decisions publish nothing);
 *   3. produce the changed family ledgers to counters-changelog, with the input watermark;
 *   4. return, and the bus commits the input offsets.
 * The bus hands one batch at a time, and the handler awaits the pool, whose queue is bounded:
 * that is the backpressure from the workers to the consumer.
 */
export interface LiquidationServiceOptions {
  bus: Bus;
  beneficiaries: BeneficiaryIndex;
  reference: WorkerSetup;
  /** worker threads; 0 liquidates in this thread (tests, small replays). Default 1 */
  workers?: number;
  /** most lines per pool task (default 256); whole families go to a task, so it may be exceeded by one family */
  taskLines?: number;
  /** most records per bus batch (default: taskLines × max(1, workers) × 2, to keep every thread busy) */
  maxBatch?: number;
  groupId?: string;
  logger?: Logger;
  /** test hook: a pause between steps 2–3 and 3–4, to let a kill land between them */
  stepDelayMs?: number;
  onBatch?: (stats: Readonly<ServiceStats>) => void;
}

export interface ServiceStats {
  batches: number;
  lines: number;
  /** redelivered lines at or below their family's watermark: already applied */
  redelivered: number;
  published: number;
  /** re-decisions identical to the recorded version: nothing published */
  unchanged: number;
  snapshots: number;
}

export class LiquidationService {
  readonly stats: ServiceStats = { batches: 0, lines: 0, redelivered: 0, published: 0, unchanged: 0, snapshots: 0 };
  private subscription: Subscription | undefined;
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly o: LiquidationServiceOptions,
    private readonly families: Families,
    private readonly runTask: (task: LiquidateTask) => Promise<LiquidateTaskResult>,
    private readonly closePool: () => Promise<void>,
  ) {}

  static async start(o: LiquidationServiceOptions): Promise<LiquidationService> {
    const families = await loadFamilies(o.bus);
    o.logger?.info({ families: families.size }, 'liquidation: ledgers rebuilt from counters-changelog');
    const workers = o.workers ?? 1;
    let service: LiquidationService;
    if (workers === 0) {
      const reference = await loadReference(o.reference);
      service = new LiquidationService(o, families, async (t) => liquidateLines(t.requests, reference, t.ledgers), async () => undefined);
    } else {
      const pool = new LiquidationPool({ workers, setup: o.reference });
      service = new LiquidationService(o, families, (t) => pool.run(t), () => pool.close());
    }
    const taskLines = o.taskLines ?? 256;
    service.subscription = await o.bus.consume<LineTopic>({
      groupId: o.groupId ?? LIQUIDATION_GROUP,
      topics: LINE_TOPICS,
      maxBatch: o.maxBatch ?? taskLines * Math.max(1, workers) * 2,
      handler: (batch) => service.handle(batch),
    });
    return service;
  }

  /** Resolves when the subscription ends; rejects with the error that ended it. */
  get done(): Promise<void> {
    return this.subscription!.done;
  }

  /** Finishes the batch in flight (and its commit), leaves the group, stops the workers. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.subscription?.stop();
      await this.closePool();
    })();
    return this.stopped;
  }

  private async handle(batch: Batch<LineTopic>): Promise<void> {
    const { topic, partition } = batch;
    const records = batch.records as BusRecord<LineTopic>[];
    const wk = watermarkKey(topic, partition);
    const items: { record: BusRecord<LineTopic>; request: LineRequest; family: string | null }[] = [];
    for (const record of records) {
      const { line } = record.value;
      const beneficiary = this.o.beneficiaries.byNirRang(line.nir, line.rang) ?? null;
      const family = beneficiary?.adherentId ?? null;
      const applied = family === null ? undefined : this.families.get(family)?.applied[wk];
      if (applied !== undefined && record.offset <= applied) {
        this.stats.redelivered += 1;
        continue;
      }
      items.push({ record, request: { line, beneficiary, asOf: asOfTimestamp(record.timestamp) }, family });
    }

    // 1. Liquidate: whole families per task, in order of first appearance.
    const tasks = this.split(items, this.o.taskLines ?? 256);
    const results = await Promise.all(tasks.map((t) => this.runTask(t.task)));
    const outcomes: LineOutcome[] = new Array(items.length);
    const changed = new Map<string, EngineState>();
    results.forEach((result, t) => {
      tasks[t]!.indices.forEach((index, k) => (outcomes[index] = result.outcomes[k]!));
      for (const [family, state] of Object.entries(result.ledgers)) changed.set(family, state);
    });

    // 2. Settlements, in input order.
    const settlements: OutgoingMessage<'settlements'>[] = [];
    items.forEach((item, i) => {
      const { settlement, changed: isNew } = outcomes[i]!;
      if (!isNew) {
        this.stats.unchanged += 1;
        return;
      }
      const { file, entry, record } = item.record.headers;
      settlements.push({
        value: settlement,
        key: settlement.adherentId ?? item.request.line.amcMemberId,
        headers: { ...(file ? { file } : {}), ...(entry ? { entry } : {}), ...(record ? { record } : {}) },
      });
    });
    for (let i = 0; i < settlements.length; i += 500) await this.o.bus.produce('settlements', settlements.slice(i, i + 500));
    await this.pause();

    // 3. Ledgers of the families that changed, with the watermark of this batch.
    const lastOffset = new Map<string, number>();
    for (const item of items) if (item.family !== null) lastOffset.set(item.family, item.record.offset);
    const next = new Map<string, Family>();
    for (const [family, state] of changed) {
      const old = this.families.get(family);
      next.set(family, { state, applied: { ...(old?.applied ?? {}), [wk]: lastOffset.get(family) ?? old?.applied[wk] ?? 0 } });
    }
    const snapshots = [...next].map(([family, f]) => encodeSnapshot(family, f));
    for (let i = 0; i < snapshots.length; i += 200) await this.o.bus.produce('counters-changelog', snapshots.slice(i, i + 200));
    for (const [family, f] of next) this.families.set(family, f);
    await this.pause();

    this.stats.batches += 1;
    this.stats.lines += records.length;
    this.stats.published += settlements.length;
    this.stats.snapshots += snapshots.length;
    this.o.onBatch?.(this.stats);
    // 4. Returning lets the bus commit the batch's offsets.
  }

  /** Tasks of whole families up to `taskLines` lines; unknown beneficiaries (no ledger) by member number. */
  private split(items: { request: LineRequest; family: string | null }[], taskLines: number): { task: LiquidateTask; indices: number[] }[] {
    const groups = new Map<string, number[]>();
    items.forEach((item, i) => {
      const g = item.family ?? `?${item.request.line.amcMemberId}`;
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    const tasks: { task: LiquidateTask; indices: number[] }[] = [];
    let current: { task: LiquidateTask; indices: number[] } | undefined;
    for (const [g, indices] of groups) {
      if (!current || current.indices.length >= taskLines) {
        current = { task: { requests: [], ledgers: {} }, indices: [] };
        tasks.push(current);
      }
      const family = this.families.get(g);
      if (family) current.task.ledgers[g] = family.state;
      for (const i of indices) {
        current.indices.push(i);
        current.task.requests.push(items[i]!.request);
      }
    }
    return tasks;
  }

  private async pause(): Promise<void> {
    if (this.o.stepDelayMs) await new Promise((r) => setTimeout(r, this.o.stepDelayMs));
  }
}
