import { describe, expect, it } from 'vitest';
import { TpClaimSchema } from '../../src/model/tp-claim.js';
import { decide, decideAll, foldOf, initialReconState, parseReconState, type ReconEvent } from '../../src/reconcile/index.js';
import { ClaimEntrySchema, LineEntrySchema } from '../../src/reconcile/state-schema.js';
import { CLAIM_FIELDS, decodeReconState, decodeReconStateText, encodeReconState, encodeReconStateText, LINE_FIELDS } from '../../src/reconcile/state-codec.js';
import { at, C, claim, line, NIR, S, T } from './given.js';

const KEY = `${NIR}-1`;

/** A history touching every kind of entry: matched, indu, held then exception, annulled, a claim resent, a pending claim past its wait. */
const history: ReconEvent[] = [
  C(claim({ tpClaimId: 'C1' })),
  S(line({ lineKey: 'L1' })),
  S(line({ lineKey: 'L2', careDate: '2025-03-04' })),
  C(claim({ tpClaimId: 'C2', careDate: '2025-03-04', amcAmountClaimed: '25.00', paidOn: '2025-03-06' }), at('2025-03-06')),
  S(line({ lineKey: 'L3', careDate: '2025-03-07', invoiceNo: 'F7' }), at('2025-03-11')),
  C(claim({ tpClaimId: 'C9', careDate: '2025-01-01', actCode: 'C', paidOn: '2025-01-02' }), at('2025-03-12')),
  S(line({ lineKey: 'L2', careDate: '2025-03-04', version: 2, operation: 'A' }), at('2025-03-20')),
  S(line({ lineKey: 'L4', tp: '00', payee: 'member:A001' }), at('2025-03-21')),
  T(at('2025-05-01')),
];

/** fields of an entry schema, identity / claim flattened as the tuples list them */
function schemaFields(shape: Record<string, unknown>, nested: Record<string, Record<string, unknown>>): string[] {
  return Object.keys(shape).flatMap((k) => (k in nested ? Object.keys(nested[k]!).map((n) => `${k}.${n}`) : [k]));
}

describe('reconciliation state: the compact form (store and reconcile-changelog)', () => {
  it('lists every field of the entry schemas, so a field added there cannot be dropped silently', () => {
    expect([...LINE_FIELDS].sort()).toEqual(schemaFields(LineEntrySchema.shape, { identity: LineEntrySchema.shape.identity.shape }).sort());
    expect([...CLAIM_FIELDS].sort()).toEqual(schemaFields(ClaimEntrySchema.shape, { claim: TpClaimSchema.shape }).sort());
  });

  it('reads back the very state it encoded, through JSON, optional fields absent where they were', () => {
    const { state } = decideAll(initialReconState(), history);
    // the history produced each kind of entry the codec must carry
    const statuses = Object.values(state.lines).map((l) => l.status).sort();
    expect(statuses).toEqual(['annulled', 'held', 'linked', 'member']);
    expect(Object.values(state.claims).some((c) => c.recoveredOn !== undefined)).toBe(true);
    expect(Object.values(state.lines).some((l) => l.holds === undefined)).toBe(true);

    const text = JSON.stringify(encodeReconState(KEY, state));
    const back = decodeReconState(KEY, JSON.parse(text));
    expect(back).toStrictEqual(state);
    expect(parseReconState(back)).toEqual(state);
    // the NIR is the key's: it is not repeated in every entry (whole-object JSON: once per line and claim)
    expect(text.split(NIR).length - 1).toBe(0);
    expect(JSON.stringify(state).split(NIR).length - 1).toBe(Object.keys(state.lines).length + Object.keys(state.claims).length);
    expect(text.length).toBeLessThan(JSON.stringify(state).length / 2);
  });

  it('keeps an entry naming another person than the key as it is (never rewritten to the key\'s NIR)', () => {
    const { state } = decideAll(initialReconState(), [S(line({ lineKey: 'L1', beneficiary: { nir: '2990175000001', rang: 2 } })), C(claim({ nir: '2990175000001', rang: 2 }))]);
    const back = decodeReconState(KEY, JSON.parse(JSON.stringify(encodeReconState(KEY, state))));
    expect(back).toStrictEqual(state);
    expect(back.lines.L1!.identity).toMatchObject({ nir: '2990175000001', rang: 2 });
  });
});

describe('reconciliation state: the compact text from remembered entries (encodeReconStateText)', () => {
  it('is the compact form\'s JSON after each event of a history, the unchanged entries\' texts reused', () => {
    let state = initialReconState();
    let known: Map<object, string> | undefined;
    for (const e of history) {
      state = decide(state, e).state;
      const { text, texts } = encodeReconStateText(KEY, state, known);
      expect(text).toBe(JSON.stringify(encodeReconState(KEY, state)));
      expect(texts.size).toBe(Object.keys(state.lines).length + Object.keys(state.claims).length);
      known = texts;
    }
  });
});

describe('reconciliation state: read back from its text with each entry\'s text (decodeReconStateText)', () => {
  it('gives the state and the texts the encoder would write, strings holding brackets, quotes and escapes included', () => {
    const odd = 'L"]\\[x';
    const { state } = decideAll(initialReconState(), [...history, S(line({ lineKey: odd, careDate: '2025-03-09', invoiceNo: '[F]\\"9' }), at('2025-03-22'))]);
    const { text, texts } = encodeReconStateText(KEY, state);
    const back = decodeReconStateText(KEY, text);
    expect(back.state).toStrictEqual(state);
    expect(back.state.lines[odd]!.invoiceNo).toBe('[F]\\"9');
    // each decoded entry carries the text the encoder made for the original entry
    const expected = [...texts.values()];
    expect([...back.texts!.values()]).toEqual(expected);
    expect(encodeReconStateText(KEY, back.state, back.texts).text).toBe(text);
  });

  it('parses a text of another spacing whole, without entry texts', () => {
    const { state } = decideAll(initialReconState(), history);
    const spaced = JSON.stringify(encodeReconState(KEY, state), null, 1);
    const back = decodeReconStateText(KEY, spaced);
    expect(back.state).toStrictEqual(state);
    expect(back.texts).toBeUndefined();
  });
});

describe('reconciliation: several events of one key on one working copy (foldOf)', () => {
  it('gives the outcomes and final state of decide folded event by event, and leaves the given state intact', () => {
    const start = decideAll(initialReconState(), history.slice(0, 3)).state;
    const frozen = JSON.stringify(start);
    const rest = history.slice(3);
    const fold = foldOf(start);
    const outcomes = rest.flatMap((e) => fold.decide(e));
    let current = start;
    const expected = rest.flatMap((e) => {
      const d = decide(current, e);
      current = d.state;
      return d.outcomes;
    });
    expect(outcomes.length).toBeGreaterThan(0);
    expect(outcomes).toEqual(expected);
    expect(fold.state).toEqual(current);
    expect(JSON.stringify(start)).toBe(frozen);
  });

  it('hands back the given state while nothing changed', () => {
    const start = decideAll(initialReconState(), history.slice(0, 2)).state;
    const fold = foldOf(start);
    expect(fold.decide(history[1]!)).toEqual([]); // the same line version again
    expect(fold.state).toBe(start);
  });
});
