import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { flushTrace, TraceCommit, tracing } from './write-trace.js';

/**
 * The pipeline's embedded key-value state store: one LMDB environment per home,
 * `<home>/state/store.mdb` (+ `store.mdb-lock`), chosen over LevelDB by bench/state-store.bench.ts
 * (bench/README.md says why). Stages keep their state in typed sub-stores (a key prefix each) and
 * change it only through `commit`: one transaction, durable (fsynced) when its promise resolves,
 * all of it or nothing after a crash (LMDB's copy-on-write pages and meta-page switch). Values are
 * our own records, encoded with msgpack (lmdb's default) and read back without re-validation.
 */
export const stateStoreFileOf = (home: string) => join(home, 'state', 'store.mdb');

/**
 * What one sub-store's key prefix ends with (and what joins a composite key's parts): keys sort
 * by name, then by key, and no key can reach into another sub-store. Not NUL: lmdb's key encoding
 * (ordered-binary) reads bytes 0–4 inside a string key as the boundaries of an ARRAY key, so a
 * string holding them may not come back as the same string; keys holding one are refused.
 */
/** The separator of a composite key's parts (compositeKey); hot paths that spell a key out use it too. */
export const KEY_SEP = '\u001f';
const SEP = KEY_SEP;
const AFTER_SEP = '\u0020';
const RESERVED = /[\u0000-\u0004]/;

function checkKey(key: string): string {
  if (RESERVED.test(key)) throw new Error(`state store: key ${JSON.stringify(key)} holds a control character U+0000–U+0004`);
  return key;
}

export interface OpenStateStoreOptions {
  /** false: return null rather than create a store that does not exist yet (dry runs, read-only commands) */
  create?: boolean;
  /**
   * false: commits are not fsynced (LMDB `noSync`): for scratch stores of tests and benches only.
   * lmdb shares one environment per file in a process, so a file's first open decides.
   */
  sync?: boolean;
}

/**
 * One StateStore per file in a process, shared by every stage that opens it (counted: the last
 * close closes it). Two lmdb handles on one file in one process can deadlock: a write transaction
 * of one holds LMDB's writer mutex while it waits for the main thread to run its callback, and the
 * main thread, writing through the other handle, waits for that mutex (seen after a kill -9 and
 * rerun of `noemie run --kafka`: the main thread parked on the lock file's mutex, owned by this
 * process's own lmdb write thread). One handle also puts every commit of the process in one queue.
 */
const OPEN = new Map<string, { store: StateStore; users: number }>();

/** Address space reserved for one store's map: 64 GiB. With 1 TiB each, the Kafka rebalance test (one process, many stores open) saw its consumer group never settle; 64 GiB passes and leaves room for ~2 000 stores in 128 TiB. */
export const STATE_MAP_BYTES = 2 ** 36;

/**
 * Values share their msgpack record structures through the store (session 9). Without a
 * `sharedStructuresKey` — lmdb's default, and this store's until then — msgpackr writes every
 * object's field names into each value as an inline record definition, and reading it compiles that
 * definition again: a `payments.line` value was 149 bytes and 7.3 µs to read, with shared structures
 * 58 bytes and 3.0 µs (bench/README.md, "Session 9 — payments"). Smaller values also mean fewer
 * pages per commit and fewer mapped pages.
 *
 * - Only structures whose keys are all field names are shared: an object keyed by data (NIRs,
 *   payees, ids) would take a slot per key set, and the list is written again whenever it grows.
 *   Such objects keep their inline definitions, as before.
 * - `maxSharedStructures` is fixed for the life of a store (msgpackr refuses a store whose list is
 *   longer than the maximum): 512 leaves room for every record shape of every stage.
 * - Values written before (inline definitions) are read as they were: msgpackr restores a shared
 *   slot an inline definition shadowed once the value is decoded (test/state/kv-store.test.ts).
 *   A store written by this version cannot be read by an earlier one (no downgrade).
 * - The list lives in the store under its own key and is written inside the transaction that
 *   first needs a new structure: committed with the values that use it, or not at all.
 */
const FIELD_NAME = /^[A-Za-z_$][\w$]*$/;
export const SHARED_STRUCTURES = {
  sharedStructuresKey: Symbol.for('structures'),
  maxSharedStructures: 512,
  shouldShareStructure: (keys: readonly string[]) => keys.every((k) => FIELD_NAME.test(k)),
};

