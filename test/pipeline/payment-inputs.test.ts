import { describe, expect, it } from 'vitest';
import { applyPaymentEvents, initialLedger, type PaymentEvent } from '../../src/payments/index.js';
import { outcomeForPayments, settlementForPayments, slimOutcomeForPayments, slimSettlementForPayments } from '../../src/pipeline/payment-inputs.js';
import { outcome, settled, PS } from '../payments/given.js';

/**
 * What the payment stage reads of a settlement / an outcome consumed raw (payment-inputs.ts): the
 * fields its fold reads, from the bytes, equal to the whole value's — and the ledger folded from
 * those is the ledger folded from the whole values.
 */
const bytes = (v: object) => new TextEncoder().encode(JSON.stringify(v));
const SETTLEMENT_FIELDS = ['lineKey', 'version', 'status', 'operation', 'tp', 'payee', 'adherentId', 'amcAmount', 'careDate'] as const;
const OUTCOME_FIELDS = ['kind', 'lineKey', 'version', 'tpClaimId', 'payee', 'amount', 'claimed', 'owed', 'claimPaidOn'] as const;

const settlements = [
  settled(),
  settled({ lineKey: 'noemie-1:T1:1', tp: '15', payee: `ps:${PS}`, amcAmount: '19.00', version: 3, reason: 'a "status":"review" in a reason, with } and ]' }),
  settled({ lineKey: 'noemie-1:A1:1', operation: 'A', status: 'rejected', adherentId: null, version: 2 }),
  // optional fields absent; a nested part with fields of the same names as the top level's
  (({ operation: _o, tp: _t, ...s }) => s)(settled({ lineKey: 'noemie-1:N1:1', status: 'review', parts: [{ contract: 'C', amount: '1.00', formula: 'lineKey "x"', rule: 'version' }] })),
  settled({ lineKey: 'noemie-é€:1', adherentId: 'ADH"1\\', careDate: '2024-12-31', counters: [{ key: 'k', before: '0.00', after: '9.00' }], reliquidation: { eventId: 'e1', type: 'affiliation_end', effectiveDate: '2024-01-01' } }),
];

const outcomes = [
  outcome({ kind: 'matched', lineKey: 'noemie-1:T1:1', version: 3, owed: '19.00' }),
  outcome({ kind: 'indu', claimPaidOn: '2025-03-01', owed: '0.00' }),
  outcome({ kind: 'held', lineKey: null, version: null, payee: null, owed: null, claimed: null, entitled: null, reason: 'waits "lineKey":"x"' }),
  outcome({ kind: 'annulation-indu', tpClaimId: null, psId: null }),
];

describe('payment inputs read raw: the fold’s fields from the bytes', () => {
  it('a settlement: its payment fields, equal to the whole value’s (bytes, and text the slow way)', () => {
    for (const s of settlements) {
      const want = Object.fromEntries(SETTLEMENT_FIELDS.map((k) => [k, (s as Record<string, unknown>)[k]]));
      expect(settlementForPayments(bytes(s))).toEqual(want);
      expect(settlementForPayments(JSON.stringify(s))).toEqual(want);
      expect(slimSettlementForPayments(s)).toEqual(want);
      // bytes the scan does not read (whitespace): parsed whole, the same fields
      expect(settlementForPayments(new TextEncoder().encode(JSON.stringify(s, null, 1)))).toEqual(want);
    }
  });

  it('an outcome: its payment fields, equal to the whole value’s', () => {
    for (const o of outcomes) {
      const want = Object.fromEntries(OUTCOME_FIELDS.map((k) => [k, (o as Record<string, unknown>)[k]]));
      expect(outcomeForPayments(bytes(o))).toEqual(want);
      expect(outcomeForPayments(JSON.stringify(o))).toEqual(want);
      expect(slimOutcomeForPayments(o)).toEqual(want);
    }
  });

  it('the ledger folded from the fields read raw is the ledger folded from the whole values', () => {
    const whole: PaymentEvent[] = [
      ...settlements.map((s) => ({ kind: 'settlement' as const, settlement: s })),
      ...outcomes.map((o) => ({ kind: 'reconciliation' as const, outcome: o })),
      { kind: 'settlement', settlement: settled({ version: 2, amcAmount: '12.00' }) },
      { kind: 'settlement', settlement: settled({ version: 1, amcAmount: '99.00' }) },
    ];
    const raw: PaymentEvent[] = whole.map((e) =>
      e.kind === 'settlement' ? { kind: 'settlement', settlement: settlementForPayments(bytes(e.settlement)) } : { kind: 'reconciliation', outcome: outcomeForPayments(bytes(e.outcome)) },
    );
    const expected = applyPaymentEvents(initialLedger(), whole);
    expect(Object.keys(expected.lines).length).toBeGreaterThan(4);
    expect(applyPaymentEvents(initialLedger(), raw)).toEqual(expected);
  });
});
