import { partitionFor, type Bus, type BusRecord } from '../bus/index.js';
import type { Logger } from '../log.js';
import type { Settlement } from '../model/settlement.js';
import type { StatementRequest, StatementSettlement } from '../statement/index.js';
import { existsSync } from 'node:fs';
import { compositeKey, splitCompositeKey, StateStore, stateStoreFileOf } from '../state/kv-store.js';
import { isLevelLocked, LevelStore, levelDirOf, type LevelSubStore } from '../state/level-store.js';
import { caughtUp, endOffsetsOf } from './catch-up.js';
import { DirtyFamilies, STATEMENTS_META, STATEMENTS_WHERE } from './statement-dirty.js';
import { statementLineCodec, type EncodedLines } from './statement-line-codec.js';
import { WhereEntries, type Where } from './statement-where.js';
import { settlementForStatements } from './statement-inputs.js';

/**
 * The member statements' index, in the home's state store (src/state), kept as settlements pass:
 *
 *   statements.line/<adherentId>␟<careDate>␟<lineKey>   StatementSettlement — the line's latest version
 *                                                       (msgpack, statement-line-codec.ts; JSON before session 11, still read)
 *   statements.where/<lineKey>                          { key, version } — where the line's latest version is
 *                                                       indexed (key null: no family), and which version it is
 *                                                       (text `<version>␟<adherentId>␟<careDate>` since session 19,
 *                                                       statement-where.ts; JSON before, still read)
 *
 * A statement for a family and a period is one range scan of `statements.line` (keys sort by
 * family, then care date). It is maintained by a consumer of `settlements` with its own group
 * (`statements`): each consumed batch is ONE transaction, committed before the handler returns,
 * hence before the bus commits the batch's offsets. A redelivered batch changes nothing: a version
 * at or below the one `statements.where` records is ignored. A newer version whose family or care
 * date differs moves the line (the old key is removed in the same transaction). The families a
 * batch changes (the line's new family and the one it left) are marked in `statements.dirty` in the
 * same transaction (statement-dirty.ts): their statements are the ones `run --once` writes.
 */
export const STATEMENTS_GROUP = 'statements';

/**
 * Settlements per consumed batch (one LevelDB commit each). 2 048 since session 23 (16 384
 * before): a batch's settlements, their index values and `statements.where` texts live until its
 * commit is durable, so with 16 384 most of them outlived two young-generation collections and
 * were promoted — the catch-up of 100 k settlements in `run --once` made 2 full collections and
 * 630–840 ms of GC pauses, 0 and 130–410 ms with 2 048, and 15–35 % less CPU in paired runs
 * (bench/README.md "Session 23 — statements"); the cost, ≈ 4 commits (fsyncs) a partition where
 * there was one at 100 k.
 */
export const STATEMENTS_MAX_BATCH = 2048;

/** What a statement reads of a settlement: `counters` (a line's counter changes) is left out. */
export function statementSettlementOf(s: Settlement): StatementSettlement {
  const out: StatementSettlement = {
    lineKey: s.lineKey, beneficiary: s.beneficiary, adherentId: s.adherentId, careDate: s.careDate, actCode: s.actCode, poste: s.poste,
    status: s.status, reason: s.reason, expense: s.expense, roAmount: s.roAmount, amcAmount: s.amcAmount, restToPay: s.restToPay, version: s.version,
  };
  if (s.operation !== undefined) out.operation = s.operation;
  if (s.reliquidation !== undefined) out.reliquidation = s.reliquidation;
  // who the line pays: the statement says "paid to the professional (tiers payant)"
  out.payee = s.payee;
  if (s.psId !== undefined) out.psId = s.psId;
  if (s.tp !== undefined) out.tp = s.tp;
  return out;
}

const indexKeyOf = (s: Pick<Settlement, 'adherentId' | 'careDate' | 'lineKey'>) => (s.adherentId === null ? null : compositeKey(s.adherentId, s.careDate, s.lineKey));

