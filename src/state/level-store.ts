import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { levelWriteBufferMb } from '../config.js';
import { flushTrace, TraceCommit, traceNote, traceOp, tracing } from './write-trace.js';

/**
 * The home's log-structured store: one LevelDB database (`classic-level`) per home,
 * `<home>/state/level/`, for the sub-stores whose commits re-write keys scattered over the
 * history — where LMDB re-writes a B-tree page (and its large page-cache folio) per key and LevelDB
 * appends (bench/README.md "state-store", "Session 8 — log-structured store"). Same model as the
 * LMDB `StateStore`: typed sub-stores (a key prefix each), writes only inside `commit`, ONE
 * `batch(ops, { sync })` per commit — atomic through LevelDB's write-ahead log (a batch is one log
 * record, checksummed: replayed whole or dropped at the next open) and durable when its promise
 * resolves (`sync: true`: the log is fsynced first). Point reads are synchronous (`getSync`: the
 * memtables, the block cache, then the table files); range reads are async iterators.
 *
 * A step writes to ONE engine: a commit here never holds LMDB keys, and the reverse (a marker
 * moves with its data, in the same engine). LevelDB's LOCK allows ONE opener: the database is
 * opened once per process (counted; the last close closes it), and piscina workers never open it.
 */
export const levelDirOf = (home: string) => join(home, 'state', 'level');

/** LevelDB refused to open: another process holds its LOCK (a running `noemie run` on the same home). */
export function isLevelLocked(e: unknown): boolean {
  for (let c: unknown = e; c instanceof Error; c = (c as Error & { cause?: unknown }).cause) {
    if ((c as { code?: string }).code === 'LEVEL_LOCKED') return true;
  }
  return false;
}

const SEP = '\u001f';
/** a key above every key of the database (sub-store names are ASCII): its range holds none */
const FLUSH_ONLY = '\uffff';
const AFTER_SEP = '\u0020';

/**
 * LevelDB's memory, outside the JS heap (it counts in RSS): one 8 MiB LRU of decompressed blocks,
 * and a write buffer (memtable), two while one is being written out as a table file.
 * Larger memtables make fewer level-0 files (fewer compactions, fewer bytes re-written: a transient
 * key put and removed within one memtable never reaches a table file) and cost their size in RSS.
 * 8 MiB until session 9, 32 until session 14: `bench:reconcile` at 100 000 settlements re-wrote 68 MB
 * in compactions with 8 MiB, 34 with 16, 21 with 32 ("Session 9 — payments"); the whole run at
 * 300 k lines re-wrote 1 611 MB with 32 MiB and 1 120 MB with 64 (written per line 15.3 → 13.6 KB;
 * bench/README.md, "Session 14 — LevelDB's write buffer").
 * Kept at 64 in session 15 against the memory helper's 32: the memtable costs more than its size
 * (LevelDB allocates it in the thread that writes the batch — libuv's pool threads run
 * classic-level's batch writes, four of them until session 17, two since (bin/noemie.js) — and each thread's glibc malloc arena keeps what it gave a memtable
 * for that thread's next one: at 1 M lines with 64 MiB the pool threads' arenas held ≈ 200 MB), but
 * 32 MiB lowered the 100 k-line peak by ≈ 50 MB and NOT the 1 M-line peak (1 095 MB against 1 079
 * with 64, one run each of the same build), for +13 % bytes written at 300 k and +13 % at 1 M
 * (20 276 against 17 907 B a line; compactions 9.6 GB against 7.3) and +4 % CPU at 1 M
 * (bench/README.md, "Session 15 — memory" and "Session 15 — the whole run after the merges").
 * `NOEMIE_LEVEL_WRITE_BUFFER_MB` sets another (src/config.ts) where memory matters more than
 * bytes; the cost on a restart: the log of up to one memtable is replayed at open (≈ 1 s per
 * 32 MiB measured in session 9).
 */