interface QueuedStep {
  decide: () => () => void;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Steps put in one transaction at most: bounds how long one commit holds the writer lock. */
const MAX_STEPS_PER_TRANSACTION = 256;

export class StateStore {
  private writing = false;
  /** NOEMIE_STATE_TRACE: the transaction being written (write-trace.ts) */
  trace: TraceCommit | null = null;
  /** steps (update / commit) waiting for the transaction in flight: they go in the next one, together */
  private queue: QueuedStep[] = [];
  /** the transactions' loop while steps are queued; settled when the queue is empty */
  private draining: Promise<void> | null = null;
  /** transactions committed and steps they held, since the store was opened in this process */
  readonly stats = { transactions: 0, steps: 0 };

  private constructor(
    readonly file: string,
    private readonly db: RootDatabase<unknown, string>,
  ) {}

  static open(home: string, options: OpenStateStoreOptions & { create: false }): StateStore | null;
  static open(home: string, options?: OpenStateStoreOptions): StateStore;
  static open(home: string, options: OpenStateStoreOptions = {}): StateStore | null {
    const file = resolve(stateStoreFileOf(home));
    const shared = OPEN.get(file);
    if (shared) {
      shared.users += 1;
      return shared.store;
    }
    if (options.create === false && !existsSync(file)) return null;
    mkdirSync(dirname(file), { recursive: true });
    // overlappingSync off: a commit's promise resolves once its pages AND meta page are fsynced,
    // so "committed" means "survives a power cut", not only "visible to other readers".
    // mapSize: address space reserved once, so the map never grows. lmdb-js grows a full map by
    // mapping the file again, twice as large, and keeps the old mappings (readers may hold them):
    // every page then counts once per mapping in the process's RSS — at 1 M lines 15 mappings of
    // a 1.6 GB store.mdb held 4.4 GB of file-backed RSS (bench/README.md, session 6). Address
    // space only: the file grows with its pages, not to this size.
    const store = new StateStore(file, open<unknown, string>({ path: file, overlappingSync: false, mapSize: STATE_MAP_BYTES, ...SHARED_STRUCTURES, ...(options.sync === false ? { noSync: true } : {}) }));
    OPEN.set(file, { store, users: 1 });
    return store;
  }

  /** A typed sub-store: the keys under `name`. Values of type V are written and read as they are. */
  sub<V>(name: string): SubStore<V> {
    if (name.includes(SEP) || name.includes(AFTER_SEP) || RESERVED.test(name)) throw new Error(`sub-store name ${JSON.stringify(name)} contains the separator`);
    return new SubStore<V>(this, this.db, name);
  }

  /**
   * Runs `write` in ONE write transaction and resolves once it is durably committed. `write` only
   * puts and removes (decide first, outside): it runs synchronously inside the transaction and
   * must not throw — lmdb may batch other queued writes of this process in the same transaction.
   */
  commit(write: () => void): Promise<void> {
    return this.update(() => write);
  }

  /**
   * A read → decide → commit step: `decide` runs once every earlier step of this process has
   * written (so it reads their writes), returns the writes, and they are committed durably.
   * Two batches handled at the same time (two partitions) therefore never decide on the same stale
   * value: the second reads what the first wrote.
   *
   * Steps that arrive while a transaction is being committed wait for it, then go TOGETHER in the
   * next transaction, each `decide` run inside it in arrival order (reads inside a transaction see
   * its writes): one fsync and one rewrite of the B-tree pages for all of them instead of one each
   * (each commit writes back every page it touched: bench/README.md, "Session 6 — memory and bytes
   * written"). Each step's promise resolves once that transaction is durable. A `decide` that
   * throws fails its own step only (it wrote nothing); the other steps are committed.
   */
  update(decide: () => () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ decide, resolve, reject });
      if (this.draining === null) this.draining = this.drain();
    });
  }

  /** Commits the queued steps, as many as are waiting (up to MAX_STEPS_PER_TRANSACTION) per transaction, until none is left. */
  private async drain(): Promise<void> {
    // first yield: `draining` is set by the caller before this loop can end and clear it
    await Promise.resolve();
    while (this.queue.length > 0) {
      const steps = this.queue.splice(0, MAX_STEPS_PER_TRANSACTION);
      const written: QueuedStep[] = [];
      this.trace = tracing ? new TraceCommit('lmdb', this.file) : null;
      try {
        await this.db.transaction(() => {
          for (const step of steps) {
            let write: () => void;
            try {
              write = step.decide();
            } catch (e) {
              step.reject(e);
              continue;
            }
            this.writing = true;
            try {
              write();
              written.push(step);
            } catch (e) {
              // a write must not throw: its puts so far are committed with the others (lmdb does the same for a lone step)
              step.reject(e);
            } finally {
              this.writing = false;
            }
          }
        });
      } catch (e) {
        for (const step of written) step.reject(e);
        continue;
      } finally {
        this.trace?.end();
        this.trace = null;
      }
      this.stats.transactions += 1;
      this.stats.steps += written.length;
      for (const step of written) step.resolve();
    }
    // cleared in the same turn as the last look at the queue: a step queued after this starts a new loop
    this.draining = null;
  }

  /** @internal the sub-stores' guard: a write outside `commit` would be its own transaction */
  assertWriting(what: string): void {
    if (!this.writing) throw new Error(`state store: ${what} outside commit()`);
  }

  /** One user done; the file is closed when the last one is (a close per open). */
  async close(): Promise<void> {
    const shared = OPEN.get(this.file);
    if (shared?.store !== this) return; // closed already
    shared.users -= 1;
    if (shared.users > 0) return;
    OPEN.delete(this.file);
    await this.draining;
    await this.db.close();
    flushTrace('lmdb', this.file);
  }
}