/** The latest version of each line in `settlements` (a batch, or a tail read without the group). */
function latestOf(settlements: Iterable<Settlement>, into = new Map<string, Settlement>()): Map<string, Settlement> {
  for (const s of settlements) {
    const prev = into.get(s.lineKey);
    if (!prev || prev.version < s.version) into.set(s.lineKey, s);
  }
  return into;
}

/** `statements.meta/layout`: the index is in LevelDB (session 10); `lmdbCleared` once the LMDB copy it came from is removed */
interface Layout {
  layout: 1;
  lmdbCleared: boolean;
}
const LAYOUT = 'layout';
/** keys copied or removed per commit when an older home's index moves from LMDB (bounded batches, bounded memory) */
const MOVE_CHUNK = 8192;
/** the statement sub-stores an older home holds in LMDB (`statements.dirty` stays: the payment state's marks, statement-dirty.ts) */
const MOVED_FROM_LMDB = ['statements.line', STATEMENTS_WHERE, STATEMENTS_META] as const;
/** the move in flight per LevelDB directory (StatementIndex.open) */
const MOVING = new Map<string, Promise<void>>();


export class StatementIndex {
  private readonly lines: LevelSubStore<StatementSettlement>;
  private readonly where: WhereEntries;
  private readonly meta: LevelSubStore<Layout>;
  readonly dirty: DirtyFamilies;

  constructor(readonly level: LevelStore) {
    // msgpack with fixed structures; JSON values (session 10's homes, the move from LMDB) still read
    this.lines = level.sub('statements.line', statementLineCodec);
    this.where = new WhereEntries(level);
    this.meta = level.sub(STATEMENTS_META);
    this.dirty = new DirtyFamilies(level);
  }

  /**
   * Opens (creating if needed) the index in the home's LevelDB store. An older home's index, in
   * LMDB, is moved first (`moveFromLmdb`). `sync: false`: batches not fsynced (tests, benches).
   */
  static async open(home: string, options: { sync?: boolean } = {}): Promise<StatementIndex> {
    const index = new StatementIndex(await LevelStore.open(home, options));
    try {
      // one move per home at a time: two opens of one process (the service's indexer and its HTTP
      // API) share the database, and a second move's clearing could remove what the first's index
      // has applied since (other processes are kept out by LevelDB's LOCK)
      let move = MOVING.get(index.level.dir);
      if (move === undefined) {
        move = index.moveFromLmdb(home).finally(() => MOVING.delete(index.level.dir));
        MOVING.set(index.level.dir, move);
      }
      await move;
    } catch (e) {
      await index.close();
      throw e;
    }
    return index;
  }

  /**
   * The index as it is, for a read that writes nothing, or null: the home has no index in LevelDB
   * (none yet, or an older home's still in LMDB, moved by the next writable open), or another
   * process holds the database (a running `noemie run`: LevelDB's LOCK allows one opener). The
   * caller then reads the family's partition as without an index (statementFromIndexAndTail).
   */
  static async openForReading(home: string): Promise<StatementIndex | null> {
    if (!existsSync(levelDirOf(home))) return null;
    let level: LevelStore;
    try {
      level = await LevelStore.open(home);
    } catch (e) {
      if (isLevelLocked(e)) return null;
      throw e;
    }
    const index = new StatementIndex(level);
    if (index.meta.get(LAYOUT) === undefined) {
      await index.close();
      return null;
    }
    return index;
  }

