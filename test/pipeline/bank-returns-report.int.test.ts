import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import { renderReportSummary, RunReportSchema, type RunReport } from '../../src/payments/report.js';
import type { AccountBook } from '../../src/payments/types.js';
import { applyBankReturnFile } from '../../src/pipeline/bank-returns.js';
import { runPaymentStage, type PaymentStageReport } from '../../src/pipeline/payments-service.js';
import { PaymentsStore } from '../../src/pipeline/payments-store.js';
import { accounts, IBAN, NIR, settlements } from './bank-returns-given.js';
import { settlement, withEmbeddedHome } from './stages-given.js';

/**
 * The payment-run report's `returned` section with real runs and the golden pain.002 (it rejects
 * A2's R1 transfer of 40.50, AC04 "compte clos"). Between R1 and R2, A2 gets a new line of 5.00.
 *   R2 (A2's account unchanged): settled 40.50 (returned line due again: entitled 40.50 − paid 0.00)
 *      + 5.00 (new line) = 45.50 = transferred 0.00 + held 0.00 + blocked 45.50 − recovered 0.00
 *      + debts 0.00. Returned since R1: A2's 40.50. Re-paid: none.
 *   R3 (new account): settled 45.50 = transferred 45.50. Returned since R2: none. Re-paid: R3's order,
 *      40.50 on the returned line (of its 45.50), for the returned 40.50.
 *   R4: nothing returned, nothing re-paid.
 */
const PAIN002 = join('fixtures/bank-returns', 'pain002-R1-reject-A2.xml');
const SECOND = settlement({ lineKey: 'n:D-A2:2', beneficiary: { nir: NIR.A2, rang: 1 }, adherentId: 'A2', tp: '00', payee: 'member', amcAmount: '5.00' });

let home = '';
let bus: Bus;
withEmbeddedHome('returns-report-', (h, b) => ((home = h), (bus = b)));

const run = (runId: string, book: AccountBook, day: string) => runPaymentStage({ bus, home, accounts: book, runId, at: `${day}T18:00:00Z` });

/** The report as the run wrote it (report.json, checked against its schema), and its CSV and HTML. */
async function reportOf(r: PaymentStageReport): Promise<{ json: RunReport; csv: string; html: string }> {
  const files = r.reportFiles!;
  return { json: RunReportSchema.parse(JSON.parse(await readFile(files.json, 'utf8'))), csv: await readFile(files.csv, 'utf8'), html: await readFile(files.html, 'utf8') };
}

const equation = (r: RunReport) => r.reconciliation.checks.map((c) => [c.left, c.right, c.holds]);

describe('payment-run report: bank returns', () => {
  it('R2 lists the return and the block and reconciles; R3 lists the re-payment and reconciles', async () => {
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    const r1 = await run('R1', accounts(), '2025-03-31');
    const returnedId = r1.orders.find((o) => o.payee === 'member:A2')!.endToEndId;
    expect((await reportOf(r1)).json.returned).toMatchObject({ implemented: true, items: [], count: 0, total: '0.00', repaid: { items: [], total: '0.00' } });
    const store = await PaymentsStore.open(home);
    try {
      await applyBankReturnFile(store, PAIN002, { at: '2025-04-03T08:00:00Z' });
    } finally {
      await store.close();
    }
    await bus.produce('settlements', [{ value: SECOND }]);

    // R2: A2 still on the closed account
    const r2 = await run('R2', accounts(), '2025-04-04');
    const two = await reportOf(r2);
    expect(two.json.returned.items).toEqual([{
      endToEndId: returnedId, paymentId: 'R1:member:A2', runId: 'R1', payee: 'member:A2', amount: '40.50',
      code: 'AC04', label: 'compte clos', reason: 'AC04 compte clos', blocks: true, file: 'pain002-R1-reject-A2.xml', record: 1, at: '2025-04-03T08:00:00Z',
    }]);
    expect([two.json.returned.count, two.json.returned.total, two.json.returned.repaid.items]).toEqual([1, '40.50', []]);
    expect(two.json.blocked.items.map((b) => [b.payee, b.amount])).toEqual([['member:A2', '45.50']]);
    expect(two.json.blocked.items[0]!.reason).toContain('returned by the bank: AC04 compte clos');
    // hand-computed (header): 45.50 = 0.00 + 0.00 + 45.50 − 0.00 + 0.00; no pain.001
    expect(two.json.settled.movement).toBe('45.50');
    expect(equation(two.json)).toEqual([['45.50', '45.50', true], ['0.00', '0.00', true]]);
    expect(two.json.reconciliation.reconciled).toBe(true);
    expect(two.csv).toContain(`returned;R1:member:A2;member:A2;;40.50;;${returnedId};;pain002-R1-reject-A2.xml;;;;AC04 compte clos\n`);
    expect(two.html).toMatch(new RegExp(`<table id="returned">[^]*${returnedId}[^]*AC04 compte clos[^]*</table>`));
    expect(r2.report!.returned).toEqual({ count: 1, total: '40.50', repaid: { count: 0, total: '0.00' } });
    expect(renderReportSummary(r2.report!)).toContain('bank returns since the previous run: 1 (40.50); re-paid by this run: 0 (0.00)');

    // R3: A2's new account: paid again, once
    const r3 = await run('R3', accounts({ A2: IBAN.NEW }), '2025-04-07');
    const three = await reportOf(r3);
    const newId = r3.orders[0]!.endToEndId;
    expect(newId).not.toBe(returnedId);
    expect(three.json.returned.items).toEqual([]);
    expect(three.json.returned.repaid.items).toEqual([{
      paymentId: 'R3:member:A2', payee: 'member:A2', kind: 'payment', transfer: true, endToEndId: newId, amount: '40.50', returnedAmount: '40.50', returnedEndToEndIds: [returnedId], lines: 1,
    }]);
    expect(three.json.transferred.orders.map((o) => [o.endToEndId, o.amount])).toEqual([[newId, '45.50']]);
    // 45.50 = transferred 45.50 + 0.00 + 0.00 − 0.00 + 0.00; the pain.001 holds 45.50
    expect(equation(three.json)).toEqual([['45.50', '45.50', true], ['45.50', '45.50', true]]);
    expect(three.csv).toContain(`repaid;R3:member:A2;member:A2;;40.50;;${newId};;;1;;;re-payment of ${returnedId} (returned 40.50)\n`);
    expect(renderReportSummary(r3.report!)).toContain('bank returns since the previous run: 0 (0.00); re-paid by this run: 1 (40.50)');
    expect(three.html).toMatch(new RegExp(`<table id="repaid">[^]*${newId}[^]*${returnedId}[^]*</table>`));

    // R4: nothing left
    const r4 = await run('R4', accounts({ A2: IBAN.NEW }), '2025-04-08');
    const four = await reportOf(r4);
    expect([four.json.returned.count, four.json.returned.repaid.count, four.json.reconciliation.reconciled]).toEqual([0, 0, true]);
  });
});
