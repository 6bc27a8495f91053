import { rm } from 'node:fs/promises';
import type { Bus, PartitionOffsets } from '../bus/bus.js';
import { nextDeadline, parseReconState, type ReconState } from '../reconcile/index.js';
import { decodeReconState, decodeReconStateText, encodeReconStateText, isCompactState, type EntryTexts } from '../reconcile/state-codec.js';
import { compositeKey, splitCompositeKey, StateStore, type SubStore } from '../state/kv-store.js';
import { scratchDir } from './scratch.js';

/**
 * The reconcile service's state in the home's state store (src/state, `<home>/state/store.mdb`):
 *
 *   reconcile.state/<NIR-rang>               [d, text]: d its next deadline or null, text the state's
 *                                            compact JSON (src/reconcile/state-codec.ts), the very
 *                                            text published on reconcile-changelog for it
 *   reconcile.deadline/<deadline>␟<NIR-rang> 1 — index: whose wait runs out when (a tick scans it up to `now`)
 *   reconcile.marker/changelog               { v, bus, next: { partition: first changelog offset NOT reflected }, keys }
 *
 * One beneficiary's state per key, so a batch reads and writes only its beneficiaries; a tick reads
 * the deadline index up to its instant, not every state. The marker is written in the SAME
 * transaction as the states it describes: the store reflects exactly `reconcile-changelog` below
 * `next`, never more, never less, so a restart reads the changelog from `next` only. `bus` says
 * which bus the store mirrors (embedded, or Kafka + topic prefix): another bus's store is wiped and
 * rebuilt from the changelog, like a missing marker, one of an older layout (v1: `{ s, d }` objects)
 * or one outside the topic's offsets.
 *
 * A bounded cache of decoded states (most recently used first) sits in front of the store, so the
 * beneficiaries a batch touches again are not decoded again; it holds only committed states (a
 * write updates it once its transaction is durable) and is emptied by a wipe.
 */
type StoredState = [d: string | null, text: string];

export const RECON_LAYOUT = 2;

export interface ReconMarker {
  v: typeof RECON_LAYOUT;
  bus: string;
  next: Record<string, number>;
  /** beneficiaries with state */
  keys: number;
}

/** A changed state and its compact JSON text (what the changelog carries and the store keeps). */
export interface ReconChange {
  state: ReconState;
  text: string;
  /** each entry's JSON (a later change of the state reuses those of the entries it kept) */
  texts?: EntryTexts;
}

export function reconChangeOf(key: string, state: ReconState, known?: EntryTexts): ReconChange {
  return { state, ...encodeReconStateText(key, state, known) };
}

const MARKER = 'changelog';

/** Entries (lines + claims) the decoded-state cache may hold: ~0.6 KB of heap each with their texts (bench:reconcile: +30 MB when full). */
export const RECON_CACHE_ENTRIES = 50_000;

interface Cached {
  state: ReconState;
  d: string | null;
  size: number;
  texts: EntryTexts | undefined;
}

class StateCache {
  private readonly map = new Map<string, Cached>();
  private size = 0;
  constructor(private readonly budget: number) {}

  get(key: string): Cached | undefined {
    const c = this.map.get(key);
    if (c !== undefined) {
      // most recently used last: eviction takes from the front
      this.map.delete(key);
      this.map.set(key, c);
    }
    return c;
  }

  set(key: string, state: ReconState, d: string | null, texts?: EntryTexts): void {
    this.delete(key);
    let size = 1;
    for (const _ in state.lines) size += 1;
    for (const _ in state.claims) size += 1;
    if (size > this.budget) return;
    this.map.set(key, { state, d, size, texts });
    this.size += size;
    for (const [k, c] of this.map) {
      if (this.size <= this.budget) break;
      this.map.delete(k);
      this.size -= c.size;
    }
  }

  delete(key: string): void {
    const c = this.map.get(key);
    if (c === undefined) return;
    this.map.delete(key);
    this.size -= c.size;
  }

  clear(): void {
    this.map.clear();
    this.size = 0;
  }
}

export class ReconStore {
  private readonly stateEntries: SubStore<StoredState>;
  private readonly deadlines: SubStore<1>;
  private readonly markers: SubStore<ReconMarker>;
  private readonly cache: StateCache;

  private constructor(
    readonly kv: StateStore,
    /** a scratch folder of this process (no home given): removed at close */
    private readonly scratch: string | null,
    cacheEntries: number,
  ) {
    this.stateEntries = kv.sub('reconcile.state');
    this.deadlines = kv.sub('reconcile.deadline');
    this.markers = kv.sub('reconcile.marker');
    this.cache = new StateCache(cacheEntries);
  }

  /**
   * The home's store; without a home (tests, bench) a per-process scratch one, empty, removed at
   * close — the state names people (keys are NIR-rang), so a killed process's folder is removed by
   * the next one (scratch.ts).
   */
  static async open(home?: string, options: { cacheEntries?: number } = {}): Promise<ReconStore> {
    const cacheEntries = options.cacheEntries ?? RECON_CACHE_ENTRIES;
    if (home !== undefined) return new ReconStore(StateStore.open(home), null, cacheEntries);
    const dir = await scratchDir('noemie-recon-');
    return new ReconStore(StateStore.open(dir), dir, cacheEntries);
  }

