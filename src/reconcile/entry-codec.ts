import { claimOf, claimTuple, lineOf, lineTuple, personOf } from './state-codec.js';
import type { ClaimEntry, LineEntry } from './types.js';

/**
 * Layout 3 of the reconciliation state (src/pipeline/README.md, "Reconciliation state"): one record
 * per line and per claim of a beneficiary, plus a small head, instead of the beneficiary's whole
 * state. The entries are the tuples of the compact form (state-codec.ts: fields in a fixed order,
 * the NIR and rang `0` when they are the beneficiary's), wrapped with the write number `w` of the
 * beneficiary's write that produced them:
 *
 *   entry record  [3, w, tuple]            what the store keeps for an entry
 *                 [3, w, tuple, undo]      what reconcile-changelog carries: `undo` the entry's
 *                                          tuple before that write (null: it did not exist)
 *                 [3, w, tuple, undo, seq] the LAST record of a write: it carries the beneficiary's
 *                                          head (write number w complete, outcome count seq); since
 *                                          session 14 its undo is written null (a record that carries
 *                                          its head is never read above it); one written before with
 *                                          the entry's tuple there reads the same
 *   head record   [3, w, seq]              (key `<NIR-rang>#H`) a head alone: read, not written
 *
 * An entry whose `w` is above its head's is the left-over of a write cut before its head: it reads
 * as its `undo` (the reconcile store settles such left-overs before deciding anything).
 */
export const ENTRY_LAYOUT = 3;

export type EntryKind = 'L' | 'C';
export type AnyEntry = LineEntry | ClaimEntry;

export function lineEntryText(beneficiary: string, line: LineEntry): string {
  return JSON.stringify(lineTuple(line, personOf(beneficiary)));
}

export function claimEntryText(beneficiary: string, claim: ClaimEntry): string {
  return JSON.stringify(claimTuple(claim, personOf(beneficiary)));
}

export function entryText(beneficiary: string, kind: EntryKind, entry: AnyEntry): string {
  return entryTextOf(personOf(beneficiary), kind, entry);
}

/**
 * `entryText` with the beneficiary's NIR and rang already split (`personOf`): a write of several
 * entries splits them once, not once per entry and undo (bench/README.md "Session 23 — alloc").
 */
export function entryTextOf(person: { nir: string; rang: number }, kind: EntryKind, entry: AnyEntry): string {
  return JSON.stringify(kind === 'L' ? lineTuple(entry as LineEntry, person) : claimTuple(entry as ClaimEntry, person));
}

/**
 * The record of an entry written at `w` (with its undo for the changelog; without, as the store
 * keeps it). `seq`: the last record of a write carries the beneficiary's head (its outcome count),
 * which commits the write (no separate head record: one record less per write).
 */
export function entryRecordText(w: number, tupleText: string, undo?: string | null, seq?: number): string {
  if (undo === undefined) return `[${ENTRY_LAYOUT},${w},${tupleText}]`;
  return `[${ENTRY_LAYOUT},${w},${tupleText},${undo ?? 'null'}${seq === undefined ? '' : `,${seq}`}]`;
}

export function headRecordText(w: number, seq: number): string {
  return `[${ENTRY_LAYOUT},${w},${seq}]`;
}

export interface EntryRecord<E extends AnyEntry = AnyEntry> {
  w: number;
  entry: E;
  /** the entry before write `w` (null: none); undefined when the record does not carry it (the store's own) */
  undo: E | null | undefined;
  /** on the last record of a write: the beneficiary's outcome count after it (the write's head) */
  seq?: number;
}

function entryOfTuple(beneficiary: string, kind: EntryKind, t: unknown): AnyEntry {
  if (!Array.isArray(t)) throw new Error(`an entry tuple must be an array, found ${JSON.stringify(t)}`);
  const p = personOf(beneficiary);
  return kind === 'L' ? lineOf(t, p) : claimOf(t, p);
}

/**
 * An entry record back from its text. Not a validation (the store's values are the service's own;
 * what comes from the bus is checked with zod by the reader).
 */
export function parseEntryRecord(beneficiary: string, kind: EntryKind, text: string): EntryRecord {
  return entryRecordOf(beneficiary, kind, JSON.parse(text));
}

/** `parseEntryRecord` of a record already parsed (a changelog record's value, written as JSON in the record since session 16). */
export function entryRecordOf(beneficiary: string, kind: EntryKind, v: unknown): EntryRecord {
  if (!Array.isArray(v) || v[0] !== ENTRY_LAYOUT || !Number.isInteger(v[1])) throw new Error(`not a reconciliation entry record (layout ${ENTRY_LAYOUT})`);
  const undo = v.length > 3 ? (v[3] === null ? null : entryOfTuple(beneficiary, kind, v[3])) : undefined;
  const record: EntryRecord = { w: v[1] as number, entry: entryOfTuple(beneficiary, kind, v[2]), undo };
  if (v.length > 4) {
    if (!Number.isInteger(v[4]) || (v[4] as number) < 0) throw new Error(`the head of an entry record must be an outcome count, found ${JSON.stringify(v[4])}`);
    record.seq = v[4] as number;
  }
  return record;
}

/** A reconciliation head record (`[layout, w, seq]`), already parsed from its changelog record. */
export function headRecordOf(v: unknown): { w: number; seq: number } {
  if (!Array.isArray(v) || v[0] !== ENTRY_LAYOUT || !Number.isInteger(v[1]) || !Number.isInteger(v[2])) throw new Error(`not a reconciliation head record (layout ${ENTRY_LAYOUT})`);
  return { w: v[1] as number, seq: v[2] as number };
}

/**
 * The changelog keys of layout 3: `<NIR-rang>#H` for the head, `<NIR-rang>#L#<lineKey>` and
 * `<NIR-rang>#C#<tpClaimId>` for the entries. A key without `#` is a whole state of layouts 1–2
 * (key `<NIR-rang>`), read when a home of an earlier build is rebuilt. (A NIR holds no `#`; an id may.)
 */
export type ChangelogKey = { beneficiary: string; what: 'head' } | { beneficiary: string; what: 'entry'; kind: EntryKind; id: string } | { beneficiary: string; what: 'state' };

export const headChangelogKey = (beneficiary: string) => `${beneficiary}#H`;
export const entryChangelogKey = (beneficiary: string, kind: EntryKind, id: string) => `${beneficiary}#${kind}#${id}`;

export function parseChangelogKey(key: string): ChangelogKey {
  const hash = key.indexOf('#');
  if (hash === -1) return { beneficiary: key, what: 'state' };
  const beneficiary = key.slice(0, hash);
  const rest = key.slice(hash + 1);
  if (rest === 'H') return { beneficiary, what: 'head' };
  if ((rest.startsWith('L#') || rest.startsWith('C#')) && rest.length > 2) return { beneficiary, what: 'entry', kind: rest[0] as EntryKind, id: rest.slice(2) };
  throw new Error(`not a reconciliation changelog key: ${JSON.stringify(key)}`);
}

/** When the entry's wait runs out (what the deadline index holds), null when none runs: as nextDeadline counts it. */
export function deadlineOf(kind: EntryKind, entry: AnyEntry): string | null {
  if (kind === 'L') {
    const l = entry as LineEntry;
    return l.status === 'held' && !l.exceptionRaised ? l.deadline : null;
  }
  const c = entry as ClaimEntry;
  return c.lineKey === null && !c.exceptionRaised ? c.deadline : null;
}
