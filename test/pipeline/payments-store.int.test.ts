import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import { accountBook, applyPaymentEvents, runPayments, type PaymentEvent } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { DueKeys, dueSetIdsOf, legacyLedgerFileOf, loadPaymentsState, PaymentsStore } from '../../src/pipeline/payments-store.js';
import { compositeKey, stateStoreFileOf } from '../../src/state/kv-store.js';
import { levelDirOf, type BinaryCodec } from '../../src/state/level-store.js';
import { paymentLineCodec } from '../../src/pipeline/payment-line-codec.js';
import { WhereEntries } from '../../src/pipeline/statement-where.js';
import { A9, a9Line, readAll, withEmbeddedHome } from './stages-given.js';
import { outcome } from '../payments/given.js';
import type { LineLedger } from '../../src/payments/types.js';
import type { ParkedPayee } from '../../src/payments/parked.js';
import { validPain001 } from '../support/pain001.js';

let home = '';
let bus: Bus;
withEmbeddedHome('payments-store-', (h, b) => ((home = h), (bus = b)));

const accounts = accountBook([A9]);

it("a home of the previous version (payments/ledger.json) is imported once: same state, file renamed .imported, nothing paid twice", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  const r1 = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  expect(r1.orders.map((o) => o.amount)).toEqual(['21.50']); // 9.00 + 12.50 in one order
  await validPain001(r1.sepaFiles[0]!);
  // the same home as the previous version left it: the bus offsets committed, the state in ledger.json
  const legacy = await loadPaymentsState(home);
  await rm(stateStoreFileOf(home), { force: true }); // none since session 11 (the payment state is in LevelDB)
  await rm(`${stateStoreFileOf(home)}-lock`, { force: true });
  await rm(levelDirOf(home), { recursive: true }); // since session 11 the state the stage wrote is there
  await writeFile(legacyLedgerFileOf(home), JSON.stringify({ format: 2, ledger: legacy.ledger, outbox: [], pending: null, handedOver: legacy.handedOver }));
  await writeFile(`${legacyLedgerFileOf(home)}.tmp`, '{"format":2,'); // a save the crash interrupted

  const store = await PaymentsStore.open(home);
  expect(await store.readAll()).toEqual(legacy);
  await store.close();
  expect([existsSync(legacyLedgerFileOf(home)), existsSync(`${legacyLedgerFileOf(home)}.imported`), existsSync(`${legacyLedgerFileOf(home)}.tmp`)]).toEqual([false, true, false]);

  // D1 replayed (same version: nothing to pay), D3 new: R2 pays D3's 4.50 alone
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D3:1', '4.50') }]);
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(r2.orders.map((o) => [o.amount, o.lineKeys])).toEqual([['4.50', ['n:D3:1']]]);
  await validPain001(r2.sepaFiles[0]!);
  const after = await loadPaymentsState(home);
  expect(Object.keys(after.ledger.runs).sort()).toEqual(['R1', 'R2']);
  // R1's EndToEndId is still in the handed-over index, next to R2's
  expect(Object.keys(after.handedOver).sort()).toEqual([r1.orders[0]!.endToEndId, r2.orders[0]!.endToEndId].sort());
  expect((await readAll(bus, 'payment-orders')).map((o) => o.paymentId)).toEqual(['R1:member:A9', 'R2:member:A9']);
});

it('a run reads what is due, not the history; deciding on that slice gives the same run as on the whole ledger', async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  const store = await PaymentsStore.open(home);
  try {
    // a consumed batch: D2 corrected down to 10.00 (version 2), D3 new
    const batch = [{ kind: 'settlement' as const, settlement: { ...a9Line('n:D2:1', '10.00'), version: 2 } }, { kind: 'settlement' as const, settlement: a9Line('n:D3:1', '4.50') }];
    await store.applyEvents(batch, applyPaymentEvents);
    const slice = await store.readSlice({ run: true, runId: 'R2' });
    // D1 (paid, unchanged) is not read
    expect(Object.keys(slice.lines).sort()).toEqual(['n:D2:1', 'n:D3:1']);
    expect(Object.keys(slice.due).sort()).toEqual(['n:D2:1', 'n:D3:1']);
    const input = { runId: 'R2', at: '2025-04-01T18:00:00Z', accounts };
    const onSlice = runPayments(slice, input);
    const onWhole = runPayments((await store.readAll()).ledger, input);
    // 4.50 new − 2.50 recovered on D2 (12.50 paid, 10.00 due) = 2.00
    expect(onSlice.orders.map((o) => o.amount)).toEqual(['2.00']);
    expect(onSlice.orders).toEqual(onWhole.orders);
    expect([onSlice.blocked, onSlice.pending, onSlice.held]).toEqual([onWhole.blocked, onWhole.pending, onWhole.held]);
  } finally {
    await store.close();
  }
});

