import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { splitCompositeKey, type StateStore, type SubStore } from '../state/kv-store.js';
import { LevelStore, type LevelSubStore } from '../state/level-store.js';
import { WhereEntries } from './statement-where.js';

/**
 * Which member statements can have changed since they were last written (src/pipeline/README.md,
 * "Member statements"), in the home's log-structured store (LevelDB, src/state/level-store.ts)
 * beside the statement index (session 10; LMDB before):
 *
 *   statements.dirty/<adherentId>   n — the family's statement must be computed again; n grows at
 *                                   each mark, so the statement stage clears only the marks it saw
 *   statements.meta/written         { inputs } — a full pass of `run --once` finished with these
 *                                   shared inputs (nomenclature labels, insurer, professionals' names)
 *
 * Who marks, and in which order (a step writes to ONE engine):
 * - the statement index: in the SAME LevelDB batch as the new versions (statement-index.ts);
 * - the membership store (LMDB): the batch's families are marked in a durable LevelDB commit
 *   FIRST (`markNow`), then the events are committed in LMDB. A crash between the two leaves a
 *   mark without its change: the next pass computes that family's statement again from the same
 *   facts — the same bytes, the file is left as it is — and nothing is lost;
 * - the payment state (payments-store.ts, payment-run-stream.ts): its marks are decided inside its
 *   own commits and written in the SAME LevelDB batch as the change (`PaymentStatementMarks`;
 *   session 11 — before, the payment state was in LMDB and so were its marks). The line → family
 *   lookup reads the index's `statements.where`. A line the index moved to another family in
 *   between marked the family it left in the index's own batch. Marks an earlier version left in
 *   LMDB (`statements.dirty`, and `statements.dirty-line/<lineKey>` made beside a process holding
 *   the LevelDB) are still read and cleared by the statement stage (`LmdbStatementMarks`).
 * `run --once` computes the statements of the marked families only, and removes a mark once the
 * family's files are durably written (fsynced), each engine's marks in its own commit (a crash
 * between the two leaves marks: computed again, the same bytes). No `written` marker (a home of an
 * earlier version, a payment state replaced whole) or other shared inputs: every family is written.
 */
export const STATEMENTS_DIRTY = 'statements.dirty';
/** LMDB: lines whose payment facts changed, marked by an earlier version's payment writer that could not open the index (LmdbStatementMarks reads them) */
export const STATEMENTS_DIRTY_LINE = 'statements.dirty-line';
export const STATEMENTS_META = 'statements.meta';
/** the statement index's line → key sub-store (statement-index.ts, statement-where.ts), read to find a line's family */
export { STATEMENTS_WHERE } from './statement-where.js';

const WRITTEN = 'written';

export interface StatementsWritten {
  /** statementInputsHash of the last full pass */
  inputs: string;
}

/** A home's directory from its LMDB store file (`<home>/state/store.mdb`). */
export const homeOfStateStore = (kv: StateStore) => dirname(dirname(kv.file));

/** Each family once, null / undefined left out. */
function familiesIn(adherentIds: Iterable<string | null | undefined>): string[] {
  const out = new Set<string>();
  for (const id of adherentIds) if (id != null) out.add(id);
  return [...out];
}

/** The marks and the full-pass marker in the home's LevelDB (the index's own marks and the members'). */
export class DirtyFamilies {
  private readonly dirty: LevelSubStore<number>;
  private readonly meta: LevelSubStore<StatementsWritten>;
  private readonly where: WhereEntries;

  constructor(readonly level: LevelStore) {
    this.dirty = level.sub(STATEMENTS_DIRTY);
    this.meta = level.sub(STATEMENTS_META);
    this.where = new WhereEntries(level);
  }

  /** Inside a LevelDB commit: these families' statements must be computed again (null / undefined ignored, each family once). */
  mark(adherentIds: Iterable<string | null | undefined>): void {
    for (const id of familiesIn(adherentIds)) this.dirty.put(id, (this.dirty.get(id) ?? 0) + 1);
  }

  /**
   * Marks these families in a durable commit of their own, for a writer of the OTHER engine (the
   * membership store): called BEFORE that writer's LMDB commit, so a committed change always has
   * its mark. A superset is harmless: a family marked for nothing is computed again, same bytes.
   */
  async markNow(adherentIds: Iterable<string | null | undefined>): Promise<void> {
    const ids = familiesIn(adherentIds);
    if (ids.length > 0) await this.level.commit(() => this.mark(ids));
  }

