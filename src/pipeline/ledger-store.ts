import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PipelineStageError } from './errors.js';
import { decodeSnapshot, encodeSnapshot, type Family } from './ledgers.js';

/**
 * The liquidation service's local state store (Kafka Streams' "state store" idea): family ledgers
 * on disk, one small JSON file per adhérent, with an LRU of at most `cacheSize` ledgers in memory.
 * Memory is bounded by the cache (plus the families of the batch in flight), not by the portfolio.
 * `counters-changelog` stays the durable source of truth; this store is a rebuildable copy of it
 * (ledger-restore.ts keeps it current and says up to which changelog offsets it is).
 *
 * Why one file per family rather than one append-only file: no in-memory index (an index grows
 * with the portfolio), no compaction to write, and temp + fdatasync + rename makes each write
 * atomic and durable on its own. Files sit in 256 sub-folders named by a hash of the key, so a
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
  /** fdatasync every file before its rename (default true; benches may turn it off like the bus) */
  fsync?: boolean;
}

export const DEFAULT_LEDGER_CACHE = 2_000;
const PARALLEL_WRITES = 64;

export class LedgerStore {
  private readonly cache = new Map<string, Family>();
  readonly cacheSize: number;
  /** files read and written since open (the test and the bench watch the cache work) */
  readonly stats = { reads: 0, writes: 0, hits: 0 };

  private constructor(
    readonly dir: string,
    private readonly temporary: boolean,
    cacheSize: number,
    private readonly fsync: boolean,
  ) {
    this.cacheSize = Math.max(1, cacheSize);
  }

  static async open(o: LedgerStoreOptions = {}): Promise<LedgerStore> {
    const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'noemie-ledgers-')));
    await mkdir(dir, { recursive: true });
    return new LedgerStore(dir, o.dir === undefined, o.cacheSize ?? DEFAULT_LEDGER_CACHE, o.fsync ?? true);
  }

  async get(adherentId: string): Promise<Family | undefined> {
    const cached = this.cache.get(adherentId);
    if (cached) {
      this.stats.hits += 1;
      this.remember(adherentId, cached);
      return cached;
    }
    const path = this.pathOf(adherentId);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    this.stats.reads += 1;
    const family = this.decode(text, path, adherentId);
    this.remember(adherentId, family);
    return family;
  }

  /** The ledgers of the given families (absent ones are left out), read in parallel. */
  async getMany(ids: Iterable<string>): Promise<Map<string, Family>> {
    const out = new Map<string, Family>();
    await inChunks([...new Set(ids)], async (id) => {
      const f = await this.get(id);
      if (f) out.set(id, f);
    });
    return out;
  }

  async set(adherentId: string, family: Family): Promise<void> {
    await this.write(adherentId, encodeSnapshot(adherentId, family).value.value!);
    this.remember(adherentId, family);
  }

  async setMany(entries: Iterable<readonly [string, Family]>): Promise<void> {
    await inChunks([...entries], ([id, f]) => this.set(id, f));
  }

  /**
   * Writes a changelog value (already checked by `decodeSnapshot`) to disk without caching it
   * (bulk restore: the cache keeps what the service uses); null deletes.
   */
  async put(adherentId: string, snapshot: string | null): Promise<void> {
    this.cache.delete(adherentId);
    if (snapshot === null) await rm(this.pathOf(adherentId), { force: true });
    else await this.write(adherentId, snapshot);
  }

  async putMany(entries: Iterable<readonly [string, string | null]>): Promise<void> {
    await inChunks([...entries], ([id, text]) => this.put(id, text));
  }

  /** Drops every ledger, on disk and in memory (a store that cannot be trusted is rebuilt). */
  async clear(): Promise<void> {
    this.cache.clear();
    await rm(this.dir, { recursive: true, force: true });
    await mkdir(this.dir, { recursive: true });
  }

  get cached(): number {
    return this.cache.size;
  }

  async close(): Promise<void> {
    this.cache.clear();
    if (this.temporary) await rm(this.dir, { recursive: true, force: true });
  }

  private remember(id: string, family: Family): void {
    // A Map iterates in insertion order: re-inserting moves the key to the young end.
    this.cache.delete(id);
    this.cache.set(id, family);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
  }

  private async write(adherentId: string, snapshot: string): Promise<void> {
    const path = this.pathOf(adherentId);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      // The key on the first line, then the changelog value as is (schemas/topics/ledger-snapshot.schema.json).
      await fh.writeFile(`${JSON.stringify(adherentId)}\n${snapshot}`);
      if (this.fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    this.stats.writes += 1;
  }

  private decode(text: string, path: string, adherentId: string): Family {
    const nl = text.indexOf('\n');
    let key: unknown;
    try {
      key = nl < 0 ? undefined : JSON.parse(text.slice(0, nl));
    } catch {
      key = undefined;
    }
    if (key !== adherentId) {
      throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${path}: local ledger file does not hold the ledger of ${adherentId} (delete ${this.dir} to rebuild it from counters-changelog)`, { file: path });
    }
    try {
      return decodeSnapshot(text.slice(nl + 1), { partition: -1, offset: -1 });
    } catch (cause) {
      throw new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${path}: local ledger file is not a ledger snapshot (delete ${this.dir} to rebuild it): ${(cause as Error).message}`, { file: path }, { cause });
    }
  }

  private pathOf(adherentId: string): string {
    const h = createHash('sha256').update(adherentId).digest('hex');
    return join(this.dir, h.slice(0, 2), `${h.slice(2, 40)}.json`);
  }
}

/** Runs `fn` over `items`, PARALLEL_WRITES at a time: the file system sees bounded concurrency. */
async function inChunks<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL_WRITES) await Promise.all(items.slice(i, i + PARALLEL_WRITES).map(fn));
}