it('two batches applied at the same time (settlements and reconciliation partitions) on the same line: both are kept', async () => {
  // the bus may call the handler for a settlements batch and a reconciliation batch concurrently;
  // each names line D9: the line must end with the settlement's facts AND the outcome's
  const store = await PaymentsStore.open(home);
  try {
    const lineKey = 'n:D9:1';
    const s = { kind: 'settlement' as const, settlement: { ...a9Line(lineKey, '19.00'), tp: '15' as const, payee: 'ps' as const } };
    const o = { kind: 'reconciliation' as const, outcome: outcome({ kind: 'matched', lineKey, version: 1, tpClaimId: 'C9' }) };
    await Promise.all([store.applyEvents([s], applyPaymentEvents), store.applyEvents([o], applyPaymentEvents)]);
    const line = (await store.readAll()).ledger.lines[lineKey]!;
    expect([line.settlement?.version, line.tp?.kind]).toEqual([1, 'matched']);
    expect((await store.readAll()).ledger.operatorPaid).toEqual({});
  } finally {
    await store.close();
  }
});

it('what the TP operator already paid on a line is found by the run (the line → claims index), after the store is reopened', async () => {
  // D5 in tiers payant, AMC 19.00 to the professional; the operator already paid claim C5 (19.00):
  // entitled 19.00 − already paid 19.00 = 0.00, so the run moves nothing (no order, nothing blocked)
  const lineKey = 'noemie-011591001:101000000033:1';
  const first = await PaymentsStore.open(home);
  await first.applyEvents([
    { kind: 'settlement', settlement: { ...a9Line(lineKey, '19.00'), tp: '15', payee: 'ps' } },
    { kind: 'reconciliation', outcome: outcome({ kind: 'matched', lineKey, version: 1, tpClaimId: 'C5', claimPaidOn: '2025-03-01', claimed: '19.00', owed: '19.00' }) },
  ], applyPaymentEvents);
  await first.close();
  const store = await PaymentsStore.open(home);
  try {
    const slice = await store.readSlice({ run: true, runId: 'R1' });
    expect(Object.keys(slice.operatorPaid)).toEqual(['C5']);
    const r = runPayments(slice, { runId: 'R1', at: '2025-03-31T18:00:00Z', accounts });
    expect([r.orders, r.blocked, r.pending]).toEqual([[], [], []]);
  } finally {
    await store.close();
  }
});

it("a line's payee-keyed maps are stored as pairs (no msgpack record per payee), and a line stored as a plain object before still reads", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  const store = await PaymentsStore.open(home);
  try {
    // the stored form, read through the sub-store's own codec (msgpack since session 12: payment-line-codec.ts)
    const raw = store.level.sub<{ paid: unknown }>('payments.line', paymentLineCodec as unknown as BinaryCodec<{ paid: unknown }>);
    // what the previous versions wrote: JSON text
    const json = store.level.sub<string>('payments.line', 'text');
    // R1 paid D1 9.00 to member:A9: stored as [[payee, amount]]
    expect(raw.get('n:D1:1')!.paid).toEqual([['member:A9', '9.00']]);
    // the form of the previous version: `paid` and `returned` as objects
    const before: LineLedger = {
      settlement: { version: 1, status: 'paid', annulled: false, tiersPayant: false, adherentId: 'A9', amcAmount: '12.50', careDate: '2025-01-10' },
      tp: null, paid: { 'member:A9': '12.50' }, returns: 1,
      returned: { E2E1: { payee: 'member:A9', paymentId: 'R0:member:A9', runId: 'R0', amount: '12.50', code: 'AC04', label: 'compte clôturé', blocks: true, file: 'camt054-1.xml', record: 1, at: '2025-03-01T00:00:00Z' } },
    };
    await store.level.commit(() => json.put('n:D2:1', JSON.stringify(before)));
    expect((await store.readSlice({ lineKeys: ['n:D2:1'] })).lines['n:D2:1']).toEqual(before);
    expect(store.paymentFactsOf(['n:D2:1']).get('n:D2:1')!.line).toEqual(before);
    // written again by this version (a run moving it), it reads back the same
    const slice = await store.readSlice({ lineKeys: ['n:D2:1'] });
    const after = { ...slice, lines: { 'n:D2:1': { ...before, paid: { 'member:A9': '0.00' } } } };
    await store.commitApproval(slice, after);
    expect(raw.get('n:D2:1')!.paid).toEqual([['member:A9', '0.00']]);
    expect((await store.readSlice({ lineKeys: ['n:D2:1'] })).lines['n:D2:1']).toEqual(after.lines['n:D2:1']);
  } finally {
    await store.close();
  }
});

