import type { Beneficiary } from '../model/reference.js';
import type { StatementOptions } from '../statement/index.js';
import { PaymentsStore } from './payments-store.js';
import type { StateStore } from '../state/kv-store.js';
import { LmdbStatementMarks, StatementMarks, statementInputsHash } from './statement-dirty.js';
import { StatementFiles } from './statement-files.js';
import type { StatementIndex } from './statement-index.js';
import { familyStatementFiles } from './statement-render.js';
import type { FamilyStatementInput, FamilyTaskInput, StatementRenderSetup } from './statement-render-messages.js';
import { StatementRenderPool } from './statement-render-pool.js';
import { decodeIndexedLines } from './statement-line-codec.js';

/** A family of a group read on this thread: its statement's inputs, decoded when called. */
type FamilyToRender = () => Promise<FamilyStatementInput>;

/** The family side of a statement: who is in it (the membership store's live index). */
export interface StatementFamilies {
  /** every family the home knows, in key order (a full pass) */
  all(): Iterable<string>;
  /** the family's people, [] for a family the home does not know (no statement: as before) */
  members(adherentId: string): readonly Beneficiary[];
  has(adherentId: string): boolean;
}

export interface StatementPassOptions {
  dir: string;
  /** the home's statement index (LevelDB), brought up to date by the caller; its store holds the marks and the full-pass marker */
  index: StatementIndex;
  /** the home's LMDB state store (marks an earlier version's payment state left there, statement-dirty.ts; an older home's payment state, moved) */
  kv: StateStore;
  families: StatementFamilies;
  labels: Record<string, string>;
  insurer: NonNullable<StatementOptions['insurer']>;
  issuedOn: string;
  professionalNames: Record<string, string>;
  /** families whose files are written at once (default 8; on this thread, without `renderThreads`) */
  inFlight?: number;
  /**
   * statement workers (statement-render-pool.ts) that render and write the families' files while
   * this thread reads the next ones (default 0: rendered and written from this thread). Needs the
   * built worker (`npm run build`).
   */
  renderThreads?: number;
  /** families per worker task, or read together on this thread (default 16) */
  familiesPerTask?: number;
  /** benches: measure the structured-clone size of the worker tasks (StatementPass.clone) */
  measureClone?: boolean;
  /** families whose marks are cleared in one commit, once their files are durable (default 256) */
  clearEvery?: number;
  /** tests: after a group's files are durable, before its marks are cleared (a crash there is what it simulates) */
  beforeClear?: (families: readonly string[]) => Promise<void> | void;
}

export interface StatementPass {
  /** every family (first pass of the home, payment state replaced, shared inputs changed) or the marked ones */
  pass: 'all' | 'changed';
  /** families looked at: every known one, or the marked ones */
  looked: number;
  /** statements computed (families with at least one settlement), as `run --once` always reported */
  families: number;
  files: { written: number; unchanged: number };
  /** with `measureClone` and workers: tasks sent, their structured-clone bytes in all and the largest */
  clone?: { tasks: number; bytes: number; largest: number };
}

/**
 * The statements of `run --once` (src/pipeline/README.md, "Member statements"): the families whose
 * statement can have changed since the last pass (`statements.dirty`, statement-dirty.ts), or
 * every family when the home has no finished full pass with the same shared inputs. Per family:
 * one range scan of the index, point reads of its lines' payment facts, its members; a few
 * families' files in flight at once (their files fsynced), and the marks of a group of families
 * removed in one commit once all of that group's files are durable — a crash before leaves them
 * marked: the next run writes them again, the same bytes for the same facts on the same day.
 */
