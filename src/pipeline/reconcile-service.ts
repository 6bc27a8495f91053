import type { Batch, Bus, BusRecord, OutgoingMessage, Subscription } from '../bus/index.js';
import { TRUSTED } from '../bus/index.js';
import type { Logger } from '../log.js';
import type { ReconOutcome } from '../model/reconciliation.js';
import { DEFAULT_RECON_CONFIG, foldOf, initialReconState, reconKeyOf, type ReconConfig, type ReconEvent, type ReconFold, type ReconState } from '../reconcile/index.js';
import { ReconStore, restoreReconStates, type ReconChange } from './reconcile-store.js';

/**
 * The reconcile stage on the bus: consumes `settlements` and `tp-claims` (group `reconcile`), runs
 * the pure decider with one state per beneficiary (NIR-rang, the key claims are partitioned by),
 * publishes outcomes to `reconciliation` and each changed state to `reconcile-changelog`
 * (compacted, same key), and keeps the states in the home's state store (reconcile-store.ts).
 *
 * Exactly-once effect (README "Reconciliation state"): per batch, decide against the store, produce
 * the outcomes then the changed states (durable), commit the states with the changelog position
 * they reflect in ONE store transaction, and only then does the handler resolve and the bus commit
 * the offsets. A redelivered batch is decided again either on the states from before it (same
 * outcomes, same `outcomeId`s: ids name what they decide, see outcomeIdOf; a consumer dedupes
 * them) or on the states after it (the decider ignores a settlement version or a claim content it
 * already has: nothing new).
 *
 * Time is data: a settlement or claim is decided at its message timestamp (stable across
 * redeliveries); deadlines run out only when someone calls `tick(now)` (the `run` loop on a timer,
 * tests with the instant they want), which reads the store's deadline index up to `now`.
 *
 * On start the store is brought up to the changelog's end from its marker (the tail only). One
 * instance owns all keys: several instances in one group would each need only their partitions —
 * not done, the pipeline runs one reconcile consumer.
 */
export const RECONCILE_GROUP = 'reconcile';
export const RECONCILE_TOPICS = ['settlements', 'tp-claims'] as const;

export interface ReconcileServiceOptions {
  bus: Bus;
  config?: ReconConfig;
  logger?: Logger;
  groupId?: string;
  maxBatch?: number;
  /** the home whose state store keeps the states (`<home>/state/store.mdb`); none: a scratch store rebuilt from the changelog at each start */
  home?: string;
  /** which bus the store mirrors (liquidationState's busId: `embedded`, `kafka-<prefix>`); default the bus kind */
  busId?: string;
  /** lines + claims the cache of decoded states may hold (default RECON_CACHE_ENTRIES; 0: no cache) */
  cacheEntries?: number;
  /** @internal tests: called where a crash can fall (after the produces, after the store commit); a throw there stops the service as a crash would */
  faults?: { afterProduce?: () => void | Promise<void>; afterStoreCommit?: () => void | Promise<void> };
}

export interface ReconcileStats {
  events: number;
  outcomes: Record<ReconOutcome['kind'], number>;
  /** changelog entries read at start (the tail past the store's marker, or all of it on a rebuild) */
  restored: number;
}

export interface ReconcileService {
  /** raises the exceptions whose delay ran out at `now` (ISO instant); resolves once they are durable */
  tick(now: string): Promise<ReconOutcome[]>;
  /** beneficiaries with state (after the restore, then live) */
  readonly keys: number;
  readonly stats: ReconcileStats;
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * Most records per consumed batch, hence per store transaction (as the payment stage and the
 * statement index): a commit rewrites the B-tree pages its keys fall in, and beneficiaries' keys
 * are scattered, so fewer, larger commits write far fewer bytes per event (bench/README.md, "reconcile").
 */
export const RECONCILE_MAX_BATCH = 16384;

/** Beneficiaries a tick decides per store transaction: memory stays one slice however many waits run out at once. */
const TICK_SLICE = 4096;

function eventOf(record: BusRecord<'settlements'> | BusRecord<'tp-claims'>): ReconEvent {
  const at = new Date(record.timestamp).toISOString();
  return record.topic === 'settlements'
    ? { kind: 'settlement', settlement: (record as BusRecord<'settlements'>).value, at }
    : { kind: 'claim', claim: (record as BusRecord<'tp-claims'>).value, at };
}

export async function startReconcileService(options: ReconcileServiceOptions): Promise<ReconcileService> {
  const { bus, logger, faults } = options;
  const config = options.config ?? DEFAULT_RECON_CONFIG;
  const busId = options.busId ?? bus.kind;
  const store = await ReconStore.open(options.home, options.cacheEntries === undefined ? {} : { cacheEntries: options.cacheEntries });
  let sub: Subscription;
  const stats: ReconcileStats = { events: 0, outcomes: { matched: 0, indu: 0, held: 0, exception: 0, 'annulation-indu': 0 }, restored: 0 };
  try {
    const restored = await restoreReconStates(bus, store, busId);
    stats.restored = restored.read;
    logger?.info({ keys: store.keys, read: restored.read, rebuilt: restored.rebuilt, why: restored.why }, 'reconcile: state store brought up to the changelog');
  } catch (e) {
    await store.close();
    throw e;
  }

  // batches and ticks change the same states: one at a time
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = lock.then(fn, fn);
    lock = next.catch(() => undefined);
    return next;
  };