it("a run's report is kept with its settled lines in keys of 5 000 (no value as large as the run), reads back whole; a report stored as one value before still reads", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  const store = await PaymentsStore.open(home);
  try {
    const r1 = store.report('R1')!;
    expect(r1.settled.lines.map((l) => l.lineKey)).toEqual(['n:D1:1', 'n:D2:1']);
    // a report of 12 001 settled lines (R1's two, repeated under other keys), recorded as a run records it
    const lines = Array.from({ length: 12_001 }, (_, i) => ({ ...r1.settled.lines[i % 2]!, lineKey: `n:D${i}:1` }));
    const big = { ...r1, runId: 'R2', settled: { ...r1.settled, lines, count: lines.length } };
    const empty = await store.readSlice({});
    await store.commitRun(empty, empty, null, big);
    const raw = store.level.sub<{ settled: { lines: unknown[] }; settledLineKeys?: number }>('payments.report');
    expect(raw.get('R2')!.settled.lines).toEqual([]);
    expect(raw.get('R2')!.settledLineKeys).toBe(3);
    // 12 001 = 5 000 + 5 000 + 2 001
    const chunks = (await store.level.sub<unknown[]>('payments.report-lines').entriesIn('R2')).map(([, v]) => v.length);
    expect(chunks).toEqual([5000, 5000, 2001]);
    expect(store.report('R2')).toEqual(big);
    // each row stored as its seven fields in order, without their names (session 13)
    const firstChunk = store.level.sub<unknown[]>('payments.report-lines').get('R2\u001f000000')!;
    expect(firstChunk[0]).toEqual(Object.values(lines[0]!));
    // rows stored as objects (sessions 7–12) still read, the same report; a row with a field the tuple does not name is kept whole
    const older = { ...r1, runId: 'R3', settled: { ...r1.settled, lines: [r1.settled.lines[0]!, { ...r1.settled.lines[1]!, extra: 'kept' }], count: 2 } };
    await store.level.commit(() => {
      store.level.sub('payments.report-lines').put('R3\u001f000000', older.settled.lines as never);
      raw.put('R3', { ...older, settled: { ...older.settled, lines: [] }, settledLineKeys: 1 } as never);
    });
    expect(store.report('R3')).toEqual(older);
    await store.commitRun(empty, empty, null, { ...older, runId: 'R4' });
    expect(store.level.sub<unknown[]>('payments.report-lines').get('R4\u001f000000')).toEqual([Object.values(r1.settled.lines[0]!), older.settled.lines[1]]);
    expect(store.report('R4')).toEqual({ ...older, runId: 'R4' });
    // the form of the previous version: the whole report in one value
    await store.level.commit(() => raw.put('R0', { ...r1, runId: 'R0' } as never));
    expect(store.report('R0')).toEqual({ ...r1, runId: 'R0' });
  } finally {
    await store.close();
  }
});

