import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import type { AccountBook } from '../../src/payments/types.js';
import { applyBankReturnFile, type BankReturnReport } from '../../src/pipeline/bank-returns.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { loadPaymentsState, PaymentsStore } from '../../src/pipeline/payments-store.js';
import { accounts, AMOUNTS, IBAN, settlements } from './bank-returns-given.js';
import { readAll, withEmbeddedHome } from './stages-given.js';

const FIXTURES = 'fixtures/bank-returns';
const PAIN002 = join(FIXTURES, 'pain002-R1-reject-A2.xml');
const CAMT054 = join(FIXTURES, 'camt054-R1-return-A3.xml');

let home = '';
let bus: Bus;
withEmbeddedHome('returns-', (h, b) => ((home = h), (bus = b)));

const run = (runId: string, book: AccountBook, day: string) => runPaymentStage({ bus, home, accounts: book, runId, at: `${day}T18:00:00Z` });

async function applyFile(file: string, label?: string): Promise<BankReturnReport> {
  const store = await PaymentsStore.open(home);
  try {
    return await applyBankReturnFile(store, file, { at: '2025-04-03T08:00:00Z', ...(label ? { label } : {}) });
  } finally {
    await store.close();
  }
}

/** Given: run R1 pays the three families their line (A1 25.00, A2 40.50, A3 12.30). */
async function givenRunR1(): Promise<Record<string, string>> {
  await bus.produce('settlements', settlements().map((value) => ({ value })));
  const r1 = await run('R1', accounts(), '2025-03-31');
  expect(r1.orders.map((o) => [o.payee, o.amount])).toEqual([['member:A1', '25.00'], ['member:A2', '40.50'], ['member:A3', '12.30']]);
  return Object.fromEntries(r1.orders.map((o) => [o.payee, o.endToEndId]));
}

async function ids(file: string, tag: string): Promise<string[]> {
  return [...(await readFile(file, 'utf8')).matchAll(new RegExp(`<${tag}>([^<]+)</${tag}>`, 'g'))].map((m) => m[1]!);
}