  /**
   * Decides events against the store (the batch's own changes first); produces outcomes, then the
   * changed states; then commits the states and the changelog's new end in one store transaction.
   */
  async function apply(events: Iterable<{ key: string; event: ReconEvent }>): Promise<ReconOutcome[]> {
    // one working copy per beneficiary for the whole batch: its state read (and copied) once,
    // however many of its events the batch brings; outcomes keep the records' order
    const folds = new Map<string, { before: ReconState; fold: ReconFold }>();
    const outcomes: ReconOutcome[] = [];
    for (const { key, event } of events) {
      let f = folds.get(key);
      if (f === undefined) {
        const before = store.get(key) ?? initialReconState();
        f = { before, fold: foldOf(before, config) };
        folds.set(key, f);
      }
      for (const o of f.fold.decide(event)) outcomes.push(o);
    }
    const changed = new Map<string, ReconChange>();
    for (const [key, { before, fold }] of folds) if (fold.state !== before) changed.set(key, store.change(key, fold.state));
    if (outcomes.length > 0) await bus.produce('reconciliation', outcomes.map((value) => ({ value })), TRUSTED);
    if (changed.size > 0) {
      const log: OutgoingMessage<'reconcile-changelog'>[] = [];
      for (const [key, { text }] of changed) log.push({ value: { key, value: text } });
      await bus.produce('reconcile-changelog', log, TRUSTED);
      await faults?.afterProduce?.();
      // One writer of the changelog (this service): its end is the position the store now reflects.
      const ends = await bus.endOffsets('reconcile-changelog');
      await store.write(changed, new Map(ends.map((e) => [e.partition, e.high])), busId);
      await faults?.afterStoreCommit?.();
    }
    for (const o of outcomes) stats.outcomes[o.kind] += 1;
    return outcomes;
  }

  const handler = (batch: Batch<'settlements' | 'tp-claims'>) =>
    exclusive(async () => {
      const events = (batch.records as (BusRecord<'settlements'> | BusRecord<'tp-claims'>)[]).map((r) => {
        const event = eventOf(r);
        return { key: reconKeyOf(event)!, event };
      });
      stats.events += events.length;
      const outcomes = await apply(events);
      logger?.debug({ topic: batch.topic, partition: batch.partition, records: events.length, outcomes: outcomes.length }, 'reconcile: batch');
    });

  try {
    sub = await bus.consume({
      groupId: options.groupId ?? RECONCILE_GROUP,
      topics: RECONCILE_TOPICS,
      handler,
      maxBatch: options.maxBatch ?? RECONCILE_MAX_BATCH,
    });
  } catch (e) {
    await store.close();
    throw e;
  }

  let closed: Promise<void> | null = null;
  return {
    tick: (given) =>
      exclusive(async () => {
        const ms = Date.parse(given);
        if (Number.isNaN(ms)) throw new RangeError(`tick: "${given}" is not an ISO-8601 instant`);
        const now = new Date(ms).toISOString();
        // The deadline index up to `now`, a slice at a time; a key decided once is not taken again
        // (its exception is raised: its next deadline, if any, is later).
        const outcomes: ReconOutcome[] = [];
        const seen = new Set<string>();
        for (;;) {
          const due: { key: string; event: ReconEvent }[] = [];
          for (const key of store.dueKeys(now)) {
            if (seen.has(key)) continue;
            seen.add(key);
            due.push({ key, event: { kind: 'tick', now } });
            if (due.length >= TICK_SLICE) break;
          }
          if (due.length === 0) return outcomes;
          outcomes.push(...(await apply(due)));
        }
      }),
    get keys() {
      return store.keys;
    },
    stats,
    stop: () =>
      (closed ??= (async () => {
        await sub.stop();
        await lock;
        await store.close();
      })()),
    done: sub.done,
  };
}