it("a pending run's intent keeps its orders in keys of about 5 000 line movements, reads back whole, and is cleared with them; an intent stored as one value before still reads", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }]);
  // stopped right after its intent is recorded: the intent stays pending
  await expect(runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z', onStep: (s) => { if (s === 'intent-saved') throw new Error('stop'); } })).rejects.toThrow('stop');
  const store = await PaymentsStore.open(home);
  try {
    const intent = (await store.pending())!;
    expect(intent.orders.map((o) => o.paymentId)).toEqual(['R1:member:A9']);
    // 1 500 orders of 7 lines each (R1's order, repeated): 714 orders make 4 998 lines, the 715th reaches 5 005 ≥ 5 000 → keys of 715, 715, 70
    // (orders of 1 line: 1 000 orders per key at most)
    const orders = Array.from({ length: 1500 }, (_, i) => ({ ...intent.orders[0]!, paymentId: `R1:member:X${i}`, lines: [0, 1, 2, 3, 4, 5, 6].map((j) => ({ ...intent.orders[0]!.lines[0]!, lineKey: `n:X${i}:${j}` })) }));
    const big = { ...intent, orders };
    const empty = await store.readSlice({});
    await store.commitRun(empty, empty, { ...big, files: [] });
    const raw = store.level.sub<{ orders: unknown[]; orderKeys?: number }>('payments.pending');
    expect(raw.get('run')!.orders).toEqual([]);
    const keys = (await store.level.sub<unknown[]>('payments.pending-orders').entriesIn()).map(([k, v]) => [k, v.length]);
    expect(keys).toEqual([['000000', 715], ['000001', 715], ['000002', 70]]);
    expect(await store.pending()).toEqual({ ...big, files: [] });
    const small = { ...intent, files: [], orders: Array.from({ length: 2001 }, (_, i) => ({ ...intent.orders[0]!, paymentId: `R1:member:Y${i}` })) };
    await store.commitRun(empty, empty, small);
    // 2 001 orders of 1 line: 1 000 + 1 000 + 1, the previous intent's third key gone
    expect((await store.level.sub<unknown[]>('payments.pending-orders').entriesIn()).map(([, v]) => v.length)).toEqual([1000, 1000, 1]);
    expect(await store.pending()).toEqual(small);
    await store.clearPending();
    expect(await store.pending()).toBeNull();
    expect(await store.level.sub('payments.pending-orders').keysAfter(null, 10)).toEqual([]);
    // the form of the previous version: the whole intent in one value
    await store.level.commit(() => raw.put('run', intent as never));
    expect(await store.pending()).toEqual(intent);
  } finally {
    await store.close();
  }
});

it("a consumed batch folded in place (the ledger's own fold) writes exactly what the slice copied and diffed writes: lines, due marks, operator payments, the line → claims index, statement marks", async () => {
  // the same batches applied to two stores: this home's with the default fold (in place, its
  // changes recorded), another's through a fold the store does not know (copy and diff)
  const other = await mkdtemp(join(tmpdir(), 'payments-store-diff-'));
  const folded = await PaymentsStore.open(home);
  const diffed = await PaymentsStore.open(other);
  try {
    const tp = (lineKey: string, amc: string, version = 1) => ({ kind: 'settlement' as const, settlement: { ...a9Line(lineKey, amc), version, tp: '15' as const, payee: 'ps' as const } });
    const member = (lineKey: string, amc: string, version = 1) => ({ kind: 'settlement' as const, settlement: { ...a9Line(lineKey, amc), version } });
    const o = (over: Parameters<typeof outcome>[0]) => ({ kind: 'reconciliation' as const, outcome: outcome(over) });
    const batches: PaymentEvent[][] = [
      [member('n:M1:1', '9.00'), member('n:M2:1', '12.50'), tp('n:T1:1', '19.00'), tp('n:T2:1', '30.00'), tp('n:T3:1', '8.00')],
      [
        o({ kind: 'matched', lineKey: 'n:T1:1', version: 1, tpClaimId: 'C1', claimPaidOn: '2025-03-01', claimed: '19.00', owed: '19.00' }),
        o({ kind: 'matched', lineKey: 'n:T2:1', version: 1, tpClaimId: 'C2', claimPaidOn: '2025-03-01', claimed: '30.00', owed: '30.00' }),
        o({ kind: 'held', lineKey: 'n:T3:1', version: 1, tpClaimId: 'C3' }),
        // C2 moves to T3 (the RO re-issued it): its payment with it, T2 due again
        o({ kind: 'matched', lineKey: 'n:T3:1', version: 1, tpClaimId: 'C2', claimPaidOn: '2025-03-01', claimed: '30.00', owed: '8.00' }),
      ],
      // a newer version, a replay (same version: ignored), a new line
      [member('n:M1:1', '7.00', 2), member('n:M2:1', '12.50'), member('n:M3:1', '4.50')],
      [
        // C1 no longer paid by the operator (its payment removed), an annulation keeping what was paid on T3
        o({ kind: 'matched', lineKey: 'n:T1:1', version: 1, tpClaimId: 'C1', claimPaidOn: null, claimed: '19.00', owed: '19.00' }),
        o({ kind: 'annulation-indu', lineKey: 'n:T3:1', version: 1, tpClaimId: 'C4', claimPaidOn: '2025-03-02', amount: '8.00' }),
        o({ kind: 'exception', lineKey: 'n:T2:1', version: 1, tpClaimId: null }),
      ],
    ];
    for (const b of batches) {
      await folded.applyEvents(b);
      await diffed.applyEvents(b, (ledger, events) => applyPaymentEvents(ledger, events));
    }
    const state = await folded.readAll();
    expect(state).toEqual(await diffed.readAll());
    expect(Object.keys(state.ledger.operatorPaid).sort()).toEqual(['C2', 'C4']);
    expect(state.ledger.operatorPaid['C2']!.lineKey).toBe('n:T3:1');
    expect(Object.keys(state.ledger.due).sort()).toEqual(['n:M1:1', 'n:M2:1', 'n:M3:1', 'n:T1:1', 'n:T2:1', 'n:T3:1']);
    expect(state.ledger.lines['n:M1:1']!.settlement!.amcAmount).toBe('7.00');
    // what is not in the ledger's view: the line → claims index and the statements' marks, key by key
    for (const name of ['payments.line-operators', 'statements.dirty', 'payments.line']) {
      const raw = (s: PaymentsStore) => s.level.sub<string>(name, 'text').entriesIn();
      expect(await raw(folded)).toEqual(await raw(diffed));
    }
    expect(await folded.level.sub<string[]>('payments.line-operators').entriesIn()).toEqual([['n:T3:1', ['C2', 'C4']]]);
    expect((await folded.level.sub<number>('statements.dirty').entriesIn()).map(([k]) => k)).toEqual(['A9']);
  } finally {
    await folded.close();
    await diffed.close();
    await rm(other, { recursive: true, force: true });
  }
});

