import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PipelineStageError } from './errors.js';
import { assemble, bucketKey, decodeSnapshot, encodeFamily, type BucketPiece, type Family, type HeadPiece, type LedgerPiece } from './ledgers.js';
import { scratchDir } from './scratch.js';

/**
 * The liquidation service's local state store (Kafka Streams' "state store" idea): family ledgers
 * on disk as the changelog's pieces (ledgers.ts: a head per adhérent, a file per line bucket), one
 * small JSON file per piece key, with LRUs of at most `cacheSize` heads and 16 × `cacheSize`
 * buckets in memory, and at most `cacheBytes` of piece text in all; a batch loads the head and
 * only the buckets its lines fall in. The byte bound is the one that holds as families age: a
 * bucket grows with its family's history, so a count alone lets the cache grow with the years
 * (measured: +105 MB of live heap over a 1 M-line drop with the count bound only).
 * Memory is bounded by the cache (plus the families of the batch in flight), not by the portfolio.
 * `counters-changelog` stays the durable source of truth; this store is a rebuildable copy of it
 * (ledger-restore.ts keeps it current and says up to which changelog offsets it is).
 *
 * Why one file per family rather than one append-only file: no in-memory index (an index grows
 * with the portfolio), no compaction to write, and temp + fdatasync + rename makes each write
 * atomic on its own; durability is batched: `flush` fdatasyncs the files written since the last one
 * before the marker moves (ledger-restore.ts). Files sit in 256 sub-folders named by a hash of the key, so a
 * folder holds a few hundred files at a million families, and a key never becomes a path.
 *
 * Write-through: `set` writes the file before it returns and then caches, so eviction never writes
 * and a crash leaves no dirty entry behind.
 */
export interface LedgerStoreOptions {
  /** where the files live; default: a temporary folder removed by `close` (a spill, rebuilt at each start) */
  dir?: string;
  /** most ledgers held in memory (default 2 000) */
  cacheSize?: number;
  /** most bytes of piece text (the changelog value) held in memory, heads and buckets together (default 32 MiB) */
  cacheBytes?: number;
  /** make the files durable at each `flush` (checkpoint) (default true; benches may turn it off like the bus) */
  fsync?: boolean;
}

export const DEFAULT_LEDGER_CACHE = 2_000;
export const DEFAULT_LEDGER_CACHE_BYTES = 32 * 1024 * 1024;
const PARALLEL_WRITES = 64;

/** Which buckets of a family to load: the ones a batch's lines fall in, or all the head names. */
export type BucketChoice = Iterable<string> | 'all';

export class LedgerStore {
  // Two LRUs of parsed pieces: heads (one per family) and buckets (up to 16 per family). A hit
  // costs nothing: pieces are checked with zod when read from disk (or the changelog), not again.
  private readonly heads = new Map<string, HeadPiece>();
  private readonly buckets = new Map<string, BucketPiece>();
  /** text length of each cached piece, and their sum: the byte bound */
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  readonly cacheSize: number;
  /** files read and written since open (the test and the bench watch the cache work) */
  readonly stats = { reads: 0, writes: 0, hits: 0 };
  /** files written since the last flush, not yet fdatasync'ed (at most the pieces of CHECKPOINT_BATCHES batches) */
  private readonly dirty = new Set<string>();

  private constructor(
    readonly dir: string,
    private readonly temporary: boolean,
    cacheSize: number,
    readonly cacheBytes: number,
    private readonly fsync: boolean,
  ) {
    this.cacheSize = Math.max(1, cacheSize);
  }

  static async open(o: LedgerStoreOptions = {}): Promise<LedgerStore> {
    // Without a folder (tests, bench) a per-process scratch one: family ledgers name people (counter
    // keys carry the NIR), so a killed process's folder is removed by the next one (scratch.ts).
    const dir = o.dir ?? (await scratchDir('noemie-ledgers-'));
    await mkdir(dir, { recursive: true });
    return new LedgerStore(dir, o.dir === undefined, o.cacheSize ?? DEFAULT_LEDGER_CACHE, o.cacheBytes ?? DEFAULT_LEDGER_CACHE_BYTES, o.fsync ?? true);
  }