export const LEVEL_CACHE_BYTES = 8 * 1024 * 1024;
export const LEVEL_WRITE_BUFFER_BYTES = 64 * 1024 * 1024;
/**
 * LevelDB's table block, the unit it compresses (snappy) and reads: 8 KiB since session 19
 * (LevelDB's default, 4 KiB, before). Larger blocks compress better, so every flush and compaction
 * writes less: the tables of a 100 k-line store were 55.4 MB with 4 KiB blocks, 50.1 with 8 (−10 %),
 * 46.7 with 16, 42.7 with 64; a point read that misses the block cache decompresses the larger
 * block: ≈ 10–12 µs CPU per uniformly random read at 4 KiB, 12 at 8, 18–19 at 16, 50 at 64. The run
 * reads far more than it compacts (every line's ledger, reconciliation and payment keys), and the
 * branch with 16 KiB blocks measured +4.6 and +6.9 % CPU in its two 300 k pairs: 8 KiB takes most
 * of the bytes without the read cost. Tables of any block size are read by any build.
 * bench/README.md, "Session 19 — writes" and the lead's section after it.
 */
export const LEVEL_BLOCK_BYTES = 8 * 1024;

export interface OpenLevelStoreOptions {
  /** false: a commit's batch is not fsynced (tests, benches without fsync); a killed process loses nothing, a power cut may lose the last batches whole. Default true. The first open in a process decides. */
  sync?: boolean;
}

type ChainedBatch = ReturnType<ClassicLevel<string, string>['batch']>;

/**
 * A sub-store's own value encoding, for values read often enough that JSON's text costs (the
 * member statements' lines: msgpack with fixed structures, src/pipeline/statement-line-codec.ts).
 * Values are stored as bytes; `decode` gets what the key holds, whatever wrote it — a JSON text
 * written before the sub-store had its codec included (the first byte tells them apart).
 */
export interface BinaryCodec<V> {
  encode(value: V): Uint8Array;
  decode(raw: Buffer): V;
}
export type LevelCodec<V> = 'text' | 'json' | BinaryCodec<V>;
/**
 * per-operation encoding of a binary sub-store's values (the database's default is utf8); the key
 * encoding named too: abstract-level's getSync copies the options of every read that leaves it out
 */
const AS_BUFFER = { keyEncoding: 'utf8', valueEncoding: 'buffer' } as const;

const OPEN = new Map<string, { opening: Promise<LevelStore>; users: number }>();

/** the write buffer the database is opened with: NOEMIE_LEVEL_WRITE_BUFFER_MB, else LEVEL_WRITE_BUFFER_BYTES */
function writeBufferBytes(): number {
  const mb = levelWriteBufferMb();
  return mb === undefined ? LEVEL_WRITE_BUFFER_BYTES : mb * 1024 * 1024;
}

export class LevelStore {
  /** the batch being built by `commit` (null: not writing) and the ops put in it */
  private batch: ChainedBatch | null = null;
  private ops = 0;
  /**
   * Read-your-writes inside a commit (a `get` in `write` sees the batch's own puts and removes).
   * Kept lazily: until the first `get` after a write in a commit, its writes are only pushed, key
   * then value (undefined: removed), on a flat array; that `get` folds them into a Map that later
   * writes update. A commit that never reads back (or reads only before it writes, as the
   * reconciliation's does) pays two pushes per op, no hashing.
   */
  private written: (string | Uint8Array | undefined)[] = [];
  private overlay: Map<string, string | Uint8Array | undefined> | null = null;
  /** `writesOnly()` was called in this commit: its later writes are not kept, a read throws */
  private blind = false;
  /** NOEMIE_STATE_TRACE: the commit being written (write-trace.ts) */
  trace: TraceCommit | null = null;
  /** commits run one after another: two batches on libuv's pool could otherwise land in either order */
  private last: Promise<unknown> = Promise.resolve();
  readonly stats = { commits: 0, puts: 0 };

  private constructor(
    readonly dir: string,
    private readonly db: ClassicLevel<string, string>,
    private readonly sync: boolean,
  ) {}