it("a line paid by a second run gets that run's record after the first one's (the apply reads a line's run list only once a run paid it to someone); a line paid for the first time gets its first", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  // D1 corrected (version 2: 11.00, 2.00 more), D3 new
  await bus.produce('settlements', [{ value: { ...a9Line('n:D1:1', '11.00'), version: 2 } }, { value: a9Line('n:D3:1', '4.50') }]);
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(r2.orders.map((o) => [o.amount, o.lineKeys])).toEqual([['6.50', ['n:D1:1', 'n:D3:1']]]);
  const store = await PaymentsStore.open(home);
  try {
    // since session 21 a line's run list is inside the line's value: no `payments.line-runs` key
    expect(await store.level.sub('payments.line-runs').keysAfter(null, 10)).toEqual([]);
    const moved = (k: string) => store.runKeys().lineOf(k)!.runs!.map((r) => [r.runId, r.moved.map((m) => `${m.payee} ${m.amount}`)]);
    expect(moved('n:D1:1')).toEqual([['R1', ['member:A9 9.00']], ['R2', ['member:A9 2.00']]]);
    expect(moved('n:D2:1')).toEqual([['R1', ['member:A9 12.50']]]);
    expect(moved('n:D3:1')).toEqual([['R2', ['member:A9 4.50']]]);
    // what a member statement reads of them (paymentFactsOf): the same lists
    expect([...store.paymentFactsOf(['n:D1:1', 'n:D3:1']).values()].map((f) => f.runs.map((r) => r.runId))).toEqual([['R1', 'R2'], ['R2']]);
  } finally {
    await store.close();
  }
});

it("a consumed batch marks the families the ledger knows while the statement index files no line, and also the index's family once it files any (a line the index holds under another family)", async () => {
  const store = await PaymentsStore.open(home);
  try {
    const dirty = async () => (await store.level.sub<number>('statements.dirty').entriesIn()).map(([k]) => k);
    // the index empty (run --once: the statements come after the payments): the ledger's family, no index read needed
    await store.applyEvents([{ kind: 'settlement', settlement: a9Line('n:W1:1', '9.00') }]);
    expect(await dirty()).toEqual(['A9']);
    await store.level.commit(() => store.level.sub<number>('statements.dirty').remove('A9'));
    // the index files W2 under family B7 (a version that moved the line, not folded here yet): B7 is marked beside A9
    await store.level.commit(() => new WhereEntries(store.level).put('n:W2:1', { key: compositeKey('B7', '2025-03-01', 'n:W2:1'), version: 2 }));
    await store.applyEvents([{ kind: 'settlement', settlement: a9Line('n:W2:1', '12.50') }]);
    expect(await dirty()).toEqual(['A9', 'B7']);
  } finally {
    await store.close();
  }
});


