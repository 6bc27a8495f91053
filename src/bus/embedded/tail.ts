import { BusError } from '../errors.js';
import type { AppendEntry, StoredRecord } from './partition-log.js';

/**
 * The newest records of one partition, kept in memory for the subscriptions of this process.
 *
 * Every record the embedded bus appends was, a moment before, a JSON string in this process
 * (codec.ts `prepare`); a subscription of the same process that keeps up with the partition used to
 * read it back from the log file and JSON.parse the whole stored line (envelope included) — the
 * main thread's largest bus cost after GC (bench/README.md, "Session 11 — bus"). The tail keeps the
 * appended records (key, wire headers, and the bytes written to the log, where each value's JSON is
 * found: `Chunk`) of the partitions a subscription follows, and `PartitionLog.read` serves a range
 * from it when it holds the range's first offset.
 *
 * What it changes, and what it does not:
 * - visibility: a chunk is added after its append is written and synced (PartitionLog.write), at the
 *   moment `end` moves: a reader sees a record from the tail exactly when it would have seen it on disk;
 * - crash safety: memory only. A restarted process has an empty tail and reads the file, as before;
 *   nothing is written differently;
 * - values: each read parses the value's JSON again, so every consumer gets objects of its own, as
 *   from disk (freezing one parsed object shared by the groups was measured: see the README section);
 * - memory: a byte budget shared by every partition of the bus (`TailBudget`). Kept only while some
 *   subscription follows the partition, and only while every follower keeps up (none behind what the
 *   tail holds); what every follower has passed is let go at once; when the budget is spent, newer
 *   appends are not kept (the followers reach the older ones first: a reader reads the file up to
 *   the tail, then the tail, rather than a tail that keeps moving away).
 */
export class TailBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

/**
 * One append call's records (offsets base, base + 1, …), all with the append's timestamp: their
 * keys and wire headers, and the bytes the append wrote to the log, where each value's JSON lies at
 * [values[2·i], values[2·i + 1]). The bytes, not the values' strings: a Buffer lives outside the
 * JS heap, so records waiting for their follower are never copied by the young generation's
 * collections nor promoted into the old one (the strings were, for as long as the follower lagged:
 * seconds, during an ingest); the strings die as soon as they are written.
 */
interface Chunk {
  base: number;
  t: number;
  keys: string[];
  headers: Record<string, string>[];
  bytes: Buffer;
  values: Uint32Array;
  /** what the budget counts for it */
  size: number;
}

/**
 * What the objects kept besides the bytes cost per record (the key, the headers object): a rough,
 * fixed figure — the budget is a bound, not an account.
 */
const ENTRY_OVERHEAD = 96;

export interface TailStats {
  /** records served from memory, and read ranges the tail did not hold (read from the file) */
  served: number;
  missed: number;
  /** appends kept, and appends not kept (budget spent, or behind a gap left by one not kept) */
  kept: number;
  refused: number;
}

export class PartitionTail {
  /** contiguous: chunks[i + 1].base = chunks[i].base + chunks[i].keys.length */
  private chunks: Chunk[] = [];
  /** follower → the next offset it will read */
  private readonly followers = new Map<object, number>();
  readonly stats: TailStats = { served: 0, missed: 0, kept: 0, refused: 0 };

  /** `path`: the partition log's (`<bus>/<topic>/<partition>`), for errors */
  constructor(
    private readonly budget: TailBudget,
    private readonly path: string,
  ) {}

  /** first offset held (meaningless when empty) */
  get start(): number {
    return this.chunks[0]?.base ?? 0;
  }