  /** The state and its next deadline: from the cache, else decoded from the store (and cached). */
  private read(key: string): Cached | undefined {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    const stored = this.stateEntries.get(key);
    if (stored === undefined) return undefined;
    const { state, texts } = decodeStored(key, stored);
    this.cache.set(key, state, stored[0], texts);
    return { state, d: stored[0], size: 0, texts };
  }

  get(key: string): ReconState | undefined {
    return this.read(key)?.state;
  }

  /** `state`, a new state of `key`, with its compact text (re-using the texts of the entries the cached state shares with it). */
  change(key: string, state: ReconState): ReconChange {
    return reconChangeOf(key, state, this.cache.get(key)?.texts);
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
    for (const [key, v] of this.stateEntries.entries()) yield [key, decodeStored(key, v).state];
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
  async write(changes: ReadonlyMap<string, ReconChange | null>, positions: ReadonlyMap<number, number>, busId: string): Promise<void> {
    const after = new Map<string, { state: ReconState; d: string | null; texts: EntryTexts | undefined } | null>();
    try {
      await this.kv.update(() => {
        const before = this.marker();
        let keys = before?.keys ?? 0;
        const ops: (() => void)[] = [];
        for (const [key, change] of changes) {
          // the old deadline (to remove its index entry) and whether the key existed
          const old = this.cache.get(key) ?? this.stateEntries.get(key);
          const oldD = old === undefined ? null : Array.isArray(old) ? old[0] : old.d;
          if (oldD !== null) {
            const k = compositeKey(oldD, key);
            ops.push(() => this.deadlines.remove(k));
          }
          if (change === null) {
            if (old !== undefined) keys -= 1;
            ops.push(() => this.stateEntries.remove(key));
            after.set(key, null);
            continue;
          }
          if (old === undefined) keys += 1;
          const d = nextDeadline(change.state);
          const stored: StoredState = [d, change.text];
          ops.push(() => this.stateEntries.put(key, stored));
          if (d !== null) ops.push(() => this.deadlines.put(compositeKey(d, key), 1));
          after.set(key, { state: change.state, d, texts: change.texts });
        }
        const next = { ...(before?.bus === busId ? before.next : {}) };
        for (const [p, offset] of positions) next[String(p)] = offset;
        const marker: ReconMarker = { v: RECON_LAYOUT, bus: busId, next, keys };
        return () => {
          for (const op of ops) op();
          this.markers.put(MARKER, marker);
        };
      });
    } catch (e) {
      // not committed: what the cache holds for these keys may be ahead of or behind the store
      for (const key of changes.keys()) this.cache.delete(key);
      throw e;
    }
    for (const [key, a] of after) {
      if (a === null) this.cache.delete(key);
      else this.cache.set(key, a.state, a.d, a.texts);
    }
  }

  /** Empties the reconciliation state (one transaction) and records that it mirrors nothing of `busId` yet. */
  async wipe(busId: string): Promise<void> {
    this.cache.clear();
    await this.kv.commit(() => {
      this.stateEntries.clear();
      this.deadlines.clear();
      this.markers.put(MARKER, { v: RECON_LAYOUT, bus: busId, next: {}, keys: 0 });
    });
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.kv.close();
    if (this.scratch !== null) await rm(this.scratch, { recursive: true, force: true });
  }
}

/** A stored value: [d, compact text] (layout 2); the wiped-and-rebuilt layout 1 `{ s, d }` is read too, for inspection. */
function decodeStored(key: string, v: StoredState | { s: ReconState; d: string | null }): { state: ReconState; texts: EntryTexts | undefined } {
  if (!Array.isArray(v)) return { state: v.s, texts: undefined };
  return decodeReconStateText(key, v[1]);
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
  if (marker.v !== RECON_LAYOUT) return `store layout v${String((marker as { v: unknown }).v)}, this build keeps v${RECON_LAYOUT}`;
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
      const last = new Map<string, ReconChange | null>();
      for (const r of records) {
        last.delete(r.value.key); // keep the batch's order of last writes
        last.set(r.value.key, r.value.value === null ? null : parseChangelogState(r.value.key, r.value.value, partition, r.offset));
      }
      await store.write(last, new Map([[partition, records.at(-1)!.offset + 1]]), busId);
      read += records.length;
    }
  }
  return { rebuilt, why, read };
}

/**
 * A changelog value: the compact form (this layout) or the whole state object (older builds), both
 * checked with zod; kept in the store as compact text.
 */
function parseChangelogState(key: string, text: string, partition: number, offset: number): ReconChange {
  try {
    const value: unknown = JSON.parse(text);
    // re-encoded: the store keeps the canonical text of this build (decodeReconStateText splits it)
    return reconChangeOf(key, parseReconState(isCompactState(value) ? decodeReconState(key, value) : value));
  } catch (e) {
    throw new Error(`reconcile-changelog[${partition}]@${offset}: not a reconciliation state: ${(e as Error).message}`, { cause: e });
  }
}
