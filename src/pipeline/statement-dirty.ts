import { createHash } from 'node:crypto';
import { splitCompositeKey, type StateStore, type SubStore } from '../state/kv-store.js';

/**
 * Which member statements can have changed since they were last written (src/pipeline/README.md,
 * "Member statements"), in the home's state store:
 *
 *   statements.dirty/<adherentId>   n — the family's statement must be computed again; n grows at
 *                                   each mark, so the statement stage clears only the marks it saw
 *   statements.meta/written         { inputs } — a full pass of `run --once` finished with these
 *                                   shared inputs (nomenclature labels, insurer, professionals' names)
 *
 * A family is marked IN THE SAME TRANSACTION as what changes its statement: a new version of one of
 * its lines in the statement index (and the family the line left), a change of one of its lines'
 * payment facts (payments-store.ts: a run paying, recovering or blocking it, a hold, an operator
 * payment, a bank return), an event of its membership history. `run --once` then computes the
 * statements of the marked families only, and removes a mark once the family's files are durably
 * written (fsynced). No `written` marker (a home of an earlier version, a payment state replaced
 * whole) or other shared inputs: every family is written, as before, and the marker is set after.
 */
export const STATEMENTS_DIRTY = 'statements.dirty';
export const STATEMENTS_META = 'statements.meta';
/** the statement index's line → key sub-store (statement-index.ts), read to find a line's family */
export const STATEMENTS_WHERE = 'statements.where';

const WRITTEN = 'written';

export interface StatementsWritten {
  /** statementInputsHash of the last full pass */
  inputs: string;
}

export class DirtyFamilies {
  private readonly dirty: SubStore<number>;
  private readonly meta: SubStore<StatementsWritten>;
  private readonly where: SubStore<{ key: string | null }>;

  constructor(readonly kv: StateStore) {
    this.dirty = kv.sub(STATEMENTS_DIRTY);
    this.meta = kv.sub(STATEMENTS_META);
    this.where = kv.sub(STATEMENTS_WHERE);
  }

  /** Inside a commit: these families' statements must be computed again (null / undefined ignored, each family once). */
  mark(adherentIds: Iterable<string | null | undefined>): void {
    const seen = new Set<string>();
    for (const id of adherentIds) {
      if (id == null || seen.has(id)) continue;
      seen.add(id);
      this.dirty.put(id, (this.dirty.get(id) ?? 0) + 1);
    }
  }

  /**
   * Inside a commit: the families of these lines (payment facts changed). A line's family is the
   * one the statement index files it under now, plus the ones the caller knows (the payment
   * ledger's view of the line's settlement, before and after): the index and the payment ledger
   * may each be ahead of the other by a version that moved the line.
   */
  markLines(lineKeys: Iterable<string>, knownFamilies: (lineKey: string) => Iterable<string | null | undefined> = () => []): void {
    const families = new Set<string | null | undefined>();
    for (const lineKey of lineKeys) {
      families.add(this.indexedFamilyOf(lineKey));
      for (const f of knownFamilies(lineKey)) families.add(f);
    }
    this.mark(families);
  }

  /** The family the statement index files the line under (undefined: not indexed, or no family). */
  indexedFamilyOf(lineKey: string): string | undefined {
    const key = this.where.get(lineKey)?.key;
    return key == null ? undefined : splitCompositeKey(key)[0];
  }

  /** The marked families with their mark, in key order. */
  *entries(): Generator<[string, number]> {
    yield* this.dirty.entries();
  }

  /** Inside a commit: removes the marks that are still the ones seen (a family marked again meanwhile keeps its mark). */
  clear(seen: Iterable<readonly [string, number]>): void {
    for (const [id, n] of seen) if (this.dirty.get(id) === n) this.dirty.remove(id);
  }

  /** The shared inputs of the last full pass (undefined: none finished yet in this home). */
  written(): StatementsWritten | undefined {
    return this.meta.get(WRITTEN);
  }

  /** Inside a commit: a full pass with these shared inputs finished. */
  setWritten(inputs: string): void {
    this.meta.put(WRITTEN, { inputs });
  }

  /** Inside a commit: the next pass writes every family (what the marks follow was replaced whole). */
  forgetWritten(): void {
    if (this.meta.has(WRITTEN)) this.meta.remove(WRITTEN);
  }
}

/** What every statement shares besides its family's facts: a change of it rewrites every family. */
export function statementInputsHash(inputs: { labels: Record<string, string>; insurer: unknown; professionalNames: Record<string, string> }): string {
  return createHash('sha256').update(JSON.stringify([inputs.labels, inputs.insurer, inputs.professionalNames])).digest('hex');
}
