import { describe, expect, it } from 'vitest';
import { ConfigError, paymentLimits, readEnv } from '../../src/config.js';
import { PaymentOrderSchema } from '../../src/model/payment.js';
import type { Beneficiary } from '../../src/model/reference.js';
import { accountBook, approvePayment, parseLimit, parsePaymentsLedger, planSepaFiles, renderPain001, runPayments, type PaymentsLedger } from '../../src/payments/index.js';
import { DEBTOR_IBAN, ledgerWith, run, S, settled } from './given.js';

/**
 * Payment controls (src/payments/controls.ts): whatever the engine settled, an order above a
 * ceiling is held — not in the pain.001, nothing recorded as paid, its lines still due — until a
 * person approves that exact order; the next run then pays it, once.
 */
const ABSURD = '999999999999.99';
const sepaOf = (runId: string, r: ReturnType<typeof runPayments>) =>
  planSepaFiles({ runId, createdAt: '2025-03-31T18:00:00Z', executionDate: '2025-04-01', initiatingParty: 'M', orders: r.orders, debtorOf: () => ({ name: 'M', iban: DEBTOR_IBAN, bic: null }) });
const inPain001 = (runId: string, r: ReturnType<typeof runPayments>) => sepaOf(runId, r).map((f) => renderPain001(f)).join('');
const paidOn = (ledger: PaymentsLedger, lineKey: string) => ledger.lines[lineKey]?.paid ?? {};

// three families with an IBAN each (the sample's format: the adhérent's row carries it)
const IBANS = ['FR7630006000011234567890189', 'FR7620041344599806394842283', 'FR1420041010050500013M02606'];
const family = (n: number): Beneficiary => ({
  adherentId: `F${n}`, nir: `18505751234${50 + n}`, nirKey: '00', rang: 1, birthDate: '1985-05-12', role: 'A', contracts: ['CCN-HLA-OPT2'],
  start: '2024-01-01', end: null, suspended: [], noemie: true, iban: IBANS[n - 1]!, bic: null, name: `Famille ${n}`,
});
const FAMILIES = accountBook([family(1), family(2), family(3)]);
const line = (n: number, amcAmount: string, version = 1) => settled({ lineKey: `n:F${n}:1`, adherentId: `F${n}`, beneficiary: { nir: `18505751234${50 + n}`, rang: 1 }, amcAmount, version });

describe('an absurd settlement (999 999 999 999.99 €) that got past the engine', () => {
  const absurd = settled({ amcAmount: ABSURD });
  const first = runPayments(ledgerWith([S(absurd)]), run('R1'));

  it('is held: not an order, not in the pain.001, nothing recorded as paid, the line still due', () => {
    expect(first.orders).toEqual([]);
    expect(sepaOf('R1', first)).toEqual([]);
    // above the largest SEPA credit transfer (999 999 999.99, the EPC XSD's InstdAmt maximum) before any ceiling
    expect(first.held).toEqual([expect.objectContaining({ paymentId: 'R1:member:A001', payee: 'member:A001', amount: ABSURD, ceiling: 'amount', limit: null, lineKeys: [absurd.lineKey] })]);
    expect(first.held[0]!.reason).toContain('above the largest SEPA credit transfer (999999999.99');
    expect(paidOn(first.ledger, absurd.lineKey)).toEqual({});
    expect(Object.keys(first.ledger.due)).toEqual([absurd.lineKey]);
    expect(parsePaymentsLedger(JSON.parse(JSON.stringify(first.ledger))).held['member:A001']?.amount).toBe(ABSURD);
  });

  it('cannot be approved: the settlement must be corrected; corrected to a sane amount it is paid and no longer held', () => {
    expect(() => approvePayment(first.ledger, { ref: 'member:A001', by: 'alice', at: '2025-04-01T08:00:00Z' })).toThrow(/cannot be approved/);
    const corrected = ledgerWith([S(settled({ amcAmount: '9.00', version: 2 }))], first.ledger);
    const r = runPayments(corrected, run('R2', '2025-04-01'));
    expect(r.orders.map((o) => o.amount)).toEqual(['9.00']);
    expect(r.ledger.held).toEqual({});
  });
});