it("a consumed batch's due lines are ONE key; the run pays what they and the lines marked one by one (the form before session 20, still read) name, each once, and parks the line it keeps for a blocked payee", async () => {
  const store = await PaymentsStore.open(home);
  const z1 = (lineKey: string, amc: string) => ({ ...a9Line(lineKey, amc), adherentId: 'Z1' }); // no account: blocked, parked
  try {
    // marked one by one, as a home of the previous version has them (the copy-and-diff fold writes them so)
    await store.applyEvents([{ kind: 'settlement', settlement: a9Line('n:D2:1', '12.50') }], (ledger, events) => applyPaymentEvents(ledger, events));
    // two batches of the stage's own fold: D2 again (a newer version), D1, D3 and Z1's line, one key each
    await store.applyEvents([{ kind: 'settlement', settlement: { ...a9Line('n:D2:1', '13.50'), version: 2 } }, { kind: 'settlement', settlement: a9Line('n:D3:1', '4.50') }]);
    await store.applyEvents([{ kind: 'settlement', settlement: a9Line('n:D1:1', '9.00') }, { kind: 'settlement', settlement: z1('n:Z1:1', '7.00') }]);
    const dueSets = await store.level.sub<string>('payments.due-set', 'text').entriesIn();
    expect(dueSets.map(([, text]) => text)).toEqual(expect.arrayContaining(['n:D2:1\nn:D3:1', 'n:D1:1\nn:Z1:1']));
    expect(dueSets).toHaveLength(2);
    expect(await store.level.sub('payments.due').keysAfter(null, 10)).toEqual(['n:D2:1']);
    expect(Object.keys((await store.readAll()).ledger.due)).toEqual(['n:D1:1', 'n:D2:1', 'n:D3:1', 'n:Z1:1']);
  } finally {
    await store.close();
  }
  const run = await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z', sliceLines: 2 });
  expect(run.orders.map((o) => [o.amount, o.lineKeys])).toEqual([['27.00', ['n:D1:1', 'n:D2:1', 'n:D3:1']]]);
  expect(run.blocked.map((b) => [b.payee, b.lineKeys])).toEqual([['member:Z1', ['n:Z1:1']]]);
  const after = await PaymentsStore.open(home);
  try {
    expect(await after.level.sub('payments.due-set').keysAfter(null, 10)).toEqual([]);
    // (session 24) out of the due set, counted by the blocked payee's parked decision
    expect(await after.level.sub('payments.due').keysAfter(null, 10)).toEqual([]);
    expect((await after.level.sub<ParkedPayee>('payments.parked').entriesIn()).map(([payee, p]) => [payee, p.lineKeys, p.amount, p.runId])).toEqual([['member:Z1', ['n:Z1:1'], '7.00', 'R1']]);
    // still owed: in the due set of the ledger's model
    expect(Object.keys((await after.readAll()).ledger.due)).toEqual(['n:Z1:1']);
  } finally {
    await after.close();
  }
  // nothing new: the next run pays nothing, nothing twice, and does not decide Z1 again (carried)
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect([r2.orders, r2.blocked, r2.carried]).toEqual([[], [], [{ payee: 'member:Z1', amount: '7.00', reason: 'member:Z1: no account known', lines: 1, since: 'R1' }]]);
});