  /** Opens (or creates) the home's database; a second open in the process shares the first. */
  static open(home: string, options: OpenLevelStoreOptions = {}): Promise<LevelStore> {
    const dir = resolve(levelDirOf(home));
    const shared = OPEN.get(dir);
    if (shared) {
      shared.users += 1;
      return shared.opening;
    }
    const opening = (async () => {
      mkdirSync(dir, { recursive: true });
      const db = new ClassicLevel<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8', cacheSize: LEVEL_CACHE_BYTES, writeBufferSize: writeBufferBytes(), blockSize: LEVEL_BLOCK_BYTES });
      await db.open();
      return new LevelStore(dir, db, options.sync ?? true);
    })();
    const entry = { opening, users: 1 };
    OPEN.set(dir, entry);
    opening.catch(() => {
      if (OPEN.get(dir) === entry) OPEN.delete(dir);
    });
    return opening;
  }

  /** A typed sub-store: the keys under `name`; `text` sub-stores hold strings as they are, `json` ones JSON, a BinaryCodec its bytes. */
  sub<V>(name: string, codec: LevelCodec<V> = 'json'): LevelSubStore<V> {
    if (name.includes(SEP) || name.includes(AFTER_SEP)) throw new Error(`sub-store name ${JSON.stringify(name)} contains the separator`);
    if (name >= FLUSH_ONLY) throw new Error(`sub-store name ${JSON.stringify(name)} sorts after the close's flush key`);
    return new LevelSubStore<V>(this, this.db, name, codec);
  }

  /**
   * ONE batch holding every put and remove `write` makes (synchronously: decide first), written
   * after the commits asked for before it, durable (fsynced) when the promise resolves unless the
   * store was opened with `sync: false`. A `write` that throws writes nothing. A `get` inside
   * `write` sees the batch's own puts and removes (read-your-writes); scans do not (they are async).
   */
  commit(write: () => void): Promise<void> {
    return this.update(() => write);
  }

  /**
   * Read, decide, then commit as ONE exclusive step: `decide` runs after every commit and update
   * asked for before it has been written, may await (async scans: LevelDB's iterators), and no
   * other commit of the process starts until the write it returns is durable (null: nothing to
   * write). The same order LMDB's `StateStore.update` gives, for decisions that need range reads.
   * `decide` must not await a commit of this store itself (it would wait for its own step).
   */
  update(decide: () => (() => void) | null | Promise<(() => void) | null>): Promise<void> {
    const run = this.last.then(async () => {
      const write = await decide();
      if (write !== null) await this.writeBatch(write);
    });
    this.last = run.catch(() => undefined);
    return run;
  }

  private async writeBatch(write: () => void): Promise<void> {
    // A chained batch, filled by the sub-stores as they write: each op goes to the native batch
    // as it is made. The array form (`db.batch(ops)`) copies and re-checks every op in
    // abstract-level first — 3× the CPU per op (12 against 4 µs measured), most of the reconcile
    // service's store time.
    const batch = this.db.batch();
    this.batch = batch;
    this.ops = 0;
    this.trace = tracing ? new TraceCommit('level', this.dir) : null;
    let ops: number;
    try {
      write();
      ops = this.ops;
    } catch (e) {
      this.trace = null;
      await batch.close();
      throw e;
    } finally {
      this.batch = null;
      this.written = [];
      this.overlay = null;
      this.blind = false;
    }
    if (ops === 0) return batch.close();
    try {
      await batch.write({ sync: this.sync });
    } finally {
      this.trace?.end();
      this.trace = null;
    }
    this.stats.commits += 1;
    this.stats.puts += ops;
  }

  /**
   * Inside `commit`: the rest of this commit only writes. Its writes are no longer kept for
   * read-your-writes (a `get` after this throws): a commit of tens of thousands of writes (a
   * consumed batch, a slice of the payment run) kept every key and value alive on the JS heap until
   * the batch was written — the native batch holds its own copy —, so each young-generation GC in
   * between copied and promoted them (bench/README.md, "Session 14 — payments").
   */
  writesOnly(): void {
    if (this.batch === null) throw new Error('level store: writesOnly() outside commit()');
    this.blind = true;
    this.written = [];
    this.overlay = null;
  }