export async function writeStatementPass(o: StatementPassOptions): Promise<StatementPass> {
  const dirty = o.index.dirty;
  const inputs = statementInputsHash({ labels: o.labels, insurer: o.insurer, professionalNames: o.professionalNames });
  const full = dirty.written()?.inputs !== inputs;
  // the marks of both engines as they are now: a mark made after this (another writer of the home) is a newer number, kept by `clear`
  const both = new StatementMarks(dirty, new LmdbStatementMarks(o.kv));
  const seen = await both.read();
  const marks = StatementMarks.families(seen);
  // the payment facts, in the same LevelDB (an older home's payment state moved there first)
  const payments = await PaymentsStore.over(o.index.level, o.kv);
  // the blocked marks and held orders, read once for every family (while few): not per line
  const once = await payments.statementFactsOnce();
  const setup: StatementRenderSetup = { dir: o.dir, labels: o.labels, insurer: o.insurer, issuedOn: o.issuedOn, professionalNames: o.professionalNames, durable: true };
  // with workers: this thread reads, a task of `perTask` families renders and writes in a worker
  const render = o.renderThreads ? new StatementRenderPool({ threads: o.renderThreads, setup, measureClone: o.measureClone ?? false }) : null;
  const files = render === null ? new StatementFiles(o.inFlight ?? 8, { durable: true }) : null;
  const perTask = o.familiesPerTask ?? 16;
  const clearEvery = o.clearEvery ?? 256;
  const result: StatementPass = { pass: full ? 'all' : 'changed', looked: 0, families: 0, files: render?.counts ?? files!.counts };

  /**
   * A group's families' index ranges, read at once and kept as stored (the index's encoded lines),
   * with their lineKeys. Families without a statement (unknown to the home) are left out.
   */
  const readRanges = async (ids: readonly string[]) => {
    const known = ids.filter((id) => o.families.has(id));
    const read = await Promise.all(known.map((adherentId) => o.index.encodedSettlementsIn({ adherentId, from: '2000-01-01', to: '2099-12-31' })));
    return { known, read, keys: read.map((r) => r.lineKeys) };
  };
  /**
   * on this thread: a group read as stored — the index's lines and the payment lines as bytes —,
   * each family decoded just before it is rendered (`inputOf`): a group is read while the one
   * before it is written, and its decoded objects lived through that writing, outliving
   * young-generation collections (promoted: ≈ 1.3 kB a line). With more marks or holds than the
   * pass reads at once, decoded when read, as before.
   */
  const readGroup = async (ids: readonly string[]): Promise<FamilyToRender[]> => {
    const { known, read, keys } = await readRanges(ids);
    const stored = await payments.storedFactsOfMany(keys.flat(), once);
    const facts = stored === null ? await payments.paymentFactsOfMany(keys.flat(), once) : null;
    return known.flatMap((adherentId, i) => {
      const lineKeys = keys[i]!;
      if (lineKeys.length === 0) return [];
      const members = [...o.families.members(adherentId)];
      const lines = read[i]!.lines;
      return [
        async (): Promise<FamilyStatementInput> => ({
          adherentId,
          settlements: decodeIndexedLines(lines),
          payments: stored === null ? new Map(lineKeys.map((k) => [k, facts!.get(k)!])) : await payments.storedFactsOf(stored, lineKeys),
          members,
        }),
      ];
    });
  };
  /**
   * with workers: the index's lines as stored (the worker decodes them), the lines' payment facts
   * in one `paymentFactsOfMany` (LevelDB's reads on libuv's pool, not this thread; the blocked marks
   * and holds from what the pass read once, `statementFactsOnce`)
   */
  const readTask = async (ids: readonly string[]): Promise<FamilyTaskInput[]> => {
    const { known, read, keys } = await readRanges(ids);
    const facts = await payments.paymentFactsOfMany(keys.flat(), once);
    return known.flatMap((adherentId, i) =>
      keys[i]!.length === 0 ? [] : [{ adherentId, lines: read[i]!.lines, payments: new Map(keys[i]!.map((k) => [k, facts.get(k)!])), members: [...o.families.members(adherentId)] }],
    );
  };

  /** on this thread: the group being read while the one before it is written (null: none) */
  let readAhead: Promise<FamilyToRender[]> | null = null;
  /** start reading `ids` (null: nothing more), then write the group read before them */
  const readNextWritePrevious = async (ids: readonly string[] | null) => {
    const previous = readAhead;
    readAhead = ids === null ? null : readGroup(ids);
    // a read that fails while the previous group is written is reported by its own await, later
    readAhead?.catch(() => undefined);
    if (previous === null) return;
    for (const inputOf of await previous) {
      result.families += 1;
      await files!.add(familyStatementFiles(await inputOf(), setup));
    }
  };
  /** a group of families, to a worker or to this thread's read-ahead */
  const handOver = async (ids: readonly string[]) => {
    if (render === null) return readNextWritePrevious(ids);
    const task = await readTask(ids);
    result.families += task.length;
    if (task.length > 0) await render.submit(task);
  };
  let waiting: string[] = [];
  const handOverWaiting = async () => {
    const ids = waiting;
    waiting = [];
    if (ids.length > 0) await handOver(ids);
  };
  const writeFamily = async (adherentId: string) => {
    result.looked += 1;
    waiting.push(adherentId);
    if (waiting.length >= perTask) await handOverWaiting();
  };
  /** every family handed over so far has its files durable (the families still waiting sent first) */
  const flushFiles = async () => {
    await handOverWaiting();
    if (render !== null) return render.drain();
    await readNextWritePrevious(null);
    await files!.flush();
  };

  try {
    if (full) {
      // every family; the marks seen are cleared with the marker, once every file is durable
      // the families' ids only (as before): their data is read one family at a time
      const all = [...o.families.all()];
      for (let i = 0; i < all.length; i++) {
        await writeFamily(all[i]!);
        // the files to sync are listed until a flush: a bounded list, and syncs issued in groups
        // (workers sync each task's files themselves: no pause of the pipeline until the end)
        if (render === null && (i + 1) % clearEvery === 0) await flushFiles();
      }
      await flushFiles();
      await o.beforeClear?.(all);
      await both.clear(seen, null, () => dirty.setWritten(inputs));
    } else {
      for (let i = 0; i < marks.length; i += clearEvery) {
        const group = marks.slice(i, i + clearEvery);
        for (const adherentId of group) await writeFamily(adherentId);
        await flushFiles();
        await o.beforeClear?.(group);
        await both.clear(seen, new Set(group));
      }
    }
  } finally {
    await files?.flush().catch(() => undefined);
    await render?.close();
  }
  if (render !== null && o.measureClone) result.clone = { ...render.clone };
  return result;
}
