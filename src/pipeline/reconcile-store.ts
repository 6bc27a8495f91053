import { rm } from 'node:fs/promises';
import type { Bus, PartitionOffsets } from '../bus/bus.js';
import { nextDeadline, parseReconState, type ReconState } from '../reconcile/index.js';
import { compositeKey, splitCompositeKey, StateStore, type SubStore } from '../state/kv-store.js';
import { scratchDir } from './scratch.js';

/**
 * The reconcile service's state in the home's state store (src/state, `<home>/state/store.mdb`):
 *
 *   reconcile.state/<NIR-rang>               { s: ReconState, d: its next deadline or null }
 *   reconcile.deadline/<deadline>␟<NIR-rang> 1 — index: whose wait runs out when (a tick scans it up to `now`)
 *   reconcile.marker/changelog               { v, bus, next: { partition: first changelog offset NOT reflected }, keys }
 *
 * One beneficiary's state per key, so a batch reads and writes only its beneficiaries; a tick reads
 * the deadline index up to its instant, not every state. The marker is written in the SAME
 * transaction as the states it describes: the store reflects exactly `reconcile-changelog` below
 * `next`, never more, never less, so a restart reads the changelog from `next` only. `bus` says
 * which bus the store mirrors (embedded, or Kafka + topic prefix): another bus's store is wiped and
 * rebuilt from the changelog, like a missing marker or one outside the topic's offsets.
 */
interface StoredState {
  s: ReconState;
  /** nextDeadline(s), kept beside it so a change can remove its old index entry without recomputing */
  d: string | null;
}

export interface ReconMarker {
  v: 1;
  bus: string;
  next: Record<string, number>;
  /** beneficiaries with state */
  keys: number;
}

const MARKER = 'changelog';

export class ReconStore {
  private readonly stateEntries: SubStore<StoredState>;
  private readonly deadlines: SubStore<1>;
  private readonly markers: SubStore<ReconMarker>;

  private constructor(
    readonly kv: StateStore,
    /** a scratch folder of this process (no home given): removed at close */
    private readonly scratch: string | null,
  ) {
    this.stateEntries = kv.sub('reconcile.state');
    this.deadlines = kv.sub('reconcile.deadline');
    this.markers = kv.sub('reconcile.marker');
  }

  /**
   * The home's store; without a home (tests, bench) a per-process scratch one, empty, removed at
   * close — the state names people (keys are NIR-rang), so a killed process's folder is removed by
   * the next one (scratch.ts).
   */
  static async open(home?: string): Promise<ReconStore> {
    if (home !== undefined) return new ReconStore(StateStore.open(home), null);
    const dir = await scratchDir('noemie-recon-');
    return new ReconStore(StateStore.open(dir), dir);
  }

  get(key: string): ReconState | undefined {
    return this.stateEntries.get(key)?.s;
  }

  marker(): ReconMarker | undefined {
    return this.markers.get(MARKER);
  }

  /** beneficiaries with state */
  get keys(): number {
    return this.marker()?.keys ?? 0;
  }

  /** Keys whose next deadline is at or before `now`, in deadline order: a range of the index, not a scan of the states. */
  *dueKeys(now: string): Generator<string> {
    for (const k of this.deadlines.keys()) {
      const [deadline, key] = splitCompositeKey(k);
      if (deadline! > now) return;
      yield key!;
    }
  }

  /** Every state, in key order (inspection and tests: the service itself never reads them all). */
  *states(): Generator<[string, ReconState]> {
    for (const [key, v] of this.stateEntries.entries()) yield [key, v.s];
  }

  /** The deadline index as [deadline, key] pairs, in deadline order (inspection and tests). */
  *deadlineIndex(): Generator<[string, string]> {
    for (const k of this.deadlines.keys()) {
      const [deadline, key] = splitCompositeKey(k);
      yield [deadline!, key!];
    }
  }