export class SubStore<V> {
  private readonly prefix: string;

  constructor(
    private readonly store: StateStore,
    private readonly db: RootDatabase<unknown, string>,
    readonly name: string,
  ) {
    this.prefix = `${name}${SEP}`;
  }

  get(key: string): V | undefined {
    return this.db.get(this.prefix + key) as V | undefined;
  }

  has(key: string): boolean {
    return this.db.doesExist(this.prefix + key);
  }

  /** Inside `commit` only. */
  put(key: string, value: V): void {
    this.store.assertWriting(`put ${this.name}/${key}`);
    this.store.trace?.touch(this.name);
    this.db.putSync(this.prefix + checkKey(key), value);
  }

  /** Inside `commit` only. */
  remove(key: string): void {
    this.store.assertWriting(`remove ${this.name}/${key}`);
    this.store.trace?.touch(this.name);
    this.db.removeSync(this.prefix + key);
  }

  /** The entries whose key starts with `keyPrefix` (all of them by default), in key order. */
  *entries(keyPrefix = ''): Generator<[string, V]> {
    const start = this.prefix + checkKey(keyPrefix);
    const end = keyPrefix === '' ? `${this.name}${AFTER_SEP}` : `${start}\uffff`;
    for (const { key, value } of this.db.getRange({ start, end })) yield [key.slice(this.prefix.length), value as V];
  }

  *keys(keyPrefix = ''): Generator<string> {
    const start = this.prefix + checkKey(keyPrefix);
    const end = keyPrefix === '' ? `${this.name}${AFTER_SEP}` : `${start}\uffff`;
    for (const key of this.db.getKeys({ start, end })) yield (key as string).slice(this.prefix.length);
  }

  /** Up to `limit` entries whose key is after `after` (from the first when null), in key order: a slice of a long walk, resumed from its last key. */
  entriesAfter(after: string | null, limit: number, keyPrefix = ''): [string, V][] {
    const first = this.prefix + checkKey(keyPrefix);
    const start = after === null ? first : this.prefix + after;
    const end = keyPrefix === '' ? `${this.name}${AFTER_SEP}` : `${first}\uffff`;
    const out: [string, V][] = [];
    for (const { key, value } of this.db.getRange({ start, end, limit: limit + 1 })) {
      const k = (key as string).slice(this.prefix.length);
      if (after !== null && k === after) continue;
      out.push([k, value as V]);
      if (out.length === limit) break;
    }
    return out;
  }

  /** Up to `limit` keys (starting with `keyPrefix`) after `after` (from the first when null), in key order; values not read. */
  keysAfter(after: string | null, limit: number, keyPrefix = ''): string[] {
    const first = this.prefix + checkKey(keyPrefix);
    const start = after === null ? first : this.prefix + after;
    const end = keyPrefix === '' ? `${this.name}${AFTER_SEP}` : `${first}\uffff`;
    const out: string[] = [];
    for (const key of this.db.getKeys({ start, end, limit: limit + 1 })) {
      const k = (key as string).slice(this.prefix.length);
      if (after !== null && k === after) continue;
      out.push(k);
      if (out.length === limit) break;
    }
    return out;
  }

  /** Inside `commit` only: removes every key of this sub-store. */
  clear(): void {
    for (const key of [...this.keys()]) this.remove(key);
  }
}

/** Joins the parts of a composite key (e.g. lineKey + claimId of an index): a prefix scan on the first part finds the rest. */
export const compositeKey = (...parts: string[]) => parts.join(SEP);
export const splitCompositeKey = (key: string) => key.split(SEP);
