import { describe, expect, it } from 'vitest';
import { PaymentOrderSchema } from '../../src/model/payment.js';
import type { ReconOutcome } from '../../src/model/reconciliation.js';
import type { Settlement } from '../../src/model/settlement.js';
import type { TpClaim } from '../../src/model/tp-claim.js';
import { accountBook, applyPaymentEvents, parsePaymentsLedger, renderRunSummary, runPayments, runSummary } from '../../src/payments/index.js';
import { decideAll, initialReconState } from '../../src/reconcile/index.js';
import { ACCOUNTS, FAMILY, FAMILY_IBAN, ledgerWith, O, outcome, PS, PS_IBAN, run, S, settled } from './given.js';

const twin1 = settled({ lineKey: 'noemie-011751001:D100:1', beneficiary: { nir: '2150575999999', rang: 1 }, amcAmount: '9.00' });
const twin2 = settled({ lineKey: 'noemie-011751001:D101:1', beneficiary: { nir: '2150575999999', rang: 2 }, amcAmount: '25.20', actCode: 'CS' });

describe('payments: members', () => {
  it('a family with two children is paid once, to the adhérent’s IBAN', () => {
    // twin 1: 9.00, twin 2: 25.20 → one order for member:A001 of 9.00 + 25.20 = 34.20
    const r = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1'));
    expect(r.orders).toHaveLength(1);
    const o = r.orders[0]!;
    expect(o).toMatchObject({ paymentId: 'R1:member:A001', runId: 'R1', payee: 'member:A001', iban: FAMILY_IBAN, bic: 'AGRIFRPP', name: 'Élodie Martin', amount: '34.20', kind: 'payment', transfer: true, debtBefore: '0.00', debtAfter: '0.00' });
    expect(o.lineKeys).toEqual([twin1.lineKey, twin2.lineKey]);
    expect(o.lines).toEqual([
      { lineKey: twin1.lineKey, version: 1, amount: '9.00' },
      { lineKey: twin2.lineKey, version: 1, amount: '25.20' },
    ]);
    expect(PaymentOrderSchema.parse(o)).toEqual(o);
  });

  it('running again emits nothing; the same runId is refused as already run', () => {
    const first = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1'));
    const second = runPayments(first.ledger, run('R2', '2025-04-30'));
    expect(second.orders).toEqual([]);
    expect(second.blocked).toEqual([]);
    const same = runPayments(first.ledger, run('R1'));
    expect(same.alreadyRun).toBe(true);
    expect(same.orders).toEqual([]);
  });

  it('a replayed settlement (same version) after a run pays nothing more', () => {
    const first = runPayments(ledgerWith([S(twin1)]), run('R1'));
    const replayed = applyPaymentEvents(first.ledger, [S(twin1), S(twin1)]);
    expect(runPayments(replayed, run('R2')).orders).toEqual([]);
  });

  it('a re-liquidation that lowers the amount is a recovery of the difference, carried as a debt', () => {
    // run 1 pays twin 2's line 25.20; version 2 lowers it to 15.75 → recovery 25.20 − 15.75 = 9.45
    const r1 = runPayments(ledgerWith([S(twin2)]), run('R1'));
    expect(r1.orders[0]!.amount).toBe('25.20');
    const r2 = runPayments(applyPaymentEvents(r1.ledger, [S({ ...twin2, version: 2, amcAmount: '15.75' })]), run('R2'));
    expect(r2.orders).toHaveLength(1);
    expect(r2.orders[0]).toMatchObject({ kind: 'recovery', amount: '9.45', transfer: false, debtBefore: '0.00', debtAfter: '9.45', lines: [{ lineKey: twin2.lineKey, version: 2, amount: '-9.45' }] });
    expect(r2.ledger.debts).toEqual({ 'member:A001': '9.45' });
    // run 3: a new line of 19.00 for the family → transfer 19.00 − 9.45 = 9.55, the debt is cleared
    const newLine = settled({ lineKey: 'noemie-011751001:D102:1', amcAmount: '19.00' });
    const r3 = runPayments(applyPaymentEvents(r2.ledger, [S(newLine)]), run('R3'));
    expect(r3.orders[0]).toMatchObject({ kind: 'payment', amount: '9.55', transfer: true, debtBefore: '9.45', debtAfter: '0.00' });
    expect(r3.ledger.debts).toEqual({});
  });

  it('a re-liquidation that raises the amount pays the complement only', () => {
    // 9.00 paid, version 2 says 12.50 → complement 12.50 − 9.00 = 3.50
    const r1 = runPayments(ledgerWith([S(twin1)]), run('R1'));
    const r2 = runPayments(applyPaymentEvents(r1.ledger, [S({ ...twin1, version: 2, amcAmount: '12.50' })]), run('R2'));
    expect(r2.orders).toMatchObject([{ kind: 'payment', amount: '3.50', lines: [{ version: 2, amount: '3.50' }] }]);
  });

  it('an annulation after payment takes back all of it', () => {
    const r1 = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1'));
    const r2 = runPayments(applyPaymentEvents(r1.ledger, [S({ ...twin1, version: 2, operation: 'A', amcAmount: '-9.00' })]), run('R2'));
    expect(r2.orders).toMatchObject([{ kind: 'recovery', amount: '9.00', debtAfter: '9.00' }]);
  });

  it('a line under review moves no money until it is settled', () => {
    const r = runPayments(ledgerWith([S({ ...twin1, status: 'review' })]), run('R1'));
    expect(r.orders).toEqual([]);
    expect(r.pending).toMatchObject([{ lineKey: twin1.lineKey }]);
    expect(Object.keys(r.ledger.due)).toEqual([twin1.lineKey]);
  });

  it('no usable IBAN: the family is blocked, nothing recorded, paid by the next run that has one', () => {
    const noIban = accountBook(FAMILY.map((b) => ({ ...b, iban: null })));
    const r1 = runPayments(ledgerWith([S(twin1)]), { ...run('R1'), accounts: noIban });
    expect(r1.orders).toEqual([]);
    expect(r1.blocked).toMatchObject([{ payee: 'member:A001', amount: '9.00', lineKeys: [twin1.lineKey] }]);
    // a wrong check digit (89 → 88) fails mod-97
    const badIban = accountBook(FAMILY.map((b) => (b.iban ? { ...b, iban: 'FR7630006000011234567890188' } : b)));
    const r2 = runPayments(r1.ledger, { ...run('R2'), accounts: badIban });
    expect(r2.blocked[0]!.reason).toMatch(/mod-97/);
    const r3 = runPayments(r2.ledger, run('R3'));
    expect(r3.orders).toMatchObject([{ payee: 'member:A001', amount: '9.00', iban: FAMILY_IBAN }]);
  });

  it('the ledger is plain JSON: read back, it continues the same', () => {
    const r1 = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1'));
    const restored = parsePaymentsLedger(JSON.parse(JSON.stringify(r1.ledger)));
    expect(restored).toEqual(r1.ledger);
    const next = [S({ ...twin2, version: 2, amcAmount: '20.00' })];
    expect(runPayments(applyPaymentEvents(restored, next), run('R2')).orders).toEqual(runPayments(applyPaymentEvents(r1.ledger, next), run('R2')).orders);
  });

  it('endToEndId is derived from what is paid: same inputs, same id; 35 characters at most', () => {
    const a = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1')).orders[0]!;
    const b = runPayments(ledgerWith([S(twin2), S(twin1)]), run('R9', '2025-05-01')).orders[0]!;
    expect(a.endToEndId).toBe(b.endToEndId);
    expect(a.endToEndId).toMatch(/^[A-Z0-9]{1,35}$/);
    const c = runPayments(ledgerWith([S(twin1), S({ ...twin2, version: 2 })]), run('R1')).orders[0]!;
    expect(c.endToEndId).not.toBe(a.endToEndId);
  });
});

