import { BusError } from '../errors.js';
import type { AppendEntry, StoredRecord } from './partition-log.js';

/**
 * The newest records of one partition, kept in memory for the subscriptions of this process.
 *
 * Every record the embedded bus appends was, a moment before, a JSON string in this process
 * (codec.ts `prepare`); a subscription of the same process that keeps up with the partition used to
 * read it back from the log file and JSON.parse the whole stored line (envelope included) — the
 * main thread's largest bus cost after GC (bench/README.md, "Session 11 — bus"). The tail keeps the
 * appended entries (key, wire headers, the value's JSON as given: text or its bytes) of the partitions a subscription follows,
 * and `PartitionLog.read` serves a range from it when it holds the range's first offset.
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

/** One append call's entries (offsets base, base + 1, …), all with the append's timestamp. */
interface Chunk {
  base: number;
  t: number;
  entries: readonly AppendEntry[];
  bytes: number;
}

/**
 * Bytes an entry holds: its strings (one byte per character for the Latin-1 text of our messages),
 * plus what the objects around them cost (a rough, fixed figure: the budget is a bound, not an account).
 */
const ENTRY_OVERHEAD = 96;
const entryBytes = (e: AppendEntry) => e.value.length + e.key.length + ENTRY_OVERHEAD;

/**
 * A value's JSON as the producer gave it: a string, or its UTF-8 bytes (the ingest sink's spooled
 * lines, OutgoingText). Keeping each append's written bytes instead (off the JS heap, no string
 * kept) was tried: no CPU gained per record (parsing from bytes ≈ +0.4 µs), and the same budget
 * held ≈ 12 % fewer records (the envelopes are in the bytes) — bench/README.md "Session 13 — bus".
 */
const textOf = (value: string | Uint8Array): string => (typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));

export interface TailStats {
  /** records served from memory, and read ranges the tail did not hold (read from the file) */
  served: number;
  missed: number;
  /** appends kept, and appends not kept (budget spent, or behind a gap left by one not kept) */
  kept: number;
  refused: number;
}

export class PartitionTail {
  /** contiguous: chunks[i + 1].base = chunks[i].base + chunks[i].entries.length */
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
    return last ? last.base + last.entries.length : 0;
  }

  get bytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.bytes;
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

  /** Called by PartitionLog once an append is durable and `end` has moved past it. */
  appended(base: number, t: number, entries: readonly AppendEntry[]): void {
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
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e);
    if (this.budget.used + bytes > this.budget.limit) {
      this.stats.refused += 1;
      return;
    }
    this.budget.used += bytes;
    this.chunks.push({ base, t, entries, bytes });
    this.stats.kept += 1;
  }

  /**
   * Records [from, …) from memory, at most `maxRecords` and about `maxBytes` of values (at least
   * one), none past what the tail holds; null when the tail does not hold `from` (read the file).
   */
  read(from: number, maxRecords: number, maxBytes: number, rawFrom = Infinity): StoredRecord[] | null {
    const chunks = this.chunks;
    if (chunks.length === 0 || from < this.start || from >= this.end) {
      this.stats.missed += 1;
      return null;
    }
    let c = 0;
    while (chunks[c]!.base + chunks[c]!.entries.length <= from) c++;
    const out: StoredRecord[] = [];
    let bytes = 0;
    for (let i = from - chunks[c]!.base; c < chunks.length && out.length < maxRecords; c++, i = 0) {
      const { base, t, entries } = chunks[c]!;
      for (; i < entries.length && out.length < maxRecords; i++) {
        const e = entries[i]!;
        if (out.length > 0 && bytes + e.value.length > maxBytes) return this.served(out);
        bytes += e.value.length;
        const o = base + i;
        // Raw (a consumer's `raw` option): the value's JSON as the producer gave it, not parsed.
        out.push(o >= rawFrom ? { o, t, k: e.key, h: e.headers, v: undefined, j: e.value } : { o, t, k: e.key, h: e.headers, v: this.parse(e.value, o) });
      }
    }
    return this.served(out);
  }

  /** Lets go of everything (the log closes). */
  clear(): void {
    for (const c of this.chunks) this.budget.used -= c.bytes;
    this.chunks = [];
  }

  private parse(json: string | Uint8Array, offset: number): unknown {
    try {
      return JSON.parse(textOf(json));
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
    while (drop < this.chunks.length && this.chunks[drop]!.base + this.chunks[drop]!.entries.length <= min) {
      this.budget.used -= this.chunks[drop]!.bytes;
      drop++;
    }
    if (drop > 0) this.chunks = this.chunks.slice(drop);
  }
}