  /** first offset after those held (meaningless when empty) */
  get end(): number {
    const last = this.chunks[this.chunks.length - 1];
    return last ? last.base + last.keys.length : 0;
  }

  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.size;
    return n;
  }

  /** A subscription reads this partition from `position` on: appends from now on are kept for it. */
  follow(follower: object, position: number): void {
    this.followers.set(follower, position);
    this.trim();
  }

  /** The follower has read up to `position` (the next offset it will read): what all followers passed goes. */
  advance(follower: object, position: number): void {
    if (!this.followers.has(follower)) return;
    this.followers.set(follower, position);
    this.trim();
  }

  /** The follower stopped: with no follower left, the tail is emptied and keeps nothing more. */
  unfollow(follower: object): void {
    this.followers.delete(follower);
    this.trim();
  }

  /**
   * Called by PartitionLog once an append is durable and `end` has moved past it: `bytes` is what
   * it wrote, `values` where each entry's value lies in it (see Chunk).
   */
  appended(base: number, t: number, entries: readonly AppendEntry[], bytes: Buffer, values: Uint32Array): void {
    if (this.followers.size === 0) return;
    // A gap (an append not kept before): keep the older run whole, the followers reach it first.
    // And only for followers that keep up: each at most at the first offset held (or, nothing
    // held, at this append). A follower further behind reads the file anyway; keeping appends for
    // it would hold their strings past the young generation's collections (copied, then promoted)
    // where the file costs the heap nothing.
    if ((this.chunks.length > 0 && this.end !== base) || this.slowest() < (this.chunks.length > 0 ? this.start : base)) {
      this.stats.refused += 1;
      return;
    }
    const n = entries.length;
    const size = bytes.length + n * ENTRY_OVERHEAD;
    if (this.budget.used + size > this.budget.limit) {
      this.stats.refused += 1;
      return;
    }
    const keys: string[] = new Array(n);
    const headers: Record<string, string>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      keys[i] = entries[i]!.key;
      headers[i] = entries[i]!.headers;
    }
    this.budget.used += size;
    this.chunks.push({ base, t, keys, headers, bytes, values, size });
    this.stats.kept += 1;
  }

  /**
   * Records [from, …) from memory, at most `maxRecords` and about `maxBytes` of values (at least
   * one), none past what the tail holds; null when the tail does not hold `from` (read the file).
   */
  read(from: number, maxRecords: number, maxBytes: number): StoredRecord[] | null {
    const chunks = this.chunks;
    if (chunks.length === 0 || from < this.start || from >= this.end) {
      this.stats.missed += 1;
      return null;
    }
    let c = 0;
    while (chunks[c]!.base + chunks[c]!.keys.length <= from) c++;
    const out: StoredRecord[] = [];
    let read = 0;
    for (let i = from - chunks[c]!.base; c < chunks.length && out.length < maxRecords; c++, i = 0) {
      const { base, t, keys, headers, bytes, values } = chunks[c]!;
      for (; i < keys.length && out.length < maxRecords; i++) {
        const start = values[2 * i]!;
        const end = values[2 * i + 1]!;
        if (out.length > 0 && read + end - start > maxBytes) return this.served(out);
        read += end - start;
        const o = base + i;
        out.push({ o, t, k: keys[i]!, h: headers[i]!, v: this.parse(bytes, start, end, o) });
      }
    }
    return this.served(out);
  }

  /** Lets go of everything (the log closes). */
  clear(): void {
    for (const c of this.chunks) this.budget.used -= c.size;
    this.chunks = [];
  }

  private parse(bytes: Buffer, start: number, end: number, offset: number): unknown {
    try {
      return JSON.parse(bytes.toString('utf8', start, end));
    } catch (cause) {
      // Only a trusted producer's `json` that is not JSON gets here (NOEMIE_BUS_VERIFY refuses it in tests).
      throw new BusError('BUS_INVALID_MESSAGE', `${this.path}: record ${offset} is not JSON`, { file: `${this.path}.log`, offset: String(offset) }, { cause });
    }
  }

  private served(out: StoredRecord[]): StoredRecord[] {
    this.stats.served += out.length;
    return out;
  }

  private slowest(): number {
    let min = Infinity;
    for (const p of this.followers.values()) if (p < min) min = p;
    return min;
  }

  private trim(): void {
    if (this.followers.size === 0) {
      this.clear();
      return;
    }
    const min = this.slowest();
    let drop = 0;
    while (drop < this.chunks.length && this.chunks[drop]!.base + this.chunks[drop]!.keys.length <= min) {
      this.budget.used -= this.chunks[drop]!.size;
      drop++;
    }
    if (drop > 0) this.chunks = this.chunks.slice(drop);
  }
}
