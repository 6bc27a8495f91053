import { rm } from 'node:fs/promises';
import { compositeKey, StateStore } from '../state/kv-store.js';
import { LevelStore, type LevelSubStore } from '../state/level-store.js';
import { PipelineStageError } from './errors.js';
import { partitionFor } from '../bus/topics.js';
import { assemble, encodeFamilyPieces, familyOfKey, lineKeyOfPiece, lineOfKey, recordUnder, type Family, type HeadPiece, type LedgerPiece, type LinePiece } from './ledgers.js';
import type { LineRecord } from '../engine/index.js';
import type { Settlement } from '../model/settlement.js';
import { scratchDir } from './scratch.js';
import { textOfBytes } from './task-bytes.js';
import { isLineTuple, linePieceOfTuple } from './line-piece.js';

/**
 * The liquidation service's local state store (Kafka Streams' "state store" idea): family ledgers
 * as the changelog's pieces (ledgers.ts: a head per adhérent, one entry per line record) in the
 * home's log-structured store (src/state/level-store.ts, `<home>/state/level/`, LevelDB):
 *
 *   ledger.piece/<bus>␟<piece key>   the changelog value text of the piece (`A`, `A#<lineKey>`): a head's
 *                                    object, a line's tuple (line-piece.ts; earlier builds: its object)
 *   ledger.marker/<bus>              { v: 5, bus, next: { changelog partition: first offset NOT in the store } }
 *   ledger.suspect/<bus>␟<piece key> a line piece read from the changelog above its head's write
 *                                    number: maybe a left-over of an unfinished write, to settle
 *                                    (ledger-restore.ts `healLedgers`)
 *
 * Every commit is ONE transaction holding the pieces AND the marker that says up to which
 * changelog offset they are (`write`; the service stages a few batches' pieces and commits them
 * together, `stage` / `flush`): the marker can never name a piece the store lacks, nor the store
 * hold a piece past the marker, whatever the crash (src/pipeline/README.md "State store").
 * `<bus>` (embedded, kafka-<prefix>) keeps Kafka namespaces apart in one home.

Why LevelDB and not the home's LMDB store (where the ledgers were until session 9, marker v4): a
commit puts line records of families scattered over the whole history (keys family first), and an
LMDB commit rewrites the B-tree page of every key it puts (and its page-cache folio): at 100 k
lines 3 commits wrote 215 MB, and each commit rewrites more as the store grows (4 KB per line at
300 k). LevelDB appends the batch to its log and sorts it into table files in the background
(bench/README.md "Session 9 — service"). The LMDB keys of an earlier home (`ledger.*`) are
removed at open; the marker v5 is new, so such a home rebuilds its ledgers from the changelog.
 *
 * An LRU keeps at most `cacheSize` heads AS TEXT (with the few fields this thread reads: write
 * number, watermarks, outbox), 16 × `cacheSize` parsed line records, and `cacheBytes` of piece text
 * in all. A batch of lines hands each family's head text to the worker, which parses it
 * (`getBatch`): this thread never parses, nor clones, a family's counters per batch. A miss is a
 * memory-mapped point read. Values are our own writes, parsed without zod (checked once, when read
 * from the changelog).
 * `counters-changelog` stays the durable source of truth; this store is a rebuildable copy of it.
 */
export interface LedgerStoreOptions {
  /** the home whose state store holds the ledgers; default: a scratch store removed by `close` (rebuilt at each start) */
  home?: string;
  /** which bus the ledgers mirror (embedded, kafka-<prefix>): one namespace per bus in a home (default `embedded`) */
  namespace?: string;
  /** most ledgers held parsed in memory (default 2 000) */
  cacheSize?: number;
  /** most bytes of piece text (the changelog value) held parsed in memory, heads and line records together (default 16 MiB) */
  cacheBytes?: number;
  /**
   * false: the store's commits are not fsynced (tests, benches without fsync: a killed process
   * loses nothing, a power cut may). Default true: one fsynced LevelDB batch per commit. A home's
   * database is opened once per process, shared with the other stages: the first open decides
   * (src/state/README.md).
   */
  fsync?: boolean;
}