describe('an order above the per-order ceiling (25 000.00 > 10 000.00)', () => {
  const BIG = '25000.00';
  const big = settled({ amcAmount: BIG });
  const first = runPayments(ledgerWith([S(big)]), run('R1'));

  it('is held: not in the pain.001, nothing paid, the line still due', () => {
    expect(first.orders).toEqual([]);
    expect(sepaOf('R1', first)).toEqual([]);
    expect(first.held).toEqual([expect.objectContaining({ paymentId: 'R1:member:A001', amount: BIG, ceiling: 'order', limit: '10000.00' })]);
    expect(first.held[0]!.reason).toContain('above the per-order ceiling 10000.00');
    expect(paidOn(first.ledger, big.lineKey)).toEqual({});
    expect(Object.keys(first.ledger.due)).toEqual([big.lineKey]);
  });

  it('the next run without an approval holds it again and pays nothing', () => {
    const again = runPayments(first.ledger, run('R2', '2025-04-01'));
    expect(again.orders).toEqual([]);
    expect(again.held.map((h) => [h.paymentId, h.amount])).toEqual([['R2:member:A001', BIG]]);
  });

  it('approved, the next run pays exactly that order, in its pain.001, once', () => {
    const { ledger, approval } = approvePayment(first.ledger, { ref: 'member:A001', by: 'alice', at: '2025-04-01T08:00:00Z' });
    expect(approval).toEqual({ payee: 'member:A001', paymentId: 'R1:member:A001', endToEndId: first.held[0]!.endToEndId, amount: BIG, by: 'alice', at: '2025-04-01T08:00:00Z' });
    const paid = runPayments(ledger, run('R2', '2025-04-01'));
    expect(paid.held).toEqual([]);
    expect(paid.orders.map((o) => [o.payee, o.amount, o.endToEndId, o.transfer])).toEqual([['member:A001', BIG, first.held[0]!.endToEndId, true]]);
    expect(PaymentOrderSchema.parse(paid.orders[0])).toEqual(paid.orders[0]);
    expect(inPain001('R2', paid)).toContain(`<EndToEndId>${first.held[0]!.endToEndId}</EndToEndId>`);
    expect(paidOn(paid.ledger, big.lineKey)).toEqual({ 'member:A001': BIG });
    expect([paid.ledger.approvals, paid.ledger.held]).toEqual([{}, {}]);
    const third = runPayments(paid.ledger, run('R3', '2025-04-02'));
    expect([third.orders, third.held]).toEqual([[], []]);
  });

  it('an approval is for that amount: corrected to another amount above the ceiling, the order is held again', () => {
    const { ledger } = approvePayment(first.ledger, { ref: 'R1:member:A001', runId: 'R1', by: 'alice', at: '2025-04-01T08:00:00Z' });
    const corrected = ledgerWith([S(settled({ amcAmount: '20000.00', version: 2 }))], ledger);
    const r = runPayments(corrected, run('R2', '2025-04-01'));
    expect(r.orders).toEqual([]);
    expect(r.held.map((h) => [h.amount, h.ceiling])).toEqual([['20000.00', 'order']]);
    expect(r.held[0]!.reason).toContain(`approval by alice was for ${BIG}`);
    expect(r.ledger.approvals).toEqual({});
  });

  it('annulled before it was approved, nothing is owed and the order is no longer held', () => {
    const annulled = ledgerWith([S(settled({ amcAmount: BIG, version: 2, operation: 'A' }))], first.ledger);
    const r = runPayments(annulled, run('R2', '2025-04-01'));
    expect([r.orders, r.held, r.ledger.held, r.ledger.due]).toEqual([[], [], {}, {}]);
  });

  it('approving something not held, or from another run, is refused with PAYMENTS_NOT_HELD', () => {
    expect(() => approvePayment(first.ledger, { ref: 'member:NOPE', by: 'alice', at: '2025-04-01T08:00:00Z' })).toThrow(expect.objectContaining({ code: 'PAYMENTS_NOT_HELD' }));
    expect(() => approvePayment(first.ledger, { ref: 'member:A001', runId: 'R9', by: 'alice', at: '2025-04-01T08:00:00Z' })).toThrow(/last held by run R1, not R9/);
  });
});

describe('the per-run ceiling', () => {
  // F1 4000.00, F2 3000.00, F3 2500.00; ceilings 5000.00 per order, 8000.00 per run.
  // In payee order: F1 → 4000.00 (run 4000.00), F2 → 7000.00, F3 would make 9500.00 > 8000.00: held.
  const limits = { maxOrder: '5000.00', maxRun: '8000.00' };
  const ledger = ledgerWith([S(line(1, '4000.00')), S(line(2, '3000.00')), S(line(3, '2500.00'))]);

  it('holds the orders that would take the run above it, in payee order', () => {
    const r = runPayments(ledger, { ...run('R1'), accounts: FAMILIES, limits });
    expect(r.orders.map((o) => [o.payee, o.amount])).toEqual([['member:F1', '4000.00'], ['member:F2', '3000.00']]);
    expect(r.held.map((h) => [h.payee, h.amount, h.ceiling, h.limit])).toEqual([['member:F3', '2500.00', 'run', '8000.00']]);
    expect(r.held[0]!.reason).toContain('would take the run to 9500.00');
    expect(Object.keys(r.ledger.due)).toEqual(['n:F3:1']);
  });

  it('first fit: a smaller order after a held one still fits', () => {
    // F1 4000.00, F2 4500.00 (4000 + 4500 = 8500 > 8000: held), F3 2500.00 (4000 + 2500 = 6500: paid)
    const r = runPayments(ledgerWith([S(line(1, '4000.00')), S(line(2, '4500.00')), S(line(3, '2500.00'))]), { ...run('R1'), accounts: FAMILIES, limits });
    expect(r.orders.map((o) => o.payee)).toEqual(['member:F1', 'member:F3']);
    expect(r.held.map((h) => h.payee)).toEqual(['member:F2']);
  });

  it('the held order, approved, is paid by the next run outside the run budget', () => {
    const first = runPayments(ledger, { ...run('R1'), accounts: FAMILIES, limits });
    const { ledger: approved } = approvePayment(first.ledger, { ref: 'member:F3', by: 'bob', at: '2025-04-01T08:00:00Z' });
    const next = runPayments(approved, { ...run('R2', '2025-04-01'), accounts: FAMILIES, limits });
    expect(next.orders.map((o) => [o.payee, o.amount])).toEqual([['member:F3', '2500.00']]);
  });
});