  /** Whether the statement index files any line (one range read). */
  indexFilesAnyLine(): Promise<boolean> {
    return this.where.any();
  }

  /** The family the statement index files the line under (undefined: not indexed, or no family). */
  indexedFamilyOf(lineKey: string): string | undefined {
    const key = this.where.get(lineKey)?.key;
    return key == null ? undefined : splitCompositeKey(key)[0];
  }

  /** The marked families with their mark, in key order (an async scan, collected). */
  async entries(): Promise<[string, number][]> {
    const out: [string, number][] = [];
    for await (const e of this.dirty.entries()) out.push(e);
    return out;
  }

  /** Inside a LevelDB commit: removes the marks that are still the ones seen (a family marked again meanwhile keeps its mark). */
  clear(seen: Iterable<readonly [string, number]>): void {
    for (const [id, n] of seen) if (this.dirty.get(id) === n) this.dirty.remove(id);
  }

  /** The shared inputs of the last full pass (undefined: none finished yet in this home). */
  written(): StatementsWritten | undefined {
    return this.meta.get(WRITTEN);
  }

  /** Inside a LevelDB commit: a full pass with these shared inputs finished. */
  setWritten(inputs: string): void {
    this.meta.put(WRITTEN, { inputs });
  }

  /** Inside a LevelDB commit: the next pass writes every family (what the marks follow was replaced whole). */
  forgetWritten(): void {
    if (this.meta.get(WRITTEN) !== undefined) this.meta.remove(WRITTEN);
  }
}

/**
 * The membership store's marks: the home's LevelDB opened on the first mark (a read-only store
 * never opens it: LevelDB's LOCK allows one process), closed with the store.
 */
export class LazyDirtyFamilies {
  private opened: Promise<DirtyFamilies> | null = null;

  constructor(private readonly home: string) {}

  /** Marks these families in a durable LevelDB commit (DirtyFamilies.markNow): before the caller's LMDB commit. */
  async markNow(adherentIds: Iterable<string | null | undefined>): Promise<void> {
    const ids = familiesIn(adherentIds);
    if (ids.length === 0) return;
    this.opened ??= LevelStore.open(this.home).then((level) => new DirtyFamilies(level));
    await (await this.opened).markNow(ids);
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (opened) await (await opened.catch(() => null))?.level.close();
  }
}

/**
 * The payment state's marks (payments-store.ts, payment-run-stream.ts), written INSIDE the payment
 * commit's own LevelDB batch (session 11: the payment state is in LevelDB too): the change and its
 * mark are one batch. A line's family is the one the statement index files it under now
 * (`statements.where`, a point read), plus the ones the caller knows.
 */
export class PaymentStatementMarks {
  /** `lookUp` false: the statement index files no line, its lookups are skipped (`forCommit`) */
  constructor(
    readonly families: DirtyFamilies,
    private readonly lookUp = true,
  ) {}

  /**
   * The marks for ONE commit, asked for in its read phase (inside its `LevelStore.update`, before
   * the write it returns): while the statement index files no line at all (one range read of one
   * key), no line has an indexed family, so `markLines` marks the families the caller knows without
   * a point read of the index per line (all misses: in `run --once` the index is built after the
   * payments, 211 k reads at 100 k lines; bench/README.md, "Session 20 — payments"). Valid for that
   * commit only: no other commit of the process runs between its reads and its batch, and no other
   * process opens the LevelDB (LOCK). An index with entries: the lookups, as ever.
   */
  async forCommit(): Promise<PaymentStatementMarks> {
    return (await this.families.indexFilesAnyLine()) ? this : new PaymentStatementMarks(this.families, false);
  }

  /**
   * Inside a LevelDB commit: the families of these lines (payment facts changed). A line's family
   * is the one the statement index files it under now, plus the ones the caller knows (the payment
   * ledger's view of the line's settlement, before and after): the index and the payment ledger
   * may each be ahead of the other by a version that moved the line.
   */
  markLines(lineKeys: Iterable<string>, knownFamilies: (lineKey: string) => Iterable<string | null | undefined> = () => []): void {
    const families = new Set<string | null | undefined>();
    for (const lineKey of lineKeys) {
      if (this.lookUp) families.add(this.families.indexedFamilyOf(lineKey));
      for (const f of knownFamilies(lineKey)) families.add(f);
    }
    this.families.mark(families);
  }
}