export const DEFAULT_LEDGER_CACHE = 50_000;
/** the text bound (NOEMIE_LEDGER_CACHE_MB's default, src/config.ts: why 16) */
export const DEFAULT_LEDGER_CACHE_BYTES = 16 * 1024 * 1024;
/** most batches staged before the store commits them (ledger-store.ts `stage`) */
export const FLUSH_BATCHES = 16;
/**
 * Most piece text staged before the store commits it: 16 MiB (what half the cache bound gave, 32 MiB,
 * until session 13, when the bound went from 64 to 16 MiB). Staged pieces are the largest part of the
 * store's heap; committing them more often writes each family's head more often: at 8 MiB (half the
 * new bound) +4 % bytes written per line at 100 k and +9 % at 300 k; at 16 MiB the bytes are the
 * base's and the liquidation's peak −60 to −90 MB (bench/README.md, "Session 13 — memory"). A small
 * bound (tests) commits at twice the bound.
 */
export const STAGED_TEXT_BYTES = 16 * 1024 * 1024;

/** Which line records of a family to load: the lineKeys a batch names, or all. */
export type LineChoice = Iterable<string> | 'all';

export interface LedgerMarker {
  v: 5;
  /** which bus the store mirrors (embedded, or Kafka + topic prefix): another bus means rebuild */
  bus: string;
  next: Record<string, number>;
}

/** What this thread reads of a family's head (the worker reads the rest from its text). */
export interface HeadSummary {
  seq: number;
  applied: Record<string, number>;
  outbox?: Settlement[];
}

/** A head as the cache keeps it: its changelog text and its summary. */
export interface HeadText extends HeadSummary {
  text: string;
}

/** What a batch of lines needs of a family (`getBatch`): its head, and the records of the batch's lines it holds. */
export interface BatchLedger extends HeadText {
  lines: Record<string, LineRecord>;
}

/**
 * A piece's value text, or its UTF-8 bytes (a line piece a worker wrote: task-bytes.ts), written to
 * LevelDB as they are and decoded only if the piece is read before the flush.
 */
export type PieceText = string | Uint8Array;

/** A piece to stage: parsed, or (a head a worker wrote) its summary, or text only. */
export type StagedPiece = readonly [string, LedgerPiece | HeadSummary | undefined, PieceText];

interface Dirty {
  text: PieceText;
  head?: HeadText;
  line?: LinePiece;
}

export class LedgerStore {
  // Two LRUs: heads (one per family, as text + summary) and parsed line records.
  private readonly heads = new Map<string, HeadText>();
  private readonly lines = new Map<string, LinePiece>();
  /** text length of each cached piece, and their sum: the byte bound */
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  readonly cacheSize: number;
  /** store reads (cache misses) and pieces written since open; cache hits */
  readonly stats = { reads: 0, writes: 0, hits: 0, commits: 0 };
  /**
   * Pieces staged by `stage`, not committed yet (read before the cache and the store; never
   * evicted), and the changelog positions they bring the marker to: committed together by `flush`.
   */
  private readonly dirty = new Map<string, Dirty>();
  private dirtyBytes = 0;
  private dirtyHeads = 0;
  private staged = 0;
  private readonly pending = new Map<number, number>();
  /** the commit under way (`write`) */
  private writing: Promise<void> = Promise.resolve();
  private readonly pieces: LevelSubStore<string>;
  private readonly markers: LevelSubStore<LedgerMarker>;
  private readonly suspects: LevelSubStore<true>;

  private constructor(
    readonly kv: LevelStore,
    readonly namespace: string,
    /** a scratch folder of this process (no home given): removed at close */
    private readonly scratch: string | null,
    cacheSize: number,
    readonly cacheBytes: number,
  ) {
    this.cacheSize = Math.max(1, cacheSize);
    this.pieces = kv.sub('ledger.piece', 'text');
    this.markers = kv.sub('ledger.marker');
    this.suspects = kv.sub('ledger.suspect');
  }

  static async open(o: LedgerStoreOptions = {}): Promise<LedgerStore> {
    const namespace = o.namespace ?? 'embedded';
    const cache = [o.cacheSize ?? DEFAULT_LEDGER_CACHE, o.cacheBytes ?? DEFAULT_LEDGER_CACHE_BYTES] as const;
    if (o.home !== undefined) {
      await dropLmdbLedgers(o.home, o.fsync ?? true);
      return new LedgerStore(await LevelStore.open(o.home, { sync: o.fsync ?? true }), namespace, null, ...cache);
    }
    // Without a home (tests, bench) a per-process scratch store: family ledgers name people (counter
    // keys carry the NIR), so a killed process's folder is removed by the next one (scratch.ts).
    const dir = await scratchDir('noemie-ledgers-');
    return new LedgerStore(await LevelStore.open(dir, { sync: o.fsync ?? true }), namespace, dir, ...cache);
  }