  /** @internal the sub-stores' writes: into the batch being built, or refused outside `commit` (bytes: a binary sub-store's) */
  put(key: string, value: string | Uint8Array, name: string): void {
    if (typeof value === 'string') this.writing('put', key, name).put(key, value);
    else this.writing('put', key, name).put(key, value as unknown as string, AS_BUFFER);
    if (tracing) traceOp('level', this.dir, name, key, value);
    if (this.blind) return;
    if (this.overlay !== null) this.overlay.set(key, value);
    else this.written.push(key, value);
  }

  /** @internal */
  del(key: string, name: string): void {
    this.writing('del', key, name).del(key);
    if (tracing) traceOp('level', this.dir, name, key, null);
    if (this.blind) return;
    if (this.overlay !== null) this.overlay.set(key, undefined);
    else this.written.push(key, undefined);
  }

  /**
   * @internal a point read: inside `commit`, the batch's own last write of the key first (a
   * removed key reads as absent), else the database (every earlier commit of the process).
   * `bytes`: a binary sub-store's key, read as a Buffer (its own writes are bytes too).
   */
  read(key: string, bytes = false): string | Buffer | undefined {
    if (this.blind) throw new Error(`level store: read of ${key} after writesOnly() in the same commit`);
    // nothing written yet (a commit that reads first, as the reconciliation's does): no Map to make
    if (this.batch !== null && (this.overlay !== null || this.written.length > 0)) {
      if (this.overlay === null) {
        const overlay = new Map<string, string | Uint8Array | undefined>();
        const w = this.written;
        for (let i = 0; i < w.length; i += 2) overlay.set(w[i] as string, w[i + 1]);
        this.overlay = overlay;
        this.written = [];
      }
      if (this.overlay.has(key)) {
        const own = this.overlay.get(key);
        return own instanceof Uint8Array ? Buffer.from(own.buffer, own.byteOffset, own.byteLength) : own;
      }
    }
    return bytes ? (this.db.getSync(key, AS_BUFFER) as unknown as Buffer | undefined) : this.db.getSync(key);
  }

  private writing(op: string, key: string, name: string): ChainedBatch {
    if (this.batch === null) throw new Error(`level store: ${op} ${name}/${key} outside commit()`);
    this.trace?.touch(name);
    this.ops += 1;
    return this.batch;
  }

  /**
   * Removes every key of a range, in LevelDB's own batches, not fsynced: NOT one atomic step, nor
   * durable by itself. Callers make it safe by order — remove what says the range is valid (a
   * marker) in a durable `commit` first, so a crash in the middle leaves a range that is cleared again.
   */
  clearRange(gte: string, lt: string): Promise<void> {
    const run = this.last.then(() => this.db.clear({ gte, lt }));
    this.last = run.catch(() => undefined);
    return run;
  }

  /** One user done; the database is closed when the last one is (a close per open). */
  async close(): Promise<void> {
    const shared = OPEN.get(this.dir);
    if (!shared) return;
    shared.users -= 1;
    if (shared.users > 0) return;
    OPEN.delete(this.dir);
    await this.last;
    // LevelDB's own account of its compactions (bytes read and written per level): they run in its
    // background thread, between commits, so the trace's per-commit bytes do not hold them.
    if (tracing) traceNote('level', this.dir, { compactions: this.db.getProperty('leveldb.stats') });
    // The memtable written out as a table now, from memory: otherwise the next open replays the
    // whole log (up to one write buffer, 64 MiB) into a new memtable and writes that same table
    // before the process can read — 0.6 s of a restart with nothing new after a 20 000-line run
    // (bench/README.md "Session 24 — restart"). LevelDB flushes the memtable before a manual
    // compaction; this range holds no key (every key starts with an ASCII sub-store name), so
    // nothing else is compacted. A kill skips it: the log is replayed at the next open, as before.
    try {
      await this.db.compactRange(FLUSH_ONLY, FLUSH_ONLY);
    } finally {
      await this.db.close();
    }
    flushTrace('level', this.dir);
  }
}