/**
 * The marks an earlier version's payment state left in LMDB (before session 11 its commits were
 * LMDB transactions): `statements.dirty/<adherentId>`, and `statements.dirty-line/<lineKey>` made
 * by a payment command beside a process holding the LevelDB (session 10; nothing writes either
 * since the payment state moved to LevelDB — a command beside a running service asks the service).
 * Read and cleared by the statement stage until empty.
 */
export class LmdbStatementMarks {
  private readonly dirty: SubStore<number>;
  private readonly dirtyLines: SubStore<number>;

  constructor(readonly kv: StateStore) {
    this.dirty = kv.sub(STATEMENTS_DIRTY);
    this.dirtyLines = kv.sub(STATEMENTS_DIRTY_LINE);
  }

  /** The marked families with their mark, in key order. */
  entries(): [string, number][] {
    return [...this.dirty.entries()];
  }

  /** The marked lines with their mark, in key order. */
  lineEntries(): [string, number][] {
    return [...this.dirtyLines.entries()];
  }

  /** Inside an LMDB commit: removes the marks that are still the ones seen (families, then lines). */
  clear(seen: Iterable<readonly [string, number]>, seenLines: Iterable<readonly [string, number]> = []): void {
    for (const [id, n] of seen) if (this.dirty.get(id) === n) this.dirty.remove(id);
    for (const [lineKey, n] of seenLines) if (this.dirtyLines.get(lineKey) === n) this.dirtyLines.remove(lineKey);
  }
}

/** What one statement pass read of the marks: each engine's, cleared in that engine. */
export interface SeenMarks {
  level: [string, number][];
  lmdb: [string, number][];
  /** LMDB's marked lines, each with the family the index files it under when read (none: not on any statement) */
  lines: [string, number, string | undefined][];
}

/** Both engines' marks, as the statement stage reads and clears them (statement-pass.ts). */
export class StatementMarks {
  constructor(
    readonly level: DirtyFamilies,
    readonly lmdb: LmdbStatementMarks | null,
  ) {}

  async read(): Promise<SeenMarks> {
    const lines = (this.lmdb?.lineEntries() ?? []).map(([lineKey, n]): [string, number, string | undefined] => [lineKey, n, this.level.indexedFamilyOf(lineKey)]);
    return { level: await this.level.entries(), lmdb: this.lmdb?.entries() ?? [], lines };
  }

  /** The families marked in either engine (or whose lines are), in key order, each once. */
  static families(seen: SeenMarks): string[] {
    const lineFamilies = seen.lines.flatMap(([, , family]) => (family === undefined ? [] : [family]));
    return [...new Set([...[...seen.level, ...seen.lmdb].map(([id]) => id), ...lineFamilies])].sort();
  }

  /**
   * Clears the marks seen of these families (all when omitted): LevelDB's in one durable commit,
   * with `also` (the full-pass marker), then LMDB's. A crash between leaves LMDB's marks: those
   * families are computed again by the next pass, the same bytes.
   */
  async clear(seen: SeenMarks, families: ReadonlySet<string> | null, also: () => void = () => undefined): Promise<void> {
    const of = (marks: [string, number][]) => (families === null ? marks : marks.filter(([id]) => families.has(id)));
    await this.level.level.commit(() => {
      this.level.clear(of(seen.level));
      also();
    });
    const lmdb = of(seen.lmdb);
    // a line on no statement is cleared with the first group: there is nothing to write for it
    const lines = seen.lines.filter(([, , family]) => families === null || family === undefined || families.has(family)).map(([lineKey, n]): [string, number] => [lineKey, n]);
    if (this.lmdb !== null && lmdb.length + lines.length > 0) await this.lmdb.kv.commit(() => this.lmdb!.clear(lmdb, lines));
  }
}

/** What every statement shares besides its family's facts: a change of it rewrites every family. */
export function statementInputsHash(inputs: { labels: Record<string, string>; insurer: unknown; professionalNames: Record<string, string> }): string {
  return createHash('sha256').update(JSON.stringify([inputs.labels, inputs.insurer, inputs.professionalNames])).digest('hex');
}