  /** where the ledgers are: the log-structured store's folder */
  get file(): string {
    return this.kv.dir;
  }

  /** The marker of this store's namespace, if any. */
  marker(): LedgerMarker | undefined {
    return this.markers.get(this.namespace);
  }

  /** A family's ledger with the chosen line records (absent lines are left out). */
  async get(adherentId: string, which: LineChoice = 'all'): Promise<Family | undefined> {
    const head = this.headOf(adherentId);
    if (head === undefined) return undefined;
    const found: LinePiece[] = [];
    for (const k of which === 'all' ? await this.lineKeysOf(adherentId) : new Set(which)) {
      const piece = this.piece(lineKeyOfPiece(adherentId, k));
      if (piece !== undefined) found.push(piece);
    }
    return assemble(head, found);
  }

  /** A family's head piece as stored (restore, heal, requests): parsed from its text at each call. */
  headOf(adherentId: string): HeadPiece | undefined {
    const head = this.headText(adherentId);
    return head === undefined ? undefined : this.asHead(adherentId, this.decode(head.text, adherentId));
  }

  /** What the service reads of a family's head (write number, watermarks, outbox), without parsing it again (restore, heal). */
  headSummary(adherentId: string): HeadSummary | undefined {
    return this.headText(adherentId);
  }

  /** A line piece as stored, whatever its head says (heal). */
  linePiece(key: string): LinePiece | undefined {
    return this.piece(key);
  }

  /**
   * What a batch of lines needs of each family (absent ones are left out): its head as text with
   * its write number, watermarks and outbox, and the records of `lineKeysOf(id)` it holds (a line
   * piece above the head reads as its `undo`, as in `assemble`). The head is not parsed here: the
   * worker that liquidates the family parses the text.
   */
  getBatch(ids: Iterable<string>, lineKeysOf: (id: string) => Iterable<string>): Map<string, BatchLedger> {
    const out = new Map<string, BatchLedger>();
    for (const id of new Set(ids)) {
      const head = this.headText(id);
      if (head === undefined) continue;
      const lines: Record<string, LineRecord> = {};
      for (const k of new Set(lineKeysOf(id))) {
        const piece = this.piece(lineKeyOfPiece(id, k));
        const record = piece && recordUnder(piece, head.seq);
        if (record !== undefined) lines[k] = record;
      }
      out.set(id, { ...head, lines });
    }
    return out;
  }

  /** Every lineKey the store (or the staged pieces) holds for a family: one range read. */
  private async lineKeysOf(adherentId: string): Promise<Set<string>> {
    const prefix = lineKeyOfPiece(adherentId, '');
    const stored = compositeKey(this.namespace, prefix);
    const out = new Set<string>();
    for await (const k of this.pieces.keys(stored)) out.add(k.slice(stored.length));
    for (const k of this.dirty.keys()) if (k.startsWith(prefix)) out.add(k.slice(prefix.length));
    return out;
  }

  /** The ledgers of the given families (absent ones are left out). */
  async getMany(ids: Iterable<string>, which: (id: string) => LineChoice = () => 'all'): Promise<Map<string, Family>> {
    const out = new Map<string, Family>();
    for (const id of new Set(ids)) {
      const f = await this.get(id, which(id));
      if (f) out.set(id, f);
    }
    return out;
  }

  /**
   * ONE durable transaction: the pieces (already encoded: the changelog's value text; null
   * deletes) and the marker moved to `next` for the partitions given. Resolves once committed.
   * Parsed pieces given with their text are cached after the commit; the others are forgotten.
   */
  async write(entries: Iterable<readonly [string, LedgerPiece | HeadSummary | null | undefined, PieceText | null]>, next: ReadonlyMap<number, number>, bus: string, suspects: { add?: Iterable<string>; remove?: Iterable<string> } = {}): Promise<void> {
    // an array is the caller's to give away (flush builds one per commit): not copied again
    const list = Array.isArray(entries) ? (entries as (readonly [string, LedgerPiece | HeadSummary | null | undefined, PieceText | null])[]) : [...entries];
    // One commit at a time: each builds its marker from the one before (batches of several
    // partitions may flush or catch up at once on Kafka).
    const run = () => this.commitPieces(list, next, bus, suspects);
    const done = this.writing.then(run, run);
    this.writing = done.catch(() => undefined);
    return done;
  }