it('the due keys in order, a slice at a time: the per-line marks and the batches\' sets merged, each line once, from any line on', async () => {
  const store = await PaymentsStore.open(home);
  try {
    const keys = store.runKeys();
    await store.level.commit(() => {
      for (const k of ['b', 'd']) keys.due.put(k, 1);
      keys.dueSets.put(compositeKey('s1', '000000'), 'a\nc\nd');
      // a set of two keys (DUE_SET_CHUNK lines each), read one after the other
      keys.dueSets.put(compositeKey('s2', '000000'), 'c');
      keys.dueSets.put(compositeKey('s2', '000001'), 'e\nf');
    });
    expect(dueSetIdsOf(await keys.dueSets.keysAfter(null, 10))).toEqual(['s1', 's2']);
    const due = DueKeys.open(keys, ['s1', 's2'], null);
    expect([await due.next(2), await due.next(2), await due.next(2), await due.next(2)]).toEqual([
      { keys: ['a', 'b'], marked: [false, true] },
      { keys: ['c', 'd'], marked: [false, true] },
      { keys: ['e', 'f'], marked: [false, false] },
      { keys: [], marked: [] },
    ]);
    // resumed after 'c' (a restart at the apply's cursor); a set not listed is not read
    expect(await DueKeys.open(keys, ['s1', 's2'], 'c').next(10)).toEqual({ keys: ['d', 'e', 'f'], marked: [true, false, false] });
    expect(await DueKeys.open(keys, ['s1'], null).next(10)).toEqual({ keys: ['a', 'b', 'c', 'd'], marked: [false, true, false, true] });
  } finally {
    await store.close();
  }
});

it("a home whose lines keep their run lists in `payments.line-runs` keys (the form before session 21) reads them, and a run that moves such a line takes its list into the line and removes the key", async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  // the home as a build before session 21 left it: each line without its list (structure 0x40), the list in its own key
  let store = await PaymentsStore.open(home);
  try {
    const keys = store.runKeys();
    const lineRuns = store.level.sub<unknown>('payments.line-runs');
    const paid = ['n:D1:1', 'n:D2:1'].map((k) => [k, keys.lineOf(k)!] as const);
    await store.level.commit(() => {
      for (const [k, line] of paid) {
        const { runs, ...old } = line;
        keys.putLine(k, old);
        lineRuns.put(k, runs);
      }
    });
    const raw = await store.level.sub<Buffer>('payments.line', { encode: (b: Buffer) => b, decode: (b: Buffer) => b }).entriesIn();
    expect(raw.map(([k, b]) => [k, b[0]])).toEqual([['n:D1:1', 0x40], ['n:D2:1', 0x40]]);
    const ids = (facts: Map<string, { runs: readonly { runId: string }[] }>) => [...facts.values()].map((f) => f.runs.map((r) => r.runId));
    expect(ids(store.paymentFactsOf(['n:D1:1', 'n:D2:1']))).toEqual([['R1'], ['R1']]);
    expect(ids(await store.paymentFactsOfMany(['n:D1:1', 'n:D2:1']))).toEqual([['R1'], ['R1']]);
    // the statement pass's two steps (its group read as stored, a family decoded later): the same facts
    const stored = (await store.storedFactsOfMany(['n:D1:1', 'n:D2:1'], await store.statementFactsOnce()))!;
    expect(await store.storedFactsOf(stored, ['n:D1:1', 'n:D2:1'])).toEqual(store.paymentFactsOf(['n:D1:1', 'n:D2:1']));
  } finally {
    await store.close();
  }
  // D1 corrected (2.00 more), D3 new: R2 moves D1 and D3, not D2
  await bus.produce('settlements', [{ value: { ...a9Line('n:D1:1', '11.00'), version: 2 } }, { value: a9Line('n:D3:1', '4.50') }]);
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-01T18:00:00Z' });
  expect(r2.orders.map((o) => [o.amount, o.lineKeys])).toEqual([['6.50', ['n:D1:1', 'n:D3:1']]]);
  store = await PaymentsStore.open(home);
  try {
    const keys = store.runKeys();
    const moved = (k: string) => keys.lineOf(k)!.runs?.map((r) => [r.runId, r.moved.map((m) => `${m.payee} ${m.amount}`)]);
    expect([moved('n:D1:1'), moved('n:D2:1'), moved('n:D3:1')]).toEqual([[['R1', ['member:A9 9.00']], ['R2', ['member:A9 2.00']]], undefined, [['R2', ['member:A9 4.50']]]]);
    // D1's key went with the batch that took its list in; D2's, untouched, is still read
    expect(await store.level.sub('payments.line-runs').keysAfter(null, 10)).toEqual(['n:D2:1']);
    const facts = await store.paymentFactsOfMany(['n:D1:1', 'n:D2:1', 'n:D3:1']);
    expect([...facts.values()].map((f) => f.runs.map((r) => r.runId))).toEqual([['R1', 'R2'], ['R1'], ['R2']]);
    expect([...store.paymentFactsOf(['n:D1:1', 'n:D2:1', 'n:D3:1']).values()]).toEqual([...facts.values()]);
  } finally {
    await store.close();
  }
});
