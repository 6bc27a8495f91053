import { describe, expect, it } from 'vitest';
import { initialLedger, planPaymentRun, type PaymentsLedger } from '../../src/payments/index.js';
import { RunReportSchema, buildRunReport } from '../../src/payments/report.js';
import { applyReturn, transferRecordOf } from '../../src/payments/returns.js';
import { renderReportHtml, reportCsv } from '../../src/payments/report-render.js';
import { PS, PS_IBAN, S, ledgerWith, settled } from './given.js';
import { PS2, givenR2, plan, reportOf } from './report-given.js';

describe('payment-run report', () => {
  it('sections and totals of a run with paid, held, blocked payees and a recovery; the equation holds to the cent', () => {
    const { report } = reportOf(givenR2(), 'R2', '2025-03-31');
    expect(RunReportSchema.parse(report)).toEqual(report);
    // settled movements: −9.45 (D101) + 120.00 (D200) + 19.00 (D900) + 12.00 (D901) + 0.00 (D902 held) = 141.55
    expect(report.settled.lines.map((l) => [l.lineKey, l.movement])).toEqual([
      ['n:D101:1', '-9.45'], ['n:D200:1', '120.00'], ['n:D900:1', '19.00'], ['n:D901:1', '12.00'], ['n:D902:1', '0.00'],
    ]);
    // AMC: 15.75 + 120.00 + 19.00 + 12.00 + 30.00 = 196.75; entitled: the same less D902's 30.00 = 166.75; paid before: 25.20 (D101 in R1)
    expect(report.settled).toMatchObject({ count: 5, amcAmount: '196.75', entitled: '166.75', paidBefore: '25.20', movement: '141.55' });
    expect(report.withheld.reconciliation).toEqual([{ lineKey: 'n:D902:1', kind: 'held', amcAmount: '30.00' }]);
    expect(report.withheld.reconciliationTotal).toBe('30.00');
    expect(report.withheld.pending.map((p) => p.lineKey)).toEqual(['n:D103:1']);
    expect(report.held).toMatchObject({ count: 1, total: '120.00', items: [{ payee: 'member:A002', amount: '120.00', ceiling: 'order', limit: '100.00' }] });
    expect(report.transferred).toMatchObject({ count: 1, total: '19.00' });
    expect(report.transferred.files).toHaveLength(1);
    expect(report.transferred.files[0]).toMatchObject({ count: 1, total: '19.00', debtorIban: 'FR76…0143' });
    expect(report.transferred.orders[0]).toMatchObject({ payee: `ps:${PS}`, amount: '19.00', messageId: report.transferred.files[0]!.messageId, iban: 'FR14…2606' });
    expect(report.transferred.byDebtor).toEqual([{ debtorIban: 'FR76…0143', debtorName: 'MUTUELLE NOEMIE', count: 1, total: '19.00' }]);
    expect(report.blocked).toMatchObject({ count: 1, total: '12.00', items: [{ payee: `ps:${PS2}`, amount: '12.00' }] });
    expect(report.blocked.items[0]!.reason).toContain(`ps:${PS2}`);
    expect(report.recoveries).toMatchObject({ count: 1, total: '9.45', items: [{ payee: 'member:A001', amount: '9.45', debtBefore: '0.00', debtAfter: '9.45' }] });
    expect(report.debts).toEqual({ broughtForward: '0.00', carried: '9.45' });
    expect(report.returned).toMatchObject({ implemented: true, count: 0, total: '0.00', repaid: { count: 0, total: '0.00' } });
    // 141.55 = 19.00 transferred + 120.00 held + 12.00 blocked − 9.45 recovered + 0.00 debts brought forward
    expect(report.reconciliation.checks[0]).toMatchObject({ left: '141.55', right: '141.55', holds: true });
    expect(report.reconciliation.reconciled).toBe(true);
  });

  it('the next run offsets the debt carried: 19.00 settled = 9.55 transferred + 9.45 debt brought forward', () => {
    const { after } = reportOf(givenR2(), 'R2', '2025-03-31');
    const { report } = reportOf(ledgerWith([S(settled({ lineKey: 'n:D104:1', amcAmount: '19.00' }))], after), 'R3', '2025-04-30');
    expect(report.transferred.orders.find((o) => o.payee === 'member:A001')).toMatchObject({ amount: '9.55', debtBefore: '9.45' });
    // the held A002 (120.00) and blocked PS2 (12.00) lines are still due: held and blocked again
    // 19.00 + 120.00 + 12.00 = 151.00 = 9.55 + 120.00 + 12.00 − 0 + 9.45
    expect(report.settled.movement).toBe('151.00');
    expect(report.debts).toEqual({ broughtForward: '9.45', carried: '0.00' });
    expect(report.reconciliation.checks[0]).toMatchObject({ left: '151.00', right: '151.00', holds: true });
  });

  it('is built from what the run reads (its due lines), not from the history: the same report without the paid, not-due lines', () => {
    const whole = givenR2();
    // D100 was paid in R1 and is not due: the history a run must not read
    expect(Object.keys(whole.lines)).toContain('n:D100:1');
    const dueOnly = { ...whole, lines: Object.fromEntries(Object.entries(whole.lines).filter(([k]) => Object.hasOwn(whole.due, k))) };
    expect(Object.keys(dueOnly.lines)).not.toContain('n:D100:1');
    const { result, intent } = plan(whole, 'R2', '2025-03-31');
    const at = '2025-03-31T18:00:00.000Z';
    expect(buildRunReport({ runId: 'R2', at, slice: dueOnly, result, intent })).toEqual(buildRunReport({ runId: 'R2', at, slice: whole, result, intent }));
  });

  it('a report whose figures do not add up says so (the check can fail)', () => {
    const ledger = givenR2();
    const { result, intent } = plan(ledger, 'R2', '2025-03-31');
    // a blocked amount off by one cent: 12.01 instead of 12.00
    const tampered = { ...result, blocked: result.blocked.map((b) => ({ ...b, amount: '12.01' })) };
    const report = buildRunReport({ runId: 'R2', at: '2025-03-31T18:00:00.000Z', slice: ledger, result: tampered, intent });
    expect(report.reconciliation.reconciled).toBe(false);
    expect(report.reconciliation.checks[0]).toMatchObject({ left: '141.55', right: '141.56', holds: false });
    expect(renderReportHtml(report)).toContain('NE SE RAPPROCHE PAS');
  });

  it('the CSV has one row per order, held and blocked item, with the same totals', () => {
    const { report } = reportOf(givenR2(), 'R2', '2025-03-31');
    const [header, ...rows] = [...reportCsv(report)].map((l) => l.trimEnd().split(';'));
    const col = (name: string) => header!.indexOf(name);
    // 1 transferred + 1 recovery + 1 held + 1 blocked
    expect(rows.map((r) => r[0])).toEqual(['transferred', 'recovery', 'held', 'blocked']);
    const total = (section: string) => rows.filter((r) => r[0] === section).map((r) => r[col('amount')]);
    expect(total('transferred')).toEqual([report.transferred.total]);
    expect(total('recovery')).toEqual([report.recoveries.total]);
    expect(total('held')).toEqual([report.held.total]);
    expect(total('blocked')).toEqual([report.blocked.total]);
    expect(rows.find((r) => r[0] === 'blocked')![col('reason')]).toBe(report.blocked.items[0]!.reason);
    expect(rows.find((r) => r[0] === 'transferred')![col('messageId')]).toBe(report.transferred.files[0]!.messageId);
  });

  it('the HTML is self-contained and names each blocked payee with its reason', () => {
    const { report } = reportOf(givenR2(), 'R2', '2025-03-31');
    const html = renderReportHtml(report);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|@import|src=/i);
    expect(html).toContain('<svg');
    expect(html).toContain(`ps:${PS2}`);
    expect(html).toContain(report.blocked.items[0]!.reason.replace(/'/g, '&#39;'));
    expect(html).toContain('Rapprochement au centime');
    expect(html).not.toContain(PS_IBAN);
  });
});

describe('payment-run report: a returned transfer that had absorbed a debt', () => {
  // A1 owes 5.00; L1 20.00 + L2 15.00: R1 transfers 35.00 − 5.00 = 30.00. The bank returns it (AC04):
  // L1 and L2 are due again (paid 0.00) and the 5.00 debt is owed again.
  //   R2, same account: settled 20.00 + 15.00 = 35.00 = blocked 30.00 + debts brought forward 5.00
  //   R3, new account:  settled 35.00 = transferred 30.00 + debts brought forward 5.00;
  //                     re-paid: L1 + L2 movements 35.00, for the 35.00 the return took back
  const facts = (amcAmount: string) => ({ version: 1, status: 'paid' as const, annulled: false, tiersPayant: false, adherentId: 'A1', amcAmount });
  const book = (iban: string) => ({ members: { A1: { iban, bic: null, name: 'Paul Martin' } }, professionals: {} });
  const DEBTOR = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };
  const OLD = 'FR7630002005500000000000130';
  const NEW = 'FR7630002005500000000000421';
  const report = (ledger: PaymentsLedger, runId: string, day: string, iban: string) => {
    const at = `${day}T18:00:00.000Z`;
    const { result, intent } = planPaymentRun(ledger, { runId, at, accounts: book(iban), outDir: '/tmp/unused', debtorOf: () => DEBTOR, executionDate: day, initiatingParty: 'MUTUELLE NOEMIE' });
    return { report: buildRunReport({ runId, at, slice: ledger, result, intent }), result };
  };

  it('R2 blocked and R3 re-paid both reconcile to the cent, the returned debt in debts brought forward', () => {
    const start = { ...initialLedger(), lines: { L1: { settlement: facts('20.00'), tp: null, paid: {} }, L2: { settlement: facts('15.00'), tp: null, paid: {} } }, due: { L1: true as const, L2: true as const }, debts: { 'member:A1': '5.00' } };
    const r1 = report(start, 'R1', '2025-03-31', OLD);
    const returnedId = r1.result.orders[0]!.endToEndId;
    const returned = applyReturn(r1.result.ledger, transferRecordOf(r1.result.orders[0]!)!, { code: 'AC04', file: 'camt.xml', record: 2, endToEndId: returnedId, at: '2025-04-02T07:00:00Z' });

    const r2 = report(returned, 'R2', '2025-04-04', OLD);
    expect(r2.report.returned.items.map((x) => [x.endToEndId, x.payee, x.amount, x.reason, x.file, x.record])).toEqual([[returnedId, 'member:A1', '30.00', 'AC04 compte clos', 'camt.xml', 2]]);
    expect(r2.report.blocked.items.map((b) => b.amount)).toEqual(['30.00']);
    expect(r2.report.debts.broughtForward).toBe('5.00');
    expect(r2.report.reconciliation.checks[0]).toMatchObject({ left: '35.00', right: '35.00', holds: true });
    expect(r2.report.returned.repaid.items).toEqual([]);
    // the block keeps the return open on the lines; the report of R3 does not list the return again
    expect(r2.result.ledger.lines.L1!.returned).toBeDefined();
    expect(r2.result.ledger.returnsToReport).toEqual({});

    const r3 = report(r2.result.ledger, 'R3', '2025-04-07', NEW);
    expect(r3.report.returned.items).toEqual([]);
    expect(r3.report.returned.repaid.items).toEqual([{ paymentId: 'R3:member:A1', payee: 'member:A1', kind: 'payment', transfer: true, endToEndId: r3.result.orders[0]!.endToEndId, amount: '35.00', returnedAmount: '35.00', returnedEndToEndIds: [returnedId], lines: 2 }]);
    expect(r3.report.reconciliation.checks.map((c) => [c.left, c.right, c.holds])).toEqual([['35.00', '35.00', true], ['30.00', '30.00', true]]);
    expect(r3.result.ledger.lines.L1!.returned).toBeUndefined();
    expect(RunReportSchema.parse(r3.report)).toEqual(r3.report);
  });
});