describe('garbage amounts and ceilings', () => {
  it('two 12-digit lines for one payee sum past what an amount can be: held as unusable, not approvable', () => {
    // 999999999999.99 + 999999999999.99 = 1999999999999.98: 13 digits, not a Money
    const r = runPayments(ledgerWith([S(settled({ amcAmount: ABSURD })), S(settled({ lineKey: 'n:X:2', amcAmount: ABSURD }))]), run('R1'));
    expect(r.orders).toEqual([]);
    expect(r.held.map((h) => [h.amount, h.ceiling])).toEqual([['1999999999999.98', 'amount']]);
    expect(() => approvePayment(r.ledger, { ref: 'member:A001', by: 'alice', at: '2025-04-01T08:00:00Z' })).toThrow(/cannot be approved/);
  });

  it('the SEPA writer refuses an amount no SEPA transfer carries, whoever hands it over (SEPA_BAD_ORDER)', () => {
    const ok = runPayments(ledgerWith([S(settled({ amcAmount: '9.00' }))]), run('R1'));
    const [file] = sepaOf('R1', ok);
    for (const amount of ['1000000000.00', '0.00', 'NaN', '12']) {
      expect(() => renderPain001({ ...file!, orders: [{ ...file!.orders[0]!, amount }] })).toThrow(expect.objectContaining({ code: 'SEPA_BAD_ORDER' }));
    }
  });

  it('a line whose amount is not money (a hand-built ledger) is pending, not a crash nor a payment', () => {
    const good = ledgerWith([S(settled({ amcAmount: '9.00' }))]);
    const lineKey = settled().lineKey;
    const bad: PaymentsLedger = { ...good, lines: { [lineKey]: { ...good.lines[lineKey]!, settlement: { ...good.lines[lineKey]!.settlement!, amcAmount: 'NaN' } } } };
    const r = runPayments(bad, run('R1'));
    expect(r.orders).toEqual([]);
    expect(r.pending.map((p) => p.reason)).toEqual([expect.stringContaining('"NaN" of version 1 is not an amount')]);
  });

  it('ceilings: non-positive, non-numeric and over-precise values are refused; order above run refused', () => {
    expect(parseLimit('10000')).toEqual({ ok: true, value: '10000.00' });
    for (const bad of ['0', '-5', 'abc', 'Infinity', 'NaN', '1e6', '10.001', '']) expect(parseLimit(bad).ok).toBe(false);
    expect(() => runPayments(ledgerWith([]), { ...run('R1'), limits: { maxOrder: 'abc', maxRun: '10.00' } })).toThrow(expect.objectContaining({ code: 'PAYMENTS_BAD_LIMITS' }));
    expect(() => runPayments(ledgerWith([]), { ...run('R1'), limits: { maxOrder: '20.00', maxRun: '10.00' } })).toThrow(/per-order ceiling 20.00 is above the per-run ceiling 10.00/);
  });

  it('the environment: defaults, overrides, and clear errors naming the variable', () => {
    expect(paymentLimits(readEnv({}))).toEqual({ maxOrder: '10000.00', maxRun: '500000.00' });
    expect(paymentLimits(readEnv({ NOEMIE_PAYMENT_MAX_ORDER: '2500', NOEMIE_PAYMENT_MAX_RUN: '90000.50' }))).toEqual({ maxOrder: '2500.00', maxRun: '90000.50' });
    expect(() => readEnv({ NOEMIE_PAYMENT_MAX_ORDER: 'lots' })).toThrow(ConfigError);
    expect(() => readEnv({ NOEMIE_PAYMENT_MAX_ORDER: 'lots' })).toThrow(/NOEMIE_PAYMENT_MAX_ORDER: "lots" is not an amount/);
    expect(() => readEnv({ NOEMIE_PAYMENT_MAX_RUN: '0' })).toThrow(/NOEMIE_PAYMENT_MAX_RUN: "0" must be above 0/);
    expect(() => paymentLimits(readEnv({ NOEMIE_PAYMENT_MAX_ORDER: '900000' }))).toThrow(/NOEMIE_PAYMENT_MAX_ORDER.*above.*NOEMIE_PAYMENT_MAX_RUN/);
    expect(() => readEnv({ NOEMIE_CRASH_AT: 'nowhere' })).toThrow(/NOEMIE_CRASH_AT/);
  });
});