  /**
   * ONE durable transaction: the changed states (null: forgotten) with their deadline index
   * entries, and the marker moved to `positions` (per changelog partition, the first offset the
   * store now reflects past; partitions not named keep theirs).
   */
  write(changes: ReadonlyMap<string, ReconState | null>, positions: ReadonlyMap<number, number>, busId: string): Promise<void> {
    return this.kv.update(() => {
      const before = this.marker();
      let keys = before?.keys ?? 0;
      const ops: (() => void)[] = [];
      for (const [key, state] of changes) {
        const old = this.stateEntries.get(key);
        if (old?.d != null) {
          const k = compositeKey(old.d, key);
          ops.push(() => this.deadlines.remove(k));
        }
        if (state === null) {
          if (old !== undefined) keys -= 1;
          ops.push(() => this.stateEntries.remove(key));
          continue;
        }
        if (old === undefined) keys += 1;
        const d = nextDeadline(state);
        ops.push(() => this.stateEntries.put(key, { s: state, d }));
        if (d !== null) ops.push(() => this.deadlines.put(compositeKey(d, key), 1));
      }
      const next = { ...(before?.bus === busId ? before.next : {}) };
      for (const [p, offset] of positions) next[String(p)] = offset;
      const marker: ReconMarker = { v: 1, bus: busId, next, keys };
      return () => {
        for (const op of ops) op();
        this.markers.put(MARKER, marker);
      };
    });
  }

  /** Empties the reconciliation state (one transaction) and records that it mirrors nothing of `busId` yet. */
  wipe(busId: string): Promise<void> {
    return this.kv.commit(() => {
      this.stateEntries.clear();
      this.deadlines.clear();
      this.markers.put(MARKER, { v: 1, bus: busId, next: {}, keys: 0 });
    });
  }

  async close(): Promise<void> {
    await this.kv.close();
    if (this.scratch !== null) await rm(this.scratch, { recursive: true, force: true });
  }
}

export interface ReconRestoreResult {
  /** the store was wiped and rebuilt from the changelog's first offset */
  rebuilt: boolean;
  why: string;
  /** changelog entries read */
  read: number;
}

/** Where to start per changelog partition, or why the store must be rebuilt. */
function startOffsets(marker: ReconMarker | undefined, busId: string, ends: PartitionOffsets[]): Map<number, number> | string {
  if (marker === undefined) return 'no marker';
  if (marker.v !== 1) return 'unreadable marker';
  if (marker.bus !== busId) return `marker of another bus (${marker.bus})`;
  const out = new Map<number, number>();
  for (const { partition, low, high } of ends) {
    const next = marker.next[String(partition)] ?? 0;
    if (next > high) return `marker past the end of reconcile-changelog[${partition}] (${next} > ${high}): the topic was recreated`;
    if (next < low && next > 0) return `reconcile-changelog[${partition}] no longer holds offset ${next}`;
    out.set(partition, Math.max(next, low));
  }
  return out;
}

const RESTORE_BATCH = 2048;

/**
 * Brings the store up to the end of `reconcile-changelog`: from the marker (the tail only), or from
 * the first offset after a wipe when there is no usable marker. Batch by batch, one transaction
 * each (the last value per key of the batch, the marker moved past it): memory is one batch
 * whatever the changelog's size, and a crash mid-restore resumes where the last commit stopped.
 * Entries come from the bus (on Kafka anyone may write there): checked with zod, a bad one stops
 * the restore naming its offset.
 */
export async function restoreReconStates(bus: Bus, store: ReconStore, busId: string): Promise<ReconRestoreResult> {
  const ends = await bus.endOffsets('reconcile-changelog');
  let from = startOffsets(store.marker(), busId, ends);
  let why = 'marker: reading the changelog tail';
  const rebuilt = typeof from === 'string';
  if (typeof from === 'string') {
    why = from;
    await store.wipe(busId);
    from = new Map(ends.map((e) => [e.partition, e.low]));
  }
  let read = 0;
  for (const { partition, high } of ends) {
    const start = from.get(partition) ?? 0;
    if (high <= start) continue;
    for await (const records of bus.readRange('reconcile-changelog', partition, { from: start, to: high, maxBatch: RESTORE_BATCH })) {
      const last = new Map<string, ReconState | null>();
      for (const r of records) {
        last.delete(r.value.key); // keep the batch's order of last writes
        last.set(r.value.key, r.value.value === null ? null : parseChangelogState(r.value.value, partition, r.offset));
      }
      await store.write(last, new Map([[partition, records.at(-1)!.offset + 1]]), busId);
      read += records.length;
    }
  }
  return { rebuilt, why, read };
}

function parseChangelogState(text: string, partition: number, offset: number): ReconState {
  try {
    return parseReconState(JSON.parse(text));
  } catch (e) {
    throw new Error(`reconcile-changelog[${partition}]@${offset}: not a reconciliation state: ${(e as Error).message}`, { cause: e });
  }
}