  private async commitPieces(list: (readonly [string, LedgerPiece | HeadSummary | null | undefined, PieceText | null])[], next: ReadonlyMap<number, number>, bus: string, suspects: { add?: Iterable<string>; remove?: Iterable<string> }): Promise<void> {
    const marker: LedgerMarker = { v: 5, bus, next: { ...(this.marker()?.bus === bus ? this.marker()!.next : {}) } };
    for (const [p, offset] of next) marker.next[String(p)] = offset;
    await this.kv.commit(() => {
      // only writes from here (the marker was read above): none kept for read-your-writes (bench/README.md "Session 23 — alloc")
      this.kv.writesOnly();
      for (const [key, , text] of list) {
        const k = compositeKey(this.namespace, key);
        if (text === null) this.pieces.remove(k);
        // bytes go to LevelDB as they are (level-store.ts put), the same UTF-8 a string would give
        else this.pieces.put(k, text as string);
      }
      for (const key of suspects.add ?? []) this.suspects.put(compositeKey(this.namespace, key), true);
      for (const key of suspects.remove ?? []) this.suspects.remove(compositeKey(this.namespace, key));
      this.markers.put(this.namespace, marker);
    });
    this.stats.commits += 1;
    this.stats.writes += list.length;
    // Pieces given without their value (a catch-up's, a tombstone) are forgotten: the next read takes them from the store.
    for (const [key, piece, text] of list) this.cacheWritten(key, piece ?? undefined, text);
  }

  /** Writes pieces (already encoded: the changelog's value text), leaving the marker as it is (tests, tools). */
  async setPieces(pieces: Iterable<readonly [string, LedgerPiece, string]>): Promise<void> {
    await this.write(pieces, new Map(), this.marker()?.bus ?? this.namespace);
  }

  /** Writes a whole family as one change (tests, tools). */
  async set(adherentId: string, family: Family): Promise<void> {
    const written = encodeFamilyPieces(adherentId, family);
    await this.setPieces(written.pieces.map(([key, piece], k) => [key, piece, written.texts[k]!] as const));
  }

  /**
   * Drops every ledger of this namespace and its marker (a store that cannot be trusted is
   * rebuilt). The marker goes first, in a durable commit: the range removals after it are neither
   * atomic nor fsynced (LevelStore.clearRange), and a crash among them leaves a store without a
   * marker, which the next restore clears and rebuilds again.
   */
  async clear(): Promise<void> {
    this.heads.clear();
    this.lines.clear();
    this.sizes.clear();
    this.bytes = 0;
    await this.kv.commit(() => this.markers.remove(this.namespace));
    await this.pieces.clear(compositeKey(this.namespace, ''));
    await this.suspects.clear(compositeKey(this.namespace, ''));
  }

  /** The piece keys marked suspect (ledger-restore.ts `healLedgers`), all or those of a changelog partition's families. */
  async suspected(partition?: number): Promise<string[]> {
    const prefix = compositeKey(this.namespace, '');
    const keys: string[] = [];
    for await (const k of this.suspects.keys(prefix)) keys.push(k.slice(prefix.length));
    return partition === undefined ? keys : keys.filter((k) => partitionFor(familyOfKey(k)) === partition);
  }

  /** family heads in memory (at most cacheSize; line records: at most 16 × cacheSize) */
  get cached(): number {
    return this.heads.size;
  }

  get cachedLines(): number {
    return this.lines.size;
  }

  /** bytes of piece text in memory (at most cacheBytes, unless one piece alone is larger) */
  get cachedBytes(): number {
    return this.bytes;
  }

  async close(): Promise<void> {
    this.heads.clear();
    this.lines.clear();
    this.sizes.clear();
    this.bytes = 0;
    await this.kv.close();
    if (this.scratch !== null) await rm(this.scratch, { recursive: true, force: true });
  }