  /** A family's ledger with the chosen buckets (a bucket the head does not name is empty, not read). */
  async get(adherentId: string, which: BucketChoice = 'all'): Promise<Family | undefined> {
    const head = await this.piece(adherentId);
    if (head === undefined) return undefined;
    if (head.piece !== 'head') throw this.bad(adherentId, 'holds a bucket where a head was expected');
    const wanted = which === 'all' ? Object.keys(head.buckets) : [...new Set(which)].filter((b) => Object.hasOwn(head.buckets, b));
    const found = new Map<string, BucketPiece>();
    await Promise.all(
      wanted.map(async (b) => {
        const piece = await this.piece(bucketKey(adherentId, b));
        if (piece === undefined || piece.piece !== 'bucket') throw this.bad(bucketKey(adherentId, b), 'is missing or not a bucket, though its head names it');
        found.set(b, piece);
      }),
    );
    return assemble(adherentId, head, found);
  }

  /** The ledgers of the given families (absent ones are left out), read in parallel. */
  async getMany(ids: Iterable<string>, which: (id: string) => BucketChoice = () => 'all'): Promise<Map<string, Family>> {
    const out = new Map<string, Family>();
    await inChunks([...new Set(ids)], async (id) => {
      const f = await this.get(id, which(id));
      if (f) out.set(id, f);
    });
    return out;
  }

  /** Writes pieces (already encoded: the changelog's value text) to disk, then caches them. */
  async setPieces(pieces: Iterable<readonly [string, LedgerPiece, string]>): Promise<void> {
    await inChunks([...pieces], async ([key, piece, text]) => {
      await this.write(key, text);
      this.remember(key, piece, text.length);
    });
  }

  /** Writes a whole family as one change (tests, tools). */
  async set(adherentId: string, family: Family): Promise<void> {
    await this.setPieces(encodeFamily(adherentId, family).map((m) => [m.key!, decodeSnapshot(m.value.value!, { partition: -1, offset: -1 }), m.value.value!] as const));
  }

  /**
   * Writes a changelog value (already checked by `decodeSnapshot`) to disk without caching it
   * (bulk restore: the cache keeps what the service uses); null deletes.
   */
  async put(key: string, snapshot: string | null): Promise<void> {
    this.forget(key);
    if (snapshot === null) await rm(this.pathOf(key), { force: true });
    else await this.write(key, snapshot);
  }

  async putMany(entries: Iterable<readonly [string, string | null]>): Promise<void> {
    await inChunks([...entries], ([id, text]) => this.put(id, text));
  }