describe('payments: tiers payant', () => {
  const tpLine: Settlement = settled({ lineKey: 'noemie-011751001:D900:1', beneficiary: { nir: '2150575999999', rang: 1 }, tp: '15', payee: `ps:${PS}`, amcAmount: '19.00' });
  const claimOf = (over: Partial<TpClaim> = {}): TpClaim => ({
    tpClaimId: 'C1', operator: 'OPTP', psId: PS, nir: '2150575999999', rang: 1, careDate: '2025-03-03', actCode: 'G', invoiceNo: null, amcAmountClaimed: '19.00', paidOn: null, ...over,
  });
  /** the real reconciliation decider produces the outcomes the payment stage consumes */
  const reconcile = (claims: TpClaim[], settlements: Settlement[] = [tpLine]): ReconOutcome[] =>
    decideAll(initialReconState(), [
      ...settlements.map((s) => ({ kind: 'settlement' as const, settlement: s, at: '2025-03-04T09:00:00.000Z' })),
      ...claims.map((c) => ({ kind: 'claim' as const, claim: c, at: '2025-03-05T09:00:00.000Z' })),
    ]).outcomes;

  it('a TP line is paid to the professional once matched, never to the member', () => {
    const before = runPayments(ledgerWith([S(tpLine)]), run('R0'));
    expect(before.orders).toEqual([]); // awaiting reconciliation
    const outcomes = reconcile([claimOf()]);
    expect(outcomes.map((o) => o.kind)).toEqual(['held', 'matched']);
    const r = runPayments(ledgerWith([S(tpLine), ...outcomes.map(O)]), run('R1'));
    expect(r.orders).toHaveLength(1);
    expect(r.orders[0]).toMatchObject({ payee: `ps:${PS}`, iban: PS_IBAN, amount: '19.00', kind: 'payment', transfer: true, name: 'Cabinet Dr Dupont' });
    expect(r.orders.some((o) => o.payee.startsWith('member:'))).toBe(false);
  });

  it('a held TP line pays nobody', () => {
    const r = runPayments(ledgerWith([S(tpLine), ...reconcile([]).map(O)]), run('R1'));
    expect(r.orders).toEqual([]);
    expect(r.pending).toEqual([]);
  });

  it('a claim the operator already paid at the right amount: nothing to pay', () => {
    const r = runPayments(ledgerWith([S(tpLine), ...reconcile([claimOf({ paidOn: '2025-03-04' })]).map(O)]), run('R1'));
    expect(r.orders).toEqual([]);
  });

  it('the operator paid 30.00 for an entitlement of 19.00: recovery of 11.00 from the professional', () => {
    // entitled 19.00 − (paid by us 0.00 + paid by the operator 30.00) = −11.00
    const r = runPayments(ledgerWith([S(tpLine), ...reconcile([claimOf({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' })]).map(O)]), run('R1'));
    expect(r.orders).toMatchObject([{ payee: `ps:${PS}`, kind: 'recovery', amount: '11.00', transfer: false, debtAfter: '11.00' }]);
  });

  it('an annulation after the professional was paid: recovery of what it received', () => {
    const r1 = runPayments(ledgerWith([S(tpLine), ...reconcile([claimOf()]).map(O)]), run('R1'));
    const annul = { ...tpLine, version: 2, operation: 'A' as const, amcAmount: '-19.00' }; // the engine reverses the amounts
    const r2 = runPayments(applyPaymentEvents(r1.ledger, [S(annul)]), run('R2'));
    expect(r2.orders).toMatchObject([{ payee: `ps:${PS}`, kind: 'recovery', amount: '19.00' }]);
  });

  it('an operator-paid claim moved to the re-issued line counts once', () => {
    // the operator paid 30.00 on claim C1; line D900 is annulled (recovery 30.00), then C1 matches
    // the re-issued D901 (entitled 19.00): D900 gives the 30.00 back (+30.00), D901 takes 11.00 (−11.00)
    const reissued = { ...tpLine, lineKey: 'noemie-011751001:D901:1' };
    const annul = { ...tpLine, version: 2, operation: 'A' as const, amcAmount: '-19.00' }; // the engine reverses the amounts
    const claim = claimOf({ amcAmountClaimed: '30.00', paidOn: '2025-03-04' });
    const recon = decideAll(initialReconState(), [
      { kind: 'settlement', settlement: tpLine, at: '2025-03-04T09:00:00.000Z' },
      { kind: 'claim', claim, at: '2025-03-05T09:00:00.000Z' },
      { kind: 'settlement', settlement: annul, at: '2025-03-06T09:00:00.000Z' },
    ]);
    const r1 = runPayments(ledgerWith([S(tpLine), S(annul), ...recon.outcomes.map(O)]), run('R1'));
    expect(r1.orders).toMatchObject([{ payee: `ps:${PS}`, kind: 'recovery', amount: '30.00' }]);
    const later = decideAll(recon.state, [{ kind: 'settlement', settlement: reissued, at: '2025-03-20T09:00:00.000Z' }]).outcomes;
    const r2 = runPayments(applyPaymentEvents(r1.ledger, [S(reissued), ...later.map(O)]), run('R2'));
    // +30.00 − 11.00 = +19.00 against a debt of 30.00 → still owes 11.00
    expect(r2.orders).toMatchObject([{ payee: `ps:${PS}`, kind: 'recovery', amount: '11.00', debtBefore: '30.00', debtAfter: '11.00' }]);
  });

  it('outcomes for a claim without a line move no money', () => {
    const r = runPayments(ledgerWith([O(outcome({ kind: 'exception', lineKey: null, version: null }))]), run('R1'));
    expect(r.orders).toEqual([]);
  });
});

it('accounts: one IBAN per family from the adhérent row', () => {
  expect(ACCOUNTS.members).toEqual({ A001: { iban: FAMILY_IBAN, bic: 'AGRIFRPP', name: 'Élodie Martin' } });
});

it('payments show: sums per kind, IBANs masked', () => {
  // run 1 pays 9.00 + 25.20 = 34.20; run 2 recovers 25.20 − 15.75 = 9.45
  const r1 = runPayments(ledgerWith([S(twin1), S(twin2)]), run('R1'));
  const r2 = runPayments(applyPaymentEvents(r1.ledger, [S({ ...twin2, version: 2, amcAmount: '15.75' })]), run('R2'));
  const all = [...r1.orders, ...r2.orders];
  expect(runSummary('R1', all)).toMatchObject({ transfers: { count: 1, total: '34.20' }, recoveries: { count: 0, total: '0.00' } });
  const s2 = runSummary('R2', all);
  expect(s2).toMatchObject({ transfers: { count: 0 }, recoveries: { count: 1, total: '9.45' } });
  const text = renderRunSummary(runSummary('R1', all));
  expect(text).toContain('FR76…0189');
  expect(text).not.toContain(FAMILY_IBAN);
  expect(renderRunSummary(s2)).toMatch(/recovery\s+-9.45\s+member:A001/);
});