describe('bank returns', () => {
  it('golden files: their EndToEndIds are those of the pain.001 run R1 writes', async () => {
    const e2e = await givenRunR1();
    expect(await ids(PAIN002, 'OrgnlEndToEndId')).toEqual([e2e['member:A2']]);
    expect(await ids(CAMT054, 'EndToEndId')).toEqual([e2e['member:A1'], e2e['member:A3']]);
  });

  it('pain.002 rejects A2 (AC04): returned, 40.50 due again, A2 blocked on that account; paid once to its new account', async () => {
    const e2e = await givenRunR1();

    // when the bank's status report rejects A2's transfer
    const report = await applyFile(PAIN002);

    // then the order is returned, with the reason
    expect(report.returned.map((r) => [r.endToEndId, r.paymentId, r.payee, r.amount, r.code, r.label])).toEqual([
      [e2e['member:A2'], 'R1:member:A2', 'member:A2', '40.50', 'AC04', 'compte clos'],
    ]);
    expect([report.acknowledged, report.exceptions]).toEqual([0, []]);
    const state = (await loadPaymentsState(home)).ledger;
    // paid for A2's line: 40.50 by R1 − 40.50 returned = 0.00; the line is due again
    expect(state.lines['n:D-A2:1']!.paid).toEqual({ 'member:A2': '0.00' });
    expect(state.due).toEqual({ 'n:D-A2:1': true });
    expect(state.returnBlocks?.['member:A2']).toMatchObject({ code: 'AC04', ibanMasked: 'FR76…0227', paymentId: 'R1:member:A2' });
    // the others are untouched
    expect(state.lines['n:D-A1:1']!.paid).toEqual({ 'member:A1': '25.00' });

    // when the next run finds A2 still on the closed account: not paid, blocked with the reason
    const r2 = await run('R2', accounts(), '2025-04-04');
    expect(r2.orders).toEqual([]);
    expect(r2.blocked).toEqual([{ payee: 'member:A2', lineKeys: ['n:D-A2:1'], amount: '40.50', reason: expect.stringContaining('returned by the bank: AC04 compte clos') }]);
    expect(r2.sepaFiles).toEqual([]);

    // when A2's account changes: the next run pays exactly the returned 40.50, to the new account, once
    const r3 = await run('R3', accounts({ A2: IBAN.NEW }), '2025-04-07');
    expect(r3.orders.map((o) => [o.payee, o.kind, o.amount, o.iban])).toEqual([['member:A2', 'payment', '40.50', IBAN.NEW]]);
    expect(r3.blocked).toEqual([]);
    expect((await readFile(r3.sepaFiles[0]!, 'utf8')).match(/<CtrlSum>([^<]+)</)?.[1]).toBe('40.50');
    expect((await loadPaymentsState(home)).ledger.returnBlocks).toEqual({});
    const r4 = await run('R4', accounts({ A2: IBAN.NEW }), '2025-04-08');
    expect([r4.orders, r4.blocked]).toEqual([[], []]);
    // on the topic: A2 paid twice in all (the returned transfer and the new one), each 40.50
    const a2 = (await readAll(bus, 'payment-orders')).filter((o) => o.payee === 'member:A2').map((o) => [o.runId, o.amount]);
    expect(a2).toEqual([['R1', AMOUNTS.A2], ['R3', AMOUNTS.A2]]);
  });

  it('camt.054 return of A3 (RtrInf AC01) does the same; the booked debit of A1 is acknowledged and changes nothing', async () => {
    const e2e = await givenRunR1();
    const report = await applyFile(CAMT054);
    expect(report.returned.map((r) => [r.endToEndId, r.payee, r.amount, r.code, r.blocks])).toEqual([[e2e['member:A3'], 'member:A3', '12.30', 'AC01', true]]);
    expect([report.acknowledged, report.exceptions.length, report.format]).toEqual([1, 0, 'camt.054']);
    const state = (await loadPaymentsState(home)).ledger;
    expect(state.due).toEqual({ 'n:D-A3:1': true });
    expect(state.lines['n:D-A1:1']!.paid).toEqual({ 'member:A1': '25.00' });

    const r2 = await run('R2', accounts(), '2025-04-04');
    expect(r2.blocked.map((b) => [b.payee, b.amount])).toEqual([['member:A3', '12.30']]);
    expect(r2.blocked[0]!.reason).toContain('returned by the bank: AC01 identifiant de compte incorrect');
    const r3 = await run('R3', accounts({ A3: IBAN.NEW }), '2025-04-07');
    expect(r3.orders.map((o) => [o.payee, o.amount, o.iban])).toEqual([['member:A3', '12.30', IBAN.NEW]]);
    expect((await run('R4', accounts({ A3: IBAN.NEW }), '2025-04-08')).orders).toEqual([]);
  });

  it('the same file twice: skipped by its hash, nothing applied twice', async () => {
    await givenRunR1();
    await applyFile(PAIN002);
    const after = await loadPaymentsState(home);
    const again = await applyFile(PAIN002, 'pain002-resent.xml');
    expect(again.duplicateOf).toMatchObject({ file: 'pain002-R1-reject-A2.xml', returned: 1 });
    expect([again.returned, again.exceptions]).toEqual([[], []]);
    expect(await loadPaymentsState(home)).toEqual(after);
  });

  it('an unknown EndToEndId, and a second return of one already returned, go to exceptions with file and record', async () => {
    const e2e = await givenRunR1();
    await applyFile(PAIN002);
    const text = (await readFile(PAIN002, 'utf8')).replace('BNPP-PSR-20250401-000731', 'BNPP-PSR-20250402-000802');
    // record 1: A2's transfer again; record 2: an id no transfer of ours carries
    const twice = text.replace('</OrgnlPmtInfAndSts>', `<TxInfAndSts><OrgnlEndToEndId>PFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>MS03</Cd></Rsn></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts>`);
    const file = join(home, 'pain002-second.xml');
    await writeFile(file, twice);
    const before = (await loadPaymentsState(home)).ledger;
    const report = await applyFile(file);
    expect(report.returned).toEqual([]);
    expect(report.exceptions.map((e) => [e.file, e.record, e.endToEndId, e.code])).toEqual([
      ['pain002-second.xml', 1, e2e['member:A2'], 'AC04'],
      ['pain002-second.xml', 2, 'PFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', 'MS03'],
    ]);
    expect(report.exceptions[0]!.reason).toContain('second return');
    expect(report.exceptions[1]!.reason).toContain('unknown EndToEndId');
    // nothing applied: the ledger is as before; the exceptions are kept in the state
    expect((await loadPaymentsState(home)).ledger).toEqual(before);
    const store = await PaymentsStore.open(home);
    try {
      expect((await store.returnExceptions.entriesIn()).map(([, e]) => e.record)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('a malformed file: clear error naming file, record and field; nothing applied', async () => {
    await givenRunR1();
    const file = join(home, 'pain002-broken.xml');
    await writeFile(file, (await readFile(PAIN002, 'utf8')).replace(/<OrgnlEndToEndId>[^<]+<\/OrgnlEndToEndId>/, ''));
    const before = await loadPaymentsState(home);
    await expect(applyFile(file)).rejects.toMatchObject({
      code: 'PAYMENTS_RETURN_MALFORMED',
      message: 'pain002-broken.xml record 1: OrgnlPmtInfAndSts[1]/TxInfAndSts[1]/OrgnlEndToEndId: missing',
    });
    expect(await loadPaymentsState(home)).toEqual(before);
    // and once corrected, the file is applied (a refused file is not remembered as seen)
    expect((await applyFile(PAIN002)).returned).toHaveLength(1);
  });
});