export class LevelSubStore<V> {
  private readonly prefix: string;

  constructor(
    private readonly store: LevelStore,
    private readonly db: ClassicLevel<string, string>,
    readonly name: string,
    private readonly codec: LevelCodec<V>,
  ) {
    this.prefix = `${name}${SEP}`;
    this.binary = typeof codec === 'object';
  }

  /** the values are bytes (a BinaryCodec): read as Buffers */
  private readonly binary: boolean;

  /** A synchronous point read (LevelDB's memtables, block cache, then files); inside `commit`, the batch's own writes first. */
  get(key: string): V | undefined {
    const raw = this.store.read(this.prefix + key, this.binary);
    if (raw === undefined) return undefined;
    return this.decode(raw);
  }

  /**
   * Point reads of many keys at once (`getMany`: LevelDB's reads made on libuv's thread pool, one
   * round trip, where `get` reads on the calling thread, one native call per key), in the order
   * given: for a slice of keys read before a batch (the payment run's slices), or reads outside a
   * commit (the member statements' payment facts) — it does NOT see the batch being built (use it
   * in `update`'s decide, before the write). undefined: absent.
   */
  async getMany(keys: readonly string[]): Promise<(V | undefined)[]> {
    if (keys.length === 0) return [];
    const prefixed = new Array<string>(keys.length);
    for (let i = 0; i < keys.length; i++) prefixed[i] = this.prefix + keys[i]!;
    const raw = (await (this.binary ? this.db.getMany(prefixed, AS_BUFFER) : this.db.getMany(prefixed))) as (string | Buffer | undefined)[];
    const out = new Array<V | undefined>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      out[i] = r === undefined ? undefined : this.decode(r);
    }
    return out;
  }

  /** Inside `commit` only. */
  put(key: string, value: V): void {
    const codec = this.codec;
    this.store.put(this.prefix + key, codec === 'text' ? (value as string) : codec === 'json' ? JSON.stringify(value) : codec.encode(value), this.name);
  }

  /** Inside `commit` only. */
  remove(key: string): void {
    this.store.del(this.prefix + key, this.name);
  }

  /** The keys starting with `keyPrefix` (all of the sub-store's by default), in key order: an async scan. */
  async *keys(keyPrefix = ''): AsyncGenerator<string> {
    for await (const key of this.db.keys(this.range(keyPrefix))) yield key.slice(this.prefix.length);
  }

  async *entries(keyPrefix = ''): AsyncGenerator<[string, V]> {
    for await (const [key, raw] of this.db.iterator<string, string | Buffer>(this.range(keyPrefix))) yield [key.slice(this.prefix.length), this.decode(raw)];
  }

  /**
   * The entries under `keyPrefix`, in key order, read in one go (the iterator's `all()`: entries
   * come from the native side in batches, without a promise per entry — for `entries`, 12 µs per
   * entry; the member statements' family reads, bench/README.md "Session 10 — statements"). For a
   * bounded range (one family's lines): the whole range is held in memory.
   */
  async entriesIn(keyPrefix = ''): Promise<[string, V][]> {
    const raw = await this.db.iterator<string, string | Buffer>(this.range(keyPrefix)).all();
    const out: [string, V][] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const [key, value] = raw[i]!;
      out[i] = [key.slice(this.prefix.length), this.decode(value)];
    }
    return out;
  }

  /**
   * `entriesIn` without the decode: the values as stored (a binary sub-store's bytes, another's
   * text), for a reader that hands them to another thread to decode (the member statements' lines,
   * statement-render-messages.ts).
   */
  async rawEntriesIn(keyPrefix = ''): Promise<[string, Buffer | string][]> {
    const raw = await this.db.iterator<string, string | Buffer>(this.range(keyPrefix)).all();
    for (const entry of raw) entry[0] = entry[0].slice(this.prefix.length);
    return raw;
  }

  /** Whether the key is there (a point read; inside `commit`, the batch's own writes first). */
  has(key: string): boolean {
    return this.store.read(this.prefix + key) !== undefined;
  }

  /**
   * Up to `limit` entries under `keyPrefix` whose key is after `after` (from the first when null),
   * in key order, read in one go: a slice of a long walk, resumed from its last key (the LMDB
   * sub-store's `entriesAfter`; async, as every LevelDB range read). Not the batch being built.
   */
  async entriesAfter(after: string | null, limit: number, keyPrefix = ''): Promise<[string, V][]> {
    const raw = await this.db.iterator({ ...this.rangeAfter(after, keyPrefix), limit }).all();
    const out: [string, V][] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const [key, value] = raw[i]!;
      out[i] = [key.slice(this.prefix.length), this.decode(value)];
    }
    return out;
  }

  /**
   * The entries from `from` on (a key of this sub-store; from the first when null), in key order,
   * `chunk` at a time through ONE iterator (`nextv`): a long walk read in a few round trips to
   * LevelDB's thread, where a range read per group (one iterator, one async `nextv` each) costs a
   * round trip per group — the payment run's per-payee reads of its movements (payment-run-stream.ts).
   * The iterator reads a snapshot taken when the walk starts; it is closed when the walk ends or
   * its consumer stops (`return`).
   */
  async *walk(from: string | null = null, chunk = 1024): AsyncGenerator<[string, V][]> {
    const range = this.range('');
    const it = this.db.iterator<string, string | Buffer>(from === null ? range : { ...range, gte: this.prefix + from });
    try {
      for (;;) {
        const raw = await it.nextv(chunk);
        if (raw.length === 0) return;
        const out: [string, V][] = new Array(raw.length);
        for (let i = 0; i < raw.length; i++) {
          const [key, value] = raw[i]!;
          out[i] = [key.slice(this.prefix.length), this.decode(value)];
        }
        yield out;
      }
    } finally {
      await it.close();
    }
  }

  /** Up to `limit` keys under `keyPrefix` after `after` (from the first when null), in key order; values not read. */
  async keysAfter(after: string | null, limit: number, keyPrefix = ''): Promise<string[]> {
    const raw = await this.db.keys({ ...this.rangeAfter(after, keyPrefix), limit }).all();
    return raw.map((key) => key.slice(this.prefix.length));
  }

  /** Removes the keys under `keyPrefix` (all by default): several batches, NOT atomic (LevelStore.clearRange). */
  clear(keyPrefix = ''): Promise<void> {
    const { gte, lt } = this.range(keyPrefix);
    return this.store.clearRange(gte, lt);
  }

  private decode(raw: string | Buffer): V {
    const codec = this.codec;
    if (codec === 'text') return raw as V;
    if (codec === 'json') return JSON.parse(raw as string) as V;
    return codec.decode(raw as Buffer);
  }

  private rangeAfter(after: string | null, keyPrefix: string): { gte: string; lt: string; keyEncoding?: 'utf8'; valueEncoding?: 'buffer' } | { gt: string; lt: string; keyEncoding?: 'utf8'; valueEncoding?: 'buffer' } {
    const range = this.range(keyPrefix);
    if (after === null) return range;
    const { gte: _from, ...rest } = range;
    return { ...rest, gt: this.prefix + after };
  }

  private range(keyPrefix: string): { gte: string; lt: string; keyEncoding?: 'utf8'; valueEncoding?: 'buffer' } {
    const gte = this.prefix + keyPrefix;
    const lt = keyPrefix === '' ? `${this.name}${AFTER_SEP}` : `${gte}\uffff`;
    return this.binary ? { gte, lt, ...AS_BUFFER } : { gte, lt };
  }
}