  /**
   * An older home (index in LMDB, `<home>/state/store.mdb`): its `statements.line`, `.where` and
   * `.meta` keys are copied to LevelDB in bounded batches, then `statements.meta/layout` is set in
   * its own durable commit, then the LMDB keys are removed in bounded commits and the layout says
   * so. Why a crash anywhere loses nothing: before the layout key, the LevelDB copy is not read
   * (the next open clears it and copies again from LMDB, untouched until then); after it, LevelDB
   * is the index and what is left in LMDB is only removed (again). The `statements` group's offsets
   * were committed after the LMDB transactions they follow, so the copy is at or ahead of them, as
   * the index always is. The payment state's marks stay in LMDB's `statements.dirty` (read there).
   * A home without LMDB state (or without statements in it) gets the layout key at once.
   */
  private async moveFromLmdb(home: string): Promise<void> {
    const layout = this.meta.get(LAYOUT);
    if (layout?.lmdbCleared) return;
    const kv = existsSync(stateStoreFileOf(home)) ? StateStore.open(home, { create: false }) : null;
    try {
      if (layout === undefined) {
        for (const name of MOVED_FROM_LMDB) await this.level.sub(name).clear();
        if (kv !== null) {
          for (const name of MOVED_FROM_LMDB) {
            const from = kv.sub<unknown>(name);
            const to = this.level.sub<unknown>(name);
            for (let after: string | null = null; ; ) {
              const chunk = from.entriesAfter(after, MOVE_CHUNK);
              if (chunk.length === 0) break;
              await this.level.commit(() => {
                for (const [k, v] of chunk) to.put(k, v);
              });
              after = chunk[chunk.length - 1]![0];
            }
          }
        }
        await this.level.commit(() => this.meta.put(LAYOUT, { layout: 1, lmdbCleared: kv === null }));
      }
      if (kv !== null) {
        for (const name of MOVED_FROM_LMDB) {
          const from = kv.sub<unknown>(name);
          for (;;) {
            const keys = from.keysAfter(null, MOVE_CHUNK);
            if (keys.length === 0) break;
            await kv.commit(() => {
              for (const k of keys) from.remove(k);
            });
          }
        }
        await this.level.commit(() => this.meta.put(LAYOUT, { layout: 1, lmdbCleared: true }));
      }
    } finally {
      await kv?.close();
    }
  }

  /**
   * Folds settlements into the index in ONE LevelDB batch (with the families it changes marked in
   * `statements.dirty`): per line, its latest version replaces the indexed one if it is newer (an
   * older or equal version — a redelivery — changes nothing). Resolves once durable. The decision
   * reads `statements.where` inside the commit: commits run one after another, so it sees every
   * earlier batch of the process.
   */
  apply(settlements: Iterable<Settlement>): Promise<void> {
    const batch = latestOf(settlements);
    return this.level.commit(() => {
      const families = new Set<string>();
      const puts: [string, Settlement, Where][] = [];
      for (const [lineKey, s] of batch) {
        const was = this.where.get(lineKey);
        if (was !== undefined && was.version >= s.version) continue;
        const key = indexKeyOf(s);
        if (was?.key != null && was.key !== key) {
          this.lines.remove(was.key);
          families.add(splitCompositeKey(was.key)[0]!);
        }
        if (s.adherentId !== null) families.add(s.adherentId);
        puts.push([lineKey, s, { key, version: s.version }]);
      }
      // the marks read `statements.dirty` before any put of this batch: decided first, then written
      this.dirty.mark(families);
      for (const [lineKey, s, w] of puts) {
        if (w.key !== null) this.lines.put(w.key, statementSettlementOf(s));
        this.where.put(lineKey, w);
      }
    });
  }

  /**
   * The family's lines whose (latest) care date is in [from, to], in care-date order: one range
   * scan of the family's keys, read in one go (a family's lines are a statement's worth).
   */
  async settlementsIn(request: StatementRequest): Promise<StatementSettlement[]> {
    const out: StatementSettlement[] = [];
    for (const [key, s] of await this.lines.entriesIn(compositeKey(request.adherentId, ''))) {
      const careDate = splitCompositeKey(key)[1]!;
      if (careDate < request.from) continue;
      if (careDate > request.to) break;
      out.push(s);
    }
    return out;
  }