  /**
   * Makes every file written since the last flush durable (fdatasync, once per file however often
   * it was rewritten). Called before the marker moves: the marker never names entries whose files
   * could be lost by a power cut. Between flushes a power cut may lose or truncate recent files;
   * they are all past the marker, so the next start rewrites them from the changelog tail.
   */
  async flush(): Promise<void> {
    const paths = [...this.dirty];
    this.dirty.clear();
    if (!this.fsync) return;
    await inChunks(paths, async (path) => {
      let fh;
      try {
        fh = await open(path, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // deleted since (put null, clear)
        throw e;
      }
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    });
  }

  /** Drops every ledger, on disk and in memory (a store that cannot be trusted is rebuilt). */
  async clear(): Promise<void> {
    this.heads.clear();
    this.buckets.clear();
    this.sizes.clear();
    this.bytes = 0;
    this.dirty.clear();
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  /** family heads in memory (at most cacheSize; buckets: at most 16 × cacheSize) */
  get cached(): number {
    return this.heads.size;
  }

  get cachedBuckets(): number {
    return this.buckets.size;
  }

  /** bytes of piece text in memory (at most cacheBytes, unless one piece alone is larger) */
  get cachedBytes(): number {
    return this.bytes;
  }

  async close(): Promise<void> {
    this.heads.clear();
    this.buckets.clear();
    this.sizes.clear();
    this.bytes = 0;
    if (this.temporary) await rm(this.dir, { recursive: true, force: true });
  }

  private async piece(key: string): Promise<LedgerPiece | undefined> {
    const cached = this.heads.get(key) ?? this.buckets.get(key);
    if (cached) {
      this.stats.hits += 1;
      this.remember(key, cached, this.sizes.get(key) ?? 0);
      return cached;
    }
    const path = this.pathOf(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    this.stats.reads += 1;
    const piece = this.decode(text, path, key);
    this.remember(key, piece, text.length - text.indexOf('\n') - 1);
    return piece;
  }

  private remember(key: string, piece: LedgerPiece, size: number): void {
    // A Map iterates in insertion order: re-inserting moves the key to the young end.
    this.forget(key);
    const [cache, bound] = piece.piece === 'head' ? [this.heads, this.cacheSize] : [this.buckets, this.cacheSize * 16];
    (cache as Map<string, LedgerPiece>).set(key, piece);
    this.sizes.set(key, size);
    this.bytes += size;
    while (cache.size > bound) this.forget(cache.keys().next().value!);
    // Over the byte bound, the oldest buckets go first (a head is small and needed by every batch
    // of its family), then the oldest heads; the piece just remembered stays.
    while (this.bytes > this.cacheBytes) {
      const oldest = oldestOtherThan(this.buckets, key) ?? oldestOtherThan(this.heads, key);
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    this.heads.delete(key);
    this.buckets.delete(key);
    this.bytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }

  private bad(key: string, why: string): PipelineStageError {
    const path = this.pathOf(key);
    return new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${path}: local ledger file of ${key} ${why} (delete ${this.dir} to rebuild it from counters-changelog)`, { file: path });
  }

  private async write(key: string, snapshot: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      // The key on the first line, then the changelog value as is (schemas/topics/ledger-snapshot.schema.json).
      // Not fdatasync'ed here: once per file at the next flush (a piece is rewritten many times
      // between checkpoints; a file per write fsync'ed made the store the bottleneck).
      await fh.writeFile(`${JSON.stringify(key)}\n${snapshot}`);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    this.dirty.add(path);
    this.stats.writes += 1;
  }

  private decode(text: string, path: string, key: string): LedgerPiece {
    const nl = text.indexOf('\n');
    let stored: unknown;
    try {
      stored = nl < 0 ? undefined : JSON.parse(text.slice(0, nl));
    } catch {
      stored = undefined;
    }
    if (stored !== key) {
      throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${path}: local ledger file does not hold the ledger piece ${key} (delete ${this.dir} to rebuild it from counters-changelog)`, { file: path });
    }
    try {
      return decodeSnapshot(text.slice(nl + 1), { partition: -1, offset: -1 });
    } catch (cause) {
      throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${path}: local ledger file is not a ledger piece (delete ${this.dir} to rebuild it): ${(cause as Error).message}`, { file: path }, { cause });
    }
  }

  private pathOf(key: string): string {
    const h = createHash('sha256').update(key).digest('hex');
    return join(this.dir, h.slice(0, 2), `${h.slice(2, 40)}.json`);
  }
}

/** The least recently used key of an LRU map, skipping `key` (the young end, unless it is alone). */
function oldestOtherThan(cache: ReadonlyMap<string, unknown>, key: string): string | undefined {
  for (const k of cache.keys()) if (k !== key) return k;
  return undefined;
}

/** Runs `fn` over `items`, PARALLEL_WRITES at a time: the file system sees bounded concurrency. */
async function inChunks<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL_WRITES) await Promise.all(items.slice(i, i + PARALLEL_WRITES).map(fn));
}
