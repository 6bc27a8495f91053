import { describe, expect, it } from 'vitest';
import { decideAll, initialReconState } from '../../src/reconcile/index.js';
import { deadlineOf, entryRecordText, entryText, parseChangelogKey, parseEntryRecord } from '../../src/reconcile/entry-codec.js';
import { nextDeadline } from '../../src/reconcile/tick.js';
import { C, claim, line, NIR, S } from './given.js';

const KEY = `${NIR}-1`;

describe('reconciliation entries (layout 3): one record per line and per claim', () => {
  const { state } = decideAll(initialReconState(), [
    C(claim({ tpClaimId: 'C#1', paidOn: '2025-03-06' })),
    S(line({ lineKey: 'L1' })),
    S(line({ lineKey: 'L2', careDate: '2025-03-04' })),
    C(claim({ tpClaimId: 'C2', careDate: '2025-01-01' })),
  ]);

  it('reads back each entry it wrote, with its write number, its undo and, on a write\'s last record, the head', () => {
    const l1 = state.lines['L1']!;
    const l2 = state.lines['L2']!;
    const c1 = state.claims['C#1']!;
    const stored = parseEntryRecord(KEY, 'L', entryRecordText(4, entryText(KEY, 'L', l1)));
    expect(stored).toEqual({ w: 4, entry: l1, undo: undefined });
    const logged = parseEntryRecord(KEY, 'L', entryRecordText(5, entryText(KEY, 'L', l1), entryText(KEY, 'L', l2), 7));
    expect(logged).toEqual({ w: 5, entry: l1, undo: l2, seq: 7 });
    expect(parseEntryRecord(KEY, 'C', entryRecordText(5, entryText(KEY, 'C', c1), null))).toEqual({ w: 5, entry: c1, undo: null });
    // the NIR is the key's: not repeated in the record
    expect(entryText(KEY, 'C', c1)).not.toContain(NIR);
  });

  it('parses changelog keys: an entry (its id may hold #), a head, a whole state of an older layout', () => {
    expect(parseChangelogKey(`${KEY}#C#C#1`)).toEqual({ beneficiary: KEY, what: 'entry', kind: 'C', id: 'C#1' });
    expect(parseChangelogKey(`${KEY}#L#noemie-1:D1:1`)).toEqual({ beneficiary: KEY, what: 'entry', kind: 'L', id: 'noemie-1:D1:1' });
    expect(parseChangelogKey(`${KEY}#H`)).toEqual({ beneficiary: KEY, what: 'head' });
    expect(parseChangelogKey(KEY)).toEqual({ beneficiary: KEY, what: 'state' });
    expect(() => parseChangelogKey(`${KEY}#X#1`)).toThrow(/not a reconciliation changelog key/);
  });

  it('indexes the waits nextDeadline counts: a held line and a pending claim, not a linked line', () => {
    // C#1 matched L1 (same care event), L2 held (no claim of 2025-03-04), C2 pending (no line of 2025-01-01)
    expect(state.lines['L1']!.status).toBe('linked');
    expect(deadlineOf('L', state.lines['L1']!)).toBeNull();
    expect(deadlineOf('L', state.lines['L2']!)).toBe(state.lines['L2']!.deadline);
    expect(deadlineOf('C', state.claims['C2']!)).toBe(state.claims['C2']!.deadline);
    const all = [...Object.values(state.lines).map((l) => deadlineOf('L', l)), ...Object.values(state.claims).map((c) => deadlineOf('C', c))].filter((d) => d !== null).sort();
    expect(all[0]).toBe(nextDeadline(state));
  });
});