  /**
   * Takes a batch's pieces (already produced to the changelog) and the changelog end they reach,
   * and commits them with the next `flush`: true when that is due — `FLUSH_BATCHES` batches staged,
   * `STAGED_TEXT_BYTES` of text (or twice the cache's text bound, if less), or as many families as the cache holds. Until then they are
   * read from memory; a crash loses them from the store only, and the restart reads them back from
   * the changelog (the marker stays where the last commit put it).
   */
  stage(entries: Iterable<StagedPiece>, next: ReadonlyMap<number, number>): boolean {
    for (const [key, given, text] of entries) {
      // Given as text only (a worker encoded it), a line record is parsed when first read (a new
      // line's record rarely is); a head comes with its summary (the service knows the write
      // number and watermarks it sent), else it is parsed now.
      const entry: Dirty = { text };
      if (isHeadKey(key)) entry.head = { ...this.summaryOf(key, given ?? this.decode(text, key)), text: textOfBytes(text) };
      else if (given !== undefined) entry.line = this.asLine(key, given);
      const was = this.dirty.get(key);
      if (was) {
        this.dirtyBytes -= was.text.length;
        if (isHeadKey(key)) this.dirtyHeads -= 1;
      }
      this.dirty.set(key, entry);
      this.dirtyBytes += text.length;
      if (isHeadKey(key)) this.dirtyHeads += 1;
      // What the cache held of this key is older than the staged piece, which is read first until the flush.
      this.forget(key);
    }
    for (const [p, offset] of next) this.pending.set(p, offset);
    this.staged += 1;
    return this.staged >= FLUSH_BATCHES || this.dirtyBytes >= Math.min(STAGED_TEXT_BYTES, this.cacheBytes * 2) || this.dirtyHeads >= this.cacheSize;
  }

  /** Commits what `stage` took, with the marker, in ONE transaction (nothing staged: nothing written). */
  async flush(bus: string): Promise<void> {
    if (this.dirty.size === 0 && this.pending.size === 0) return;
    // What is staged, read once into the commit's list and its staged objects beside it (not a copy
    // of the map, then its entries spread, then mapped: three copies of up to 16 batches' pieces,
    // bench/README.md "Session 23 — alloc").
    const list: (readonly [string, LedgerPiece | HeadSummary | null | undefined, PieceText])[] = new Array(this.dirty.size);
    const taken: Dirty[] = new Array(this.dirty.size);
    let i = 0;
    this.dirty.forEach((d, key) => {
      list[i] = [key, d.head ?? d.line, d.text];
      taken[i++] = d;
    });
    const next = new Map(this.pending);
    await this.write(list, next, bus);
    // A batch of another partition may have staged during the commit (the Kafka service handles
    // several at once): only what this commit wrote leaves the staging area, the rest waits for the next.
    for (let j = 0; j < list.length; j++) {
      const key = list[j]![0];
      const d = taken[j]!;
      if (this.dirty.get(key) !== d) continue;
      this.dirty.delete(key);
      this.dirtyBytes -= d.text.length;
      if (isHeadKey(key)) this.dirtyHeads -= 1;
    }
    for (const [p, offset] of next) if (this.pending.get(p) === offset) this.pending.delete(p);
    this.staged = this.dirty.size === 0 ? 0 : 1;
  }

  /** pieces staged, not committed yet */
  get staging(): number {
    return this.dirty.size;
  }

  /** A family's head as text and summary: staged, cached, or read from the store (parsed once for its summary, then cached). */
  private headText(id: string): HeadText | undefined {
    return this.lookup(id, this.heads, (staged) => (staged.head ??= { ...this.summaryOf(id, this.decode(staged.text, id)), text: textOfBytes(staged.text) }), (text) => ({ ...this.summaryOf(id, this.decode(text, id)), text }));
  }

  /** A line piece: staged, cached, or read from the store. */
  private piece(key: string): LinePiece | undefined {
    return this.lookup(key, this.lines, (staged) => (staged.line ??= this.asLine(key, this.decode(staged.text, key))), (text) => this.asLine(key, this.decode(text, key)));
  }

  /** Staged first (this batch's own writes), then the cache, then a point read of the store, remembered. */
  private lookup<T extends HeadText | LinePiece>(key: string, cache: Map<string, T>, ofStaged: (staged: NonNullable<ReturnType<typeof this.dirty.get>>) => T, ofText: (text: string) => T): T | undefined {
    const staged = this.dirty.get(key);
    if (staged) {
      this.stats.hits += 1;
      return ofStaged(staged);
    }
    const cached = cache.get(key);
    if (cached) {
      this.stats.hits += 1;
      this.touch(cache, key);
      return cached;
    }
    const text = this.pieces.get(compositeKey(this.namespace, key));
    if (text === undefined) return undefined;
    this.stats.reads += 1;
    const value = ofText(text);
    this.remember(key, value, text.length);
    return value;
  }

  /** After a commit: what the cache keeps of a piece written (a head: its text and summary; a line: its parse), or nothing. */
  private cacheWritten(key: string, given: LedgerPiece | HeadSummary | undefined, text: PieceText | null): void {
    if (given === undefined || text === null) return this.forget(key);
    if (isHeadKey(key)) this.remember(key, { ...this.summaryOf(key, given), text: textOfBytes(text) }, text.length);
    else this.remember(key, this.asLine(key, given), text.length);
  }