  /**
   * `settlementsIn` without decoding the values: the family's lines in [from, to] as the index
   * stores them (statement-line-codec.ts), back to back in one buffer, each ending at `ends[i]`, with
   * their lineKeys (from the keys). A statement worker decodes them (`decodeIndexedLines`); this
   * thread only reads.
   */
  async encodedSettlementsIn(request: StatementRequest): Promise<{ lineKeys: string[]; lines: EncodedLines }> {
    const lineKeys: string[] = [];
    const parts: Buffer[] = [];
    const ends: number[] = [];
    let end = 0;
    for (const [key, raw] of await this.lines.rawEntriesIn(compositeKey(request.adherentId, ''))) {
      const [, careDate, lineKey] = splitCompositeKey(key);
      if (careDate! < request.from) continue;
      if (careDate! > request.to) break;
      const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
      lineKeys.push(lineKey!);
      parts.push(bytes);
      end += bytes.length;
      ends.push(end);
    }
    return { lineKeys, lines: { bytes: Buffer.concat(parts, end), ends } };
  }

  /** Where the line's latest version is indexed, and which version it is (the read-only merge, tests). */
  whereOf(lineKey: string): Where | undefined {
    return this.where.get(lineKey);
  }

  /**
   * A line's latest indexed version by its key: two point reads, whatever the history (the HTTP
   * API's receipt status). `settlement` is null when that version names no family.
   */
  latestOf(lineKey: string): { version: number; settlement: StatementSettlement | null } | undefined {
    const w = this.where.get(lineKey);
    if (w === undefined) return undefined;
    return { version: w.version, settlement: w.key === null ? null : (this.lines.get(w.key) ?? null) };
  }

  close(): Promise<void> {
    return this.level.close();
  }
}

export interface IndexUpdate {
  /** settlement records consumed into the index by this call */
  consumed: number;
}

/** Has the group committed, by whichever member, every partition up to `ends`? */
async function committedReach(bus: Bus, groupId: string, ends: Map<string, number>): Promise<boolean> {
  const committed = new Map((await bus.committedOffsets(groupId, 'settlements')).map((c) => [`settlements/${c.partition}`, c.offset ?? 0]));
  return [...ends].every(([k, end]) => (committed.get(k) ?? 0) >= end);
}

/**
 * Brings the index up to what `settlements` holds now (end offsets taken at start), with the
 * group: each batch is applied in one transaction, committed before the handler returns — so
 * before the bus commits the batch's offsets. The cost follows what is new, not the topic.
 */
export async function updateStatementIndex(bus: Bus, index: StatementIndex, options: { groupId?: string; logger?: Logger; maxBatch?: number } = {}): Promise<IndexUpdate> {
  const groupId = options.groupId ?? STATEMENTS_GROUP;
  const update: IndexUpdate = { consumed: 0 };
  if (await caughtUp(bus, groupId, ['settlements'])) return update;
  const ends = await endOffsetsOf(bus, ['settlements']);
  const reached = new Map<string, number>();
  const lows = new Map((await bus.endOffsets('settlements')).map((p) => [p.partition, p.low]));
  for (const c of await bus.committedOffsets(groupId, 'settlements')) reached.set(`settlements/${c.partition}`, c.offset ?? lows.get(c.partition) ?? 0);
  const done = () => [...ends].every(([k, end]) => (reached.get(k) ?? 0) >= end);
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const sub = await bus.consume({
    groupId,
    topics: ['settlements'],
    // one commit per batch: the larger the batch, the more of its keys share a B-tree page
    maxBatch: options.maxBatch ?? STATEMENTS_MAX_BATCH,
    // a statement's fields read from the stored bytes when the bus has them (statement-inputs.ts), not the whole value parsed
    raw: { settlements: settlementForStatements },
    handler: async (batch) => {
      await index.apply(batch.records.map((r) => r.value));
      update.consumed += batch.records.length;
      const last = batch.records.at(-1);
      if (last) reached.set(`settlements/${batch.partition}`, last.offset + 1);
      if (done()) finish();
    },
  });
  // Kafka: a member already in the group (a `noemie run` service's indexer) may own some
  // partitions; it folds them into the same home's index and commits them, so its commits count too
  const others = setInterval(() => {
    void committedReach(bus, groupId, ends).then((all) => all && finish(), () => undefined);
  }, 500);
  try {
    if (!done()) await Promise.race([finished, sub.done]);
  } finally {
    clearInterval(others);
  }
  await sub.stop();
  await sub.done;
  options.logger?.info({ groupId, consumed: update.consumed }, 'statements: index brought up to date');
  return update;
}

