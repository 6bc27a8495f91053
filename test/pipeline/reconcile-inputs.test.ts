import { describe, expect, it } from 'vitest';
import type { Settlement } from '../../src/model/settlement.js';
import { decideAll, initialReconState, slimSettlement, type ReconEvent } from '../../src/reconcile/index.js';
import { settlementForReconcile } from '../../src/pipeline/reconcile-inputs.js';
import { at, C, claim, jsonBytes as bytes, line, NIR, PS, S, without } from '../reconcile/given.js';

/**
 * What the reconcile service reads of a settlement consumed raw (reconcile-inputs.ts): the fields
 * the decider reads, from the bytes, equal to `slimSettlement` of the whole value — and the
 * decider's outcomes and state from those equal the ones from the whole values.
 */
const FIELDS = ['lineKey', 'beneficiary', 'adherentId', 'careDate', 'actCode', 'status', 'amcAmount', 'payee', 'version', 'operation', 'tp', 'psId', 'invoiceNo'] as const;

const settlements: Settlement[] = [
  line(),
  line({ lineKey: 'noemie-1:T1:1', tp: '25', amcAmount: '19.00', version: 3, invoiceNo: 'F-12', reason: 'a "psId":"999" in a reason, with } and ]' }),
  line({ lineKey: 'noemie-1:A1:1', operation: 'A', status: 'rejected', adherentId: null, version: 2, beneficiary: { nir: NIR, rang: 2 } }),
  // optional fields absent; a nested part with fields of the same names as the top level's
  without(line({ lineKey: 'noemie-1:N1:1', status: 'review', payee: 'member', parts: [{ contract: 'C', amount: '1.00', formula: 'lineKey "x"', rule: 'version' }] }), 'operation', 'tp', 'psId', 'invoiceNo'),
  line({ lineKey: 'noemie-é€:1', adherentId: 'ADH"1\\', actCode: 'C\u00e9', careDate: '2024-12-31', counters: [{ key: 'psId', before: '0.00', after: '9.00' }], reliquidation: { eventId: 'e1', type: 'affiliation_end', effectiveDate: '2024-01-01' } }),
];

describe('reconcile inputs read raw: the decider’s fields from the bytes', () => {
  it('a settlement: the decider’s fields, equal to slimSettlement of the whole value (bytes, text, whitespace the slow way)', () => {
    for (const s of settlements) {
      const want = Object.fromEntries(FIELDS.map((k) => [k, s[k]]));
      const raw = settlementForReconcile(bytes(s));
      expect(raw).toStrictEqual(slimSettlement(s));
      expect(raw).toEqual(want);
      // nothing else of the settlement: no parts, counters, amounts
      expect(Object.keys(raw).sort()).toEqual([...FIELDS].sort());
      expect(settlementForReconcile(JSON.stringify(s))).toStrictEqual(slimSettlement(s));
      // bytes the scan does not read (whitespace between tokens): parsed whole, the same fields
      expect(settlementForReconcile(new TextEncoder().encode(JSON.stringify(s, null, 1)))).toStrictEqual(slimSettlement(s));
    }
  });

  it('a beneficiary that is not {nir, rang} as the schema has it is read the slow way, whole', () => {
    const odd = { ...line(), beneficiary: { nir: NIR, rang: '1' } } as unknown as Settlement;
    expect(settlementForReconcile(bytes(odd))).toStrictEqual(slimSettlement(odd));
    expect((settlementForReconcile(bytes(odd)) as Settlement).beneficiary.rang).toBe('1');
  });

  it('the outcomes and state decided on the fields read raw are those decided on the whole values', () => {
    const whole: ReconEvent[] = [
      C(claim({ tpClaimId: 'C1', amcAmountClaimed: '25.00' })),
      S(line()),
      S(line({ lineKey: 'noemie-1:T2:1', careDate: '2025-03-04' })),
      C(claim({ tpClaimId: 'C2', careDate: '2025-03-04', paidOn: '2025-03-06' }), at('2025-03-11')),
      S(line({ lineKey: 'noemie-1:T2:1', careDate: '2025-03-04', operation: 'A', version: 2 }), at('2025-03-12')),
      S(line({ lineKey: 'noemie-1:M1:1', tp: '00', payee: 'member', psId: undefined }), at('2025-03-12')),
      S(line({ lineKey: 'noemie-1:M1:1', tp: '00', payee: 'member', operation: 'A', version: 2 }), at('2025-03-13')),
      S(line({ version: 2, amcAmount: '12.00', psId: PS }), at('2025-03-14')),
    ];
    const raw = whole.map((e): ReconEvent => (e.kind === 'settlement' ? { ...e, settlement: settlementForReconcile(bytes(e.settlement)) } : e));
    const expected = decideAll(initialReconState(), whole);
    expect(new Set(expected.outcomes.map((o) => o.kind))).toEqual(new Set(['matched', 'indu', 'held', 'annulation-indu']));
    const got = decideAll(initialReconState(), raw);
    expect(got.outcomes).toEqual(expected.outcomes);
    expect(got.state).toEqual(expected.state);
  });
});
