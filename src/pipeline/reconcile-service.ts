import type { Batch, Bus, BusRecord, OutgoingMessage, Subscription } from '../bus/index.js';
import type { Logger } from '../log.js';
import type { ReconOutcome } from '../model/reconciliation.js';
import { decide, DEFAULT_RECON_CONFIG, initialReconState, nextDeadline, parseReconState, reconKeyOf, type ReconConfig, type ReconEvent, type ReconState } from '../reconcile/index.js';

/**
 * The reconcile stage on the bus: consumes `settlements` and `tp-claims` (group `reconcile`), runs
 * the pure decider with one state per beneficiary (NIR-rang, the key both topics are partitioned
 * by), publishes outcomes to `reconciliation` and each changed state to `reconcile-changelog`
 * (compacted, same key, hence the same partition number as the beneficiary's settlements).
 *
 * Exactly-once effect, as the liquidation service: per batch, outcomes then states are produced
 * (durable), and only then does the handler resolve and the bus commit. A crash in between
 * redelivers the batch onto the older state; the decider then emits the same outcomes with the
 * same `outcomeId`s — ids name what they decide (outcomeIdOf), so they stay the same even when the
 * redelivered batch is decided after events of the other topic this time — and a consumer dedupes them.
 *
 * Time is data: a settlement or claim is decided at its message timestamp (stable across
 * redeliveries); deadlines run out only when someone calls `tick(now)` (the `run` loop on a timer,
 * tests with the instant they want).
 *
 * State is rebuilt on start by reading the changelog to its end (last value per key). One instance
 * owns all keys: the state map is global, not partition-scoped, so several instances in one group
 * would each need only their partitions — not done, the pipeline runs one reconcile consumer.
 */
export const RECONCILE_GROUP = 'reconcile';
export const RECONCILE_TOPICS = ['settlements', 'tp-claims'] as const;

export interface ReconcileServiceOptions {
  bus: Bus;
  config?: ReconConfig;
  logger?: Logger;
  groupId?: string;
  maxBatch?: number;
}

export interface ReconcileStats {
  events: number;
  outcomes: Record<ReconOutcome['kind'], number>;
}

export interface ReconcileService {
  /** raises the exceptions whose delay ran out at `now` (ISO instant); resolves once they are durable */
  tick(now: string): Promise<ReconOutcome[]>;
  /** beneficiaries with state (after the rebuild, then live) */
  readonly keys: number;
  readonly stats: ReconcileStats;
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/** Last state per key from the changelog: what compaction keeps. */
export async function rebuildReconStates(bus: Bus): Promise<Map<string, ReconState>> {
  const states = new Map<string, ReconState>();
  for (const { partition, low, high } of await bus.endOffsets('reconcile-changelog')) {
    if (high <= low) continue;
    for await (const records of bus.readRange('reconcile-changelog', partition, { from: low, to: high })) {
      for (const r of records) {
        if (r.value.value === null) states.delete(r.value.key);
        else states.set(r.value.key, parseReconState(JSON.parse(r.value.value)));
      }
    }
  }
  return states;
}

function eventOf(record: BusRecord<'settlements'> | BusRecord<'tp-claims'>): ReconEvent {
  const at = new Date(record.timestamp).toISOString();
  return record.topic === 'settlements'
    ? { kind: 'settlement', settlement: (record as BusRecord<'settlements'>).value, at }
    : { kind: 'claim', claim: (record as BusRecord<'tp-claims'>).value, at };
}

export async function startReconcileService(options: ReconcileServiceOptions): Promise<ReconcileService> {
  const { bus, logger } = options;
  const config = options.config ?? DEFAULT_RECON_CONFIG;
  const states = await rebuildReconStates(bus);
  logger?.info({ keys: states.size }, 'reconcile: state rebuilt from the changelog');
  const stats: ReconcileStats = { events: 0, outcomes: { matched: 0, indu: 0, held: 0, exception: 0, 'annulation-indu': 0 } };

  // batches and ticks change the same states: one at a time
  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = lock.then(fn, fn);
    lock = next.catch(() => undefined);
    return next;
  };

  /** Decides events against a working copy; the live map changes only once the effects are durable. */
  async function apply(events: Iterable<{ key: string; event: ReconEvent }>): Promise<ReconOutcome[]> {
    const changed = new Map<string, ReconState>();
    const outcomes: ReconOutcome[] = [];
    for (const { key, event } of events) {
      const before = changed.get(key) ?? states.get(key) ?? initialReconState();
      const d = decide(before, event, config);
      outcomes.push(...d.outcomes);
      if (d.state !== before) changed.set(key, d.state);
    }
    if (outcomes.length > 0) await bus.produce('reconciliation', outcomes.map((value) => ({ value })));
    if (changed.size > 0) {
      const log: OutgoingMessage<'reconcile-changelog'>[] = [...changed].map(([key, state]) => ({ value: { key, value: JSON.stringify(state) } }));
      await bus.produce('reconcile-changelog', log);
    }
    for (const [key, state] of changed) states.set(key, state);
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

  const sub: Subscription = await bus.consume({
    groupId: options.groupId ?? RECONCILE_GROUP,
    topics: RECONCILE_TOPICS,
    handler,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
  });

  return {
    tick: (given) =>
      exclusive(async () => {
        const ms = Date.parse(given);
        if (Number.isNaN(ms)) throw new RangeError(`tick: "${given}" is not an ISO-8601 instant`);
        const now = new Date(ms).toISOString();
        const due: { key: string; event: ReconEvent }[] = [];
        for (const [key, state] of states) {
          const next = nextDeadline(state);
          if (next !== null && next <= now) due.push({ key, event: { kind: 'tick', now } });
        }
        return apply(due);
      }),
    get keys() {
      return states.size;
    },
    stats,
    stop: () => sub.stop(),
    done: sub.done,
  };
}