/**
 * A statement when the index cannot be written (the embedded bus is held by a running `noemie
 * run`, so the group cannot consume): the index as it is (if the home has one) plus the family's
 * settlements past the group's committed offsets, read without the group from the family's
 * partition only and merged by version in memory. Nothing is written. The index may be ahead of
 * the committed offsets (its transaction commits first): the overlap is merged away by version.
 */
export async function statementFromIndexAndTail(bus: Bus, index: StatementIndex | null, request: StatementRequest, groupId = STATEMENTS_GROUP): Promise<{ settlements: StatementSettlement[]; tail: number }> {
  const partition = partitionFor(request.adherentId);
  const range = (await bus.endOffsets('settlements')).find((p) => p.partition === partition);
  const committed = (await bus.committedOffsets(groupId, 'settlements')).find((c) => c.partition === partition)?.offset ?? null;
  const tail = new Map<string, Settlement>();
  let read = 0;
  // no index (none in LevelDB yet, or held by a running service): the whole partition, as without an index
  const from = index === null ? (range?.low ?? 0) : (committed ?? range?.low ?? 0);
  if (range && range.high > from) {
    for await (const records of bus.readRange('settlements', partition, { from, to: range.high })) {
      read += records.length;
      latestOf((records as BusRecord<'settlements'>[]).map((r) => r.value), tail);
    }
  }
  const merged = new Map<string, StatementSettlement>();
  for (const s of (await index?.settlementsIn(request)) ?? []) merged.set(s.lineKey, s);
  for (const [lineKey, s] of tail) {
    const indexed = index?.whereOf(lineKey);
    if (indexed !== undefined && indexed.version >= s.version) continue;
    // a newer version in the tail replaces the indexed one, wherever it now belongs
    merged.delete(lineKey);
    if (s.adherentId === request.adherentId && s.careDate >= request.from && s.careDate <= request.to) merged.set(lineKey, statementSettlementOf(s));
  }
  return { settlements: [...merged.values()], tail: read };
}

export interface StatementIndexer {
  /** settlement records folded into the index since the start */
  readonly stats: { consumed: number };
  readonly done: Promise<void>;
  /** finishes the batch in flight (its transaction, then its offsets), leaves the group, closes the store */
  stop(): Promise<void>;
}

/**
 * The index kept as settlements pass, for `noemie run` without `--once` (the service mode): the
 * same consumer as `updateStatementIndex` (group `statements`, one transaction per batch before its
 * offsets), never finishing. Statements printed meanwhile (`noemie statement`, read-only while the
 * run holds the embedded bus) then find only the last few settlements outside the index.
 */
export async function startStatementIndexer(options: { bus: Bus; home: string; groupId?: string; logger?: Logger; index?: StatementIndex }): Promise<StatementIndexer> {
  const index = options.index ?? (await StatementIndex.open(options.home));
  const owned = options.index === undefined;
  const stats = { consumed: 0 };
  let sub;
  try {
    sub = await options.bus.consume({
      groupId: options.groupId ?? STATEMENTS_GROUP,
      topics: ['settlements'],
      maxBatch: STATEMENTS_MAX_BATCH,
      raw: { settlements: settlementForStatements },
      handler: async (batch) => {
        await index.apply(batch.records.map((r) => r.value));
        stats.consumed += batch.records.length;
      },
    });
  } catch (e) {
    if (owned) await index.close();
    throw e;
  }
  const subscription = sub;
  const done = subscription.done.finally(() => (owned ? index.close() : undefined));
  done.catch((e: unknown) => options.logger?.error({ err: e }, 'statements: the index consumer stopped'));
  return {
    stats,
    done,
    async stop() {
      await subscription.stop();
      await done;
    },
  };
}
