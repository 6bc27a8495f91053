import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { EngineState } from '../engine/index.js';
import { STATE_MAP_BYTES } from '../state/kv-store.js';

/** Prefix of the spill folders under the OS temp dir (`<prefix><pid>-XXXXXX`, swept by `sweepOrphans` when their process is gone). */
export const LEDGER_SPILL_PREFIX = 'noemie-liquidate-';

/**
 * Line records held in memory by one shard of `noemie liquidate` before the least recently used
 * families go to disk: ≈ 1 KB of heap each (a 200 000-line drop's ledgers are 82 MB of JSON, ≈ 3×
 * that as objects), so ≈ 64 MB per shard whatever the size of the drop.
 */
export const RESIDENT_LINES = 65_536;

/**
 * The family ledgers of one `noemie liquidate` shard, bounded in memory: a drop ten times larger
 * does not hold ten times the ledgers. Families are kept in least-recently-used order with a
 * weight (their line records); at the end of each batch the oldest go to a scratch LMDB
 * environment until the weight is back under the budget, and come back (parsed) when one of their
 * lines arrives. The environment is opened at the first spill only, so a drop that fits never
 * touches the disk.
 *
 * The ledgers hold NIRs (counter keys): the spill is encrypted with a key that lives only in this
 * process's memory (LMDB's ChaCha8 `encryptionKey`), so the files a `kill -9` leaves behind are
 * unreadable, and they are removed by `close` or by the next run's sweep. Never fsynced: nothing
 * in it outlives the run.
 */
export class SpillingLedgers {
  private readonly resident = new Map<string, { state: EngineState; weight: number }>();
  private weight = 0;
  private readonly spilledFamilies = new Set<string>();
  private store: { db: RootDatabase<string, string>; dir: string } | null = null;
  readonly stats = { spills: 0, reloads: 0, spilledBytes: 0 };

  constructor(
    private readonly budget = RESIDENT_LINES,
    /** told when a family leaves memory: whoever else holds its state lets it go too */
    private readonly onSpill: (family: string) => void = () => undefined,
  ) {}

  get(family: string): EngineState | undefined {
    const held = this.resident.get(family);
    if (held !== undefined) {
      // most recently used last: Map keeps insertion order
      this.resident.delete(family);
      this.resident.set(family, held);
      return held.state;
    }
    if (!this.spilledFamilies.has(family)) return undefined;
    const text = this.store!.db.get(family);
    if (text === undefined) throw new Error(`ledger spill: family ${family} was spilled but is not in the spill store`);
    const state = JSON.parse(text) as EngineState;
    this.stats.reloads += 1;
    const weight = lineRecordsOf(state);
    this.resident.set(family, { state, weight });
    this.weight += weight;
    return state;
  }

  /** The family's state after one more line (or a state loaded from `--state`: `lines` = its line records). */
  set(family: string, state: EngineState, lines = 1): void {
    const held = this.resident.get(family);
    if (held !== undefined) {
      held.state = state;
      held.weight += lines;
    } else {
      this.resident.set(family, { state, weight: lines });
    }
    this.weight += lines;
  }

  /** Loads a ledger the run starts from (`--state`), weighed by its line records. */
  load(family: string, state: EngineState): void {
    const before = this.resident.get(family);
    if (before !== undefined) {
      this.weight -= before.weight;
      this.resident.delete(family);
    }
    this.set(family, state, lineRecordsOf(state));
  }

  /** Between batches: spills the least recently used families until the resident weight fits the budget. */
  trim(): void {
    if (this.weight <= this.budget) return;
    const out: [string, string][] = [];
    for (const [family, held] of this.resident) {
      if (this.weight <= this.budget) break;
      out.push([family, JSON.stringify(held.state)]);
      this.resident.delete(family);
      this.weight -= held.weight;
      this.onSpill(family);
    }
    const { db } = this.open();
    db.transactionSync(() => {
      for (const [family, text] of out) {
        db.putSync(family, text);
        this.spilledFamilies.add(family);
        this.stats.spilledBytes += text.length;
      }
    });
    this.stats.spills += out.length;
  }

  /** Every family's ledger, resident or spilled, a chunk at a time (`--state`): at most `size` families parsed at once. */
  *chunks(size: number): Generator<Record<string, EngineState>> {
    let chunk: Record<string, EngineState> = {};
    let n = 0;
    const emit = function* () {
      if (n === 0) return;
      yield chunk;
      chunk = {};
      n = 0;
    };
    for (const [family, held] of this.resident) {
      chunk[family] = held.state;
      if (++n >= size) yield* emit();
    }
    for (const family of this.spilledFamilies) {
      if (this.resident.has(family)) continue;
      chunk[family] = JSON.parse(this.store!.db.get(family)!) as EngineState;
      if (++n >= size) yield* emit();
    }
    yield* emit();
  }

  get residentFamilies(): number {
    return this.resident.size;
  }

  get residentWeight(): number {
    return this.weight;
  }

  /** Closes and removes the spill store (nothing in it outlives the run). */
  close(): void {
    if (this.store === null) return;
    const { db, dir } = this.store;
    this.store = null;
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }

  private open(): { db: RootDatabase<string, string> } {
    if (this.store !== null) return this.store;
    const dir = mkdtempSync(join(tmpdir(), `${LEDGER_SPILL_PREFIX}${process.pid}-`));
    const db = open<string, string>({
      path: join(dir, 'ledgers.mdb'),
      encoding: 'string',
      // 32 characters, 192 random bits (lmdb-js takes the key as a 32-byte string; a Buffer aborts the process)
      encryptionKey: randomBytes(24).toString('base64'),
      noSync: true,
      // address space reserved once: a growing map is re-mapped and every old mapping counted again in RSS (kv-store.ts)
      mapSize: STATE_MAP_BYTES,
    });
    this.store = { db, dir };
    return this.store;
  }
}

/** How many line records a family's ledger holds (its weight in memory). */
export function lineRecordsOf(state: EngineState): number {
  let n = 0;
  for (const bucket of Object.values(state.lines)) n += Object.keys(bucket).length;
  return Math.max(1, n);
}