  private summaryOf(key: string, given: LedgerPiece | HeadSummary): HeadSummary {
    if (!('piece' in given)) return given;
    const head = this.asHead(key, given);
    return { seq: head.seq, applied: head.applied, ...(head.outbox ? { outbox: head.outbox } : {}) };
  }

  private asHead(key: string, piece: LedgerPiece): HeadPiece {
    if (piece.piece !== 'head') throw this.bad(key, 'holds a line record where a head was expected');
    return piece;
  }

  private asLine(key: string, piece: LedgerPiece | HeadSummary): LinePiece {
    if (!('piece' in piece) || piece.piece !== 'line') throw this.bad(key, 'holds a head where a line record was expected');
    return piece;
  }

  /** A Map iterates in insertion order: re-inserting moves the key to the young end. */
  private touch(cache: Map<string, unknown>, key: string): void {
    const value = cache.get(key);
    cache.delete(key);
    cache.set(key, value);
  }

  private remember(key: string, value: HeadText | LinePiece, size: number): void {
    this.forget(key);
    const [cache, bound] = isHeadKey(key) ? [this.heads, this.cacheSize] : [this.lines, this.cacheSize * 16];
    (cache as Map<string, HeadText | LinePiece>).set(key, value);
    this.sizes.set(key, size);
    this.bytes += size;
    while (cache.size > bound) this.forget(cache.keys().next().value!);
    // Over the byte bound, the oldest line records go first (a head is needed by every batch of its
    // family), then the oldest heads; the piece just remembered stays.
    while (this.bytes > this.cacheBytes) {
      const oldest = oldestOtherThan(this.lines, key) ?? oldestOtherThan(this.heads, key);
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    this.heads.delete(key);
    this.lines.delete(key);
    this.bytes -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }

  private bad(key: string, why: string): PipelineStageError {
    return new PipelineStageError('PIPELINE_BAD_SNAPSHOT', `${this.file}: local ledger piece ${key} ${why} (delete the ledger.piece entries of ${this.namespace}, or the home's state store, to rebuild it from counters-changelog)`, { file: this.file, key });
  }

  /** Our own write, read back without zod: only a value that is not a piece at all is refused. */
  private decode(text: PieceText, key: string): LedgerPiece {
    let piece: unknown;
    try {
      piece = JSON.parse(textOfBytes(text));
    } catch {
      piece = undefined;
    }
    // a line piece as written since session 17 (line-piece.ts), or the object form (heads; line pieces of earlier builds)
    if (isLineTuple(piece)) {
      const line = lineOfKey(key);
      if (line === undefined) throw this.bad(key, 'holds a line record where a head was expected');
      try {
        return linePieceOfTuple(line, piece) as LinePiece;
      } catch {
        throw this.bad(key, 'is not a ledger piece');
      }
    }
    const p = piece as Partial<LedgerPiece> | undefined;
    if (typeof p !== 'object' || p === null || p.v !== 3 || (p.piece !== 'head' && p.piece !== 'line')) throw this.bad(key, 'is not a ledger piece');
    return p as LedgerPiece;
  }
}

/**
 * The ledger keys an earlier layout (marker v4 and before) left in the home's LMDB store: removed
 * in one commit, so they neither take room nor get read again (the ledgers are rebuilt from the
 * changelog into the log-structured store). Nothing to do, and no LMDB store opened, for a home
 * without one.
 */
async function dropLmdbLedgers(home: string, sync: boolean): Promise<void> {
  const kv = StateStore.open(home, { create: false, sync });
  if (kv === null) return;
  try {
    const subs = ['ledger.piece', 'ledger.marker', 'ledger.suspect'].map((name) => kv.sub(name));
    const keys = subs.map((sub) => [...sub.keys()]);
    if (keys.every((k) => k.length === 0)) return;
    await kv.commit(() => subs.forEach((sub, i) => keys[i]!.forEach((k) => sub.remove(k))));
  } finally {
    await kv.close();
  }
}

/** A head's key is the adhérent; a line record's is `<adhérent>#<lineKey>` (an adhérent id holds no `#`). */
function isHeadKey(key: string): boolean {
  return !key.includes('#');
}

/** The least recently used key of an LRU map, skipping `key` (the young end, unless it is alone). */
function oldestOtherThan(cache: ReadonlyMap<string, unknown>, key: string): string | undefined {
  for (const k of cache.keys()) if (k !== key) return k;
  return undefined;
}
