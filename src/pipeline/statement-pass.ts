import { join } from 'node:path';
import type { Beneficiary } from '../model/reference.js';
import { renderStatementHtml, renderStatementText, statementData, type StatementOptions } from '../statement/index.js';
import { PaymentsStore } from './payments-store.js';
import type { StateStore } from '../state/kv-store.js';
import { LmdbStatementMarks, StatementMarks, statementInputsHash } from './statement-dirty.js';
import { StatementFiles } from './statement-files.js';
import type { StatementIndex } from './statement-index.js';

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
  /** families whose files are written at once (default 8) */
  inFlight?: number;
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
  const files = new StatementFiles(o.inFlight ?? 8, { durable: true });
  const clearEvery = o.clearEvery ?? 256;
  const result: StatementPass = { pass: full ? 'all' : 'changed', looked: 0, families: 0, files: files.counts };
  const options = { insurer: o.insurer, issuedOn: o.issuedOn, professionalNames: o.professionalNames };

  const writeFamily = async (adherentId: string) => {
    result.looked += 1;
    if (!o.families.has(adherentId)) return;
    const settlements = await o.index.settlementsIn({ adherentId, from: '2000-01-01', to: '2099-12-31' });
    if (settlements.length === 0) return;
    const years = settlements.map((s) => s.careDate).sort();
    const period = { adherentId, from: years[0]!, to: years[years.length - 1]! };
    const data = statementData(period, settlements, o.families.members(adherentId), o.labels, { ...options, payments: payments.paymentFactsOf(settlements.map((s) => s.lineKey)) });
    await files.add([[join(o.dir, `${adherentId}.txt`), renderStatementText(data)], [join(o.dir, `${adherentId}.html`), renderStatementHtml(data)]]);
    result.families += 1;
  };

  try {
    if (full) {
      // every family; the marks seen are cleared with the marker, once every file is durable
      // the families' ids only (as before): their data is read one family at a time
      const all = [...o.families.all()];
      for (let i = 0; i < all.length; i++) {
        await writeFamily(all[i]!);
        // the files to sync are listed until a flush: a bounded list, and syncs issued in groups
        if ((i + 1) % clearEvery === 0) await files.flush();
      }
      await files.flush();
      await o.beforeClear?.(all);
      await both.clear(seen, null, () => dirty.setWritten(inputs));
    } else {
      for (let i = 0; i < marks.length; i += clearEvery) {
        const group = marks.slice(i, i + clearEvery);
        for (const adherentId of group) await writeFamily(adherentId);
        await files.flush();
        await o.beforeClear?.(group);
        await both.clear(seen, new Set(group));
      }
    }
  } finally {
    await files.flush().catch(() => undefined);
  }
  return result;
}
