import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import type { PaymentOrder } from '../../src/model/payment.js';
import { buildRunReport, nextTarget2BusinessDay, planPaymentRun, type AccountBook, type LineLedger, type PaymentLimits, type PaymentsLedger } from '../../src/payments/index.js';
import type { PaymentEvent } from '../../src/payments/ledger.js';
import type { ParkedPayee } from '../../src/payments/parked.js';
import { applyStreamedRun, decideStreamedRun, ordersWithLines, recordStreamedRun } from '../../src/pipeline/payment-run-stream.js';
import { PaymentsStore, savePaymentsState } from '../../src/pipeline/payments-store.js';
import { paymentLineCodec } from '../../src/pipeline/payment-line-codec.js';
import type { BinaryCodec } from '../../src/state/level-store.js';
import { settlement, tempDir } from './stages-given.js';
import { IBAN } from '../payments/given.js';

/**
 * Session 24: a blocked payee is parked (src/payments/parked.ts) — its lines leave the due set and
 * later runs do not decide it again until one of its lines is due again, or its account, return
 * block or debt changes. The money must be exactly what a run that decides every owed line each
 * time pays: each scenario runs on two homes, one with the streamed run (parking) and one with the
 * run in memory over the whole owed set (readSlice: the due set AND the parked lines; commitRun),
 * and compares orders byte for byte and blocked amounts payee by payee. The amounts are also
 * worked out by hand in each scenario.
 */

const DEBTOR = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };

const account = (n: number, name: string) => ({ iban: IBAN(n), bic: null, name });

const member = (adh: string, amc: string, over: Partial<LineLedger> = {}): LineLedger => ({ settlement: { version: 1, status: 'paid', annulled: false, tiersPayant: false, adherentId: adh, amcAmount: amc, careDate: '2025-03-10' }, tp: null, paid: {}, ...over });
const newVersion = (lineKey: string, adh: string, amc: string, version: number): PaymentEvent => ({ kind: 'settlement', settlement: settlement({ lineKey, beneficiary: { nir: '1850375123456', rang: 1 }, adherentId: adh, tp: '00', payee: 'member', amcAmount: amc, version, careDate: '2025-03-12' }) });

let root = '';
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir('payments-parked-')));
afterAll(async () => cleanup());

/** Two homes from the same ledger: the streamed run's, and the reference deciding every owed line at every run. */
async function twins(name: string, lines: Record<string, LineLedger>) {
  const ledger: PaymentsLedger = { lines, operatorPaid: {}, due: Object.fromEntries(Object.keys(lines).map((k) => [k, true as const])), debts: {}, runs: {}, held: {}, approvals: {} };
  const open = async (which: string) => {
    const home = join(root, `${name}-${which}`);
    await savePaymentsState(home, { ledger, outbox: [], pending: null, handedOver: {} });
    return PaymentsStore.open(home);
  };
  const streamedStore = await open('streamed');
  const memoryStore = await open('memory');
  let n = 0;
  const options = (accounts: AccountBook, runId: string, at: string, limits?: PaymentLimits) => ({
    runId, at, accounts, outDir: join(root, `${name}-out`), debtorOf: () => DEBTOR, executionDate: nextTarget2BusinessDay(at.slice(0, 10)), initiatingParty: DEBTOR.name, initiatingPartyId: null,
    ...(limits === undefined ? {} : { limits }),
  });
  return {
    streamedStore,
    /** both homes consume the same events */
    async consume(events: PaymentEvent[]) {
      await streamedStore.applyEvents(events);
      await memoryStore.applyEvents(events);
    },
    /** one run on each home; the same orders, and each payee blocked for the same amount (this run's or carried) */
    async run(accounts: AccountBook, limits?: PaymentLimits) {
      n += 1;
      const runId = `R${n}`;
      const at = `2025-04-${String(n).padStart(2, '0')}T18:00:00.000Z`;
      const d = (await decideStreamedRun(streamedStore, { ...options(accounts, runId, at, limits), sliceLines: 2 }))!;
      await recordStreamedRun(streamedStore, d);
      await applyStreamedRun(streamedStore, { sliceLines: 2 });
      const orders: PaymentOrder[] = [];
      for await (const o of ordersWithLines(streamedStore, d.orders)) orders.push(o);

      const before = await memoryStore.readSlice({ run: true, runId });
      const planned = planPaymentRun(before, options(accounts, runId, at, limits));
      await memoryStore.commitRun(before, planned.result.ledger, planned.intent, buildRunReport({ runId, at, slice: before, result: planned.result, intent: planned.intent }), planned.result.blocked);

      expect(orders.map((o) => JSON.stringify(o))).toEqual(planned.result.orders.map((o) => JSON.stringify(o)));
      const carried = d.report.carried?.items ?? [];
      const sorted = (xs: string[][]) => xs.sort(([a], [b]) => (a! < b! ? -1 : 1));
      const blockedNow = sorted([...d.blocked.map((b) => [b.payee, b.amount]), ...carried.filter((c) => c.kind === undefined).map((c) => [c.payee, c.amount])]);
      expect(blockedNow).toEqual(planned.result.blocked.map((b) => [b.payee, b.amount]));
      const heldNow = sorted([...d.held.map((h) => [h.payee, h.amount]), ...carried.filter((c) => c.kind === 'held').map((c) => [c.payee, c.amount])]);
      expect(heldNow).toEqual(sorted(planned.result.held.map((h) => [h.payee, h.amount])));
      expect(d.report.reconciliation.reconciled).toBe(true);
      return {
        runId,
        orders: orders.map((o) => [o.payee, o.amount, o.lineKeys]),
        blocked: d.blocked.map((b) => [b.payee, b.amount, b.lineKeys]),
        held: d.held.map((h) => [h.payee, h.amount, h.ceiling, h.lineKeys]),
        heldIds: d.held.map((h) => [h.payee, h.paymentId, h.endToEndId]),
        carried: carried.map((c) => (c.kind === undefined ? [c.payee, c.amount, c.since] : [c.payee, c.amount, c.since, c.kind])),
        /** the chunks of settled rows the run's report has (0: it decided no line) */
        decided: d.settledLineKeys,
        pending: d.pending.map((p) => p.lineKey),
      };
    },
    /** the same write in both homes */
    async write(f: (keys: ReturnType<PaymentsStore['runKeys']>) => void) {
      for (const store of [streamedStore, memoryStore]) {
        const keys = store.runKeys();
        await keys.level.commit(() => f(keys));
      }
    },
    async due() {
      return streamedStore.level.sub('payments.due').keysAfter(null, 100);
    },
    async parked() {
      return (await streamedStore.level.sub<ParkedPayee>('payments.parked').entriesIn()).map(([payee, p]) => [payee, p.lineKeys]);
    },
    async close() {
      await streamedStore.close();
      await memoryStore.close();
    },
  };
}

it('a blocked payee is parked, carried while nothing changes, decided again on ALL its lines when one is due again (never twice), and paid when its account arrives', async () => {
  const t = await twins('account', {
    L1: member('M1', '10.00'),
    L2: member('M3', '20.00'),
    L3: member('M3', '5.00'),
    L4: member('M4', '7.00'),
    // under review: pending, out of the due set until a new version
    L6: member('M1', '12.00', { settlement: { version: 1, status: 'review', annulled: false, tiersPayant: false, adherentId: 'M1', amcAmount: '12.00', careDate: '2025-03-10' } }),
  });
  try {
    const none: AccountBook = { members: { M1: account(1, 'Famille M1') }, professionals: {} };
    // R1: M1 paid 10.00; M3 blocked 20.00 + 5.00, M4 blocked 7.00; L6 pending
    const r1 = await t.run(none);
    expect([r1.orders, r1.blocked, r1.pending]).toEqual([[['member:M1', '10.00', ['L1']]], [['member:M3', '25.00', ['L2', 'L3']], ['member:M4', '7.00', ['L4']]], ['L6']]);
    expect([await t.due(), await t.parked()]).toEqual([[], [['member:M3', ['L2', 'L3']], ['member:M4', ['L4']]]]);

    // R2, nothing new: nothing decided, both carried
    const r2 = await t.run(none);
    expect([r2.orders, r2.blocked, r2.carried, r2.decided, r2.pending]).toEqual([[], [], [['member:M3', '25.00', 'R1'], ['member:M4', '7.00', 'R1']], 0, []]);

    // L3 re-liquidated (5.00 → 8.00), a new line L5 of 3.00 for M3, L6 decided (12.00): M3 decided
    // again on L2 (parked), L3 (due and parked: once) and L5 → 20.00 + 8.00 + 3.00 = 31.00; M1 paid L6
    await t.consume([newVersion('L3', 'M3', '8.00', 2), newVersion('L5', 'M3', '3.00', 1), newVersion('L6', 'M1', '12.00', 2)]);
    const r3 = await t.run(none);
    expect([r3.orders, r3.blocked, r3.carried]).toEqual([[['member:M1', '12.00', ['L6']]], [['member:M3', '31.00', ['L2', 'L3', 'L5']]], [['member:M4', '7.00', 'R1']]]);
    expect([await t.due(), await t.parked()]).toEqual([[], [['member:M3', ['L2', 'L3', 'L5']], ['member:M4', ['L4']]]]);

    // a new line L7 of 2.00 for M4 only (none of its parked lines changes): M4 decided again on L4 and
    // L7 → 9.00 (decided on L7 alone it would be 2.00, and L4 would fall out of its record); M3 carried
    await t.consume([newVersion('L7', 'M4', '2.00', 1)]);
    const r4 = await t.run(none);
    expect([r4.orders, r4.blocked, r4.carried]).toEqual([[], [['member:M4', '9.00', ['L4', 'L7']]], [['member:M3', '31.00', 'R3']]]);

    // M3's RIB arrives (nothing else): woken by its account, paid 31.00 for its three lines; M4 carried
    const withM3: AccountBook = { members: { ...none.members, M3: account(3, 'Famille M3') }, professionals: {} };
    const r5 = await t.run(withM3);
    expect([r5.orders, r5.blocked, r5.carried]).toEqual([[['member:M3', '31.00', ['L2', 'L3', 'L5']]], [], [['member:M4', '9.00', 'R4']]]);
    expect(await t.parked()).toEqual([['member:M4', ['L4', 'L7']]]);

    // then M4's: 9.00; nothing left parked, and a last run pays nothing twice
    const all: AccountBook = { members: { ...withM3.members, M4: account(4, 'Famille M4') }, professionals: {} };
    const r6 = await t.run(all);
    expect([r6.orders, r6.blocked, r6.carried]).toEqual([[['member:M4', '9.00', ['L4', 'L7']]], [], []]);
    const r7 = await t.run(all);
    expect([r7.orders, r7.blocked, r7.carried, await t.parked(), await t.due()]).toEqual([[], [], [], [], []]);
  } finally {
    await t.close();
  }
});

it('a line two blocked payees count brings both back: woken by one, the other is decided on all its lines too', async () => {
  // LB was paid 10.00 to the member M7, then found tiers payant: owed to the professional P2 (10.00)
  // and recovered from M7 (−10.00). M7 (no account) is also owed LA 50.00: net 40.00, blocked on
  // LA and LB; P2 (no account) is owed LB 10.00 and LC 4.00: blocked on LB and LC. LB is parked
  // with both.
  const tp = (owed: string) => ({ version: 1, kind: 'matched' as const, payee: 'ps:P2', owed });
  const tpLine = (adh: string, amc: string, owed: string, paid: Record<string, string>): LineLedger => ({ settlement: { version: 1, status: 'paid', annulled: false, tiersPayant: true, adherentId: adh, amcAmount: amc, careDate: '2025-03-11' }, tp: tp(owed), paid });
  const t = await twins('closure', {
    LA: member('M7', '50.00'),
    LB: tpLine('M7', '10.00', '10.00', { 'member:M7': '10.00' }),
    LC: tpLine('M8', '4.00', '4.00', {}),
  });
  try {
    const none: AccountBook = { members: {}, professionals: {} };
    const r1 = await t.run(none);
    expect([r1.orders, r1.blocked]).toEqual([[], [['member:M7', '40.00', ['LA', 'LB']], ['ps:P2', '14.00', ['LB', 'LC']]]]);
    expect(await t.parked()).toEqual([['member:M7', ['LA', 'LB']], ['ps:P2', ['LB', 'LC']]]);

    // M7's account arrives: M7 decided again → LB brings P2 in (decided on LB and LC: still 14.00, blocked)
    const r2 = await t.run({ members: { M7: account(7, 'Famille M7') }, professionals: {} });
    expect([r2.orders, r2.blocked, r2.carried]).toEqual([[['member:M7', '40.00', ['LA', 'LB']]], [['ps:P2', '14.00', ['LB', 'LC']]], []]);
    expect(await t.parked()).toEqual([['ps:P2', ['LB', 'LC']]]);

    // P2's: 14.00 on LB and LC
    const r3 = await t.run({ members: { M7: account(7, 'Famille M7') }, professionals: { P2: account(22, 'Cabinet P2') } });
    expect([r3.orders, r3.blocked, r3.carried, await t.parked()]).toEqual([[['ps:P2', '14.00', ['LB', 'LC']]], [], [], []]);
  } finally {
    await t.close();
  }
});

it('a parked payee whose debt changes is decided again', async () => {
  const t = await twins('facts', { L1: member('M3', '20.00') });
  try {
    const none: AccountBook = { members: {}, professionals: {} };
    await t.run(none);
    // a debt appears (as a bank return would put back): M3 decided again, 20.00 − 5.00 = 15.00, still blocked
    await t.write((keys) => keys.debts.put('member:M3', '5.00'));
    const r2 = await t.run(none);
    expect([r2.blocked, r2.carried]).toEqual([[['member:M3', '15.00', ['L1']]], []]);
  } finally {
    await t.close();
  }
});

it('an apply cut after any of its slices (the parked lines\' included) and resumed leaves what the uninterrupted one leaves', async () => {
  const lines = { L1: member('M3', '20.00'), L2: member('M3', '5.00'), L3: member('M3', '1.50'), L4: member('M4', '7.00'), L5: member('M1', '3.00') };
  const none: AccountBook = { members: { M1: account(1, 'Famille M1') }, professionals: {} };
  const withM3: AccountBook = { members: { ...none.members, M3: account(3, 'Famille M3') }, professionals: {} };
  const SUBS = ['payments.line', 'payments.due', 'payments.parked', 'payments.line-blocked', 'payments.run', 'payments.transfer', 'payments.pending', 'payments.run-parked'];
  const options = (accounts: AccountBook, runId: string, at: string) => ({
    runId, at, accounts, outDir: join(root, 'cut-out'), debtorOf: () => DEBTOR, executionDate: nextTarget2BusinessDay(at.slice(0, 10)), initiatingParty: DEBTOR.name, initiatingPartyId: null, sliceLines: 1,
  });
  /** R1 parks M3 (three lines) and M4; R2 (M3's account) decides M3's parked lines again: cut after its `cut`-th slice, then resumed */
  const home = async (name: string, cut: number | null) => {
    const dir = join(root, `cut-${name}`);
    await savePaymentsState(dir, { ledger: { lines, operatorPaid: {}, due: Object.fromEntries(Object.keys(lines).map((k) => [k, true as const])), debts: {}, runs: {}, held: {}, approvals: {} }, outbox: [], pending: null, handedOver: {} });
    const store = await PaymentsStore.open(dir);
    for (const [runId, at, accounts] of [['R1', '2025-04-01T18:00:00.000Z', none], ['R2', '2025-04-02T18:00:00.000Z', withM3]] as const) {
      const d = (await decideStreamedRun(store, options(accounts, runId, at)))!;
      await recordStreamedRun(store, d);
      let slices = 0;
      const phases: string[] = [];
      const onSlice = () => {
        phases.push(store.runKeys().pendingRun.get('apply') === undefined ? 'done' : (store.runKeys().pendingRun.get('apply') as unknown as { phase: string }).phase);
        if (runId === 'R2' && ++slices === cut) throw new Error('cut');
      };
      await applyStreamedRun(store, { sliceLines: 1, onSlice }).catch((e: Error) => expect(e.message).toBe('cut'));
      await applyStreamedRun(store, { sliceLines: 1 });
      if (runId === 'R2' && cut === null) expect(phases.filter((p) => p === 'parked').length).toBeGreaterThanOrEqual(2);
    }
    const dump = Object.fromEntries(await Promise.all(SUBS.map(async (s) => [s, await store.level.sub(s, s === 'payments.line' ? (paymentLineCodec as BinaryCodec<unknown>) : 'json').entriesIn()])));
    await store.close();
    return dump;
  };
  const whole = await home('whole', null);
  // M3 paid 26.50 in R2 on its three lines (marks gone), M4 still parked
  expect((whole['payments.parked'] as [string, ParkedPayee][]).map(([p, r]) => [p, r.lineKeys, r.runId])).toEqual([['member:M4', ['L4'], 'R1']]);
  expect((whole['payments.line-blocked'] as [string][]).map(([k]) => k)).toEqual(['L4']);
  for (let cut = 1; cut <= 6; cut++) expect(await home(`at-${cut}`, cut)).toEqual(whole);
}, 60_000);

it('an order held by the per-order ceiling is parked and carried; an approval, a higher ceiling or a new line brings it back (one held by the per-run ceiling is decided at every run)', async () => {
  // M5 owed 12 000.00 (two lines), M6 15 000.00: both above the 10 000.00 per-order ceiling; M7
  // 7 000.00 and M8 6 000.00 under a 12 000.00 per-run ceiling: M7 passes, M8 waits for the run's room
  const t = await twins('held', { H1: member('M5', '7000.00'), H2: member('M5', '5000.00'), H3: member('M6', '15000.00'), H4: member('M7', '7000.00'), H5: member('M8', '6000.00') });
  try {
    const accounts: AccountBook = { members: Object.fromEntries(['M5', 'M6', 'M7', 'M8'].map((m, i) => [m, account(10 + i, `Famille ${m}`)])), professionals: {} };
    const limits = { maxOrder: '10000.00', maxRun: '12000.00' };
    const r1 = await t.run(accounts, limits);
    expect([r1.orders, r1.held]).toEqual([[['member:M7', '7000.00', ['H4']]], [['member:M5', '12000.00', 'order', ['H1', 'H2']], ['member:M6', '15000.00', 'order', ['H3']], ['member:M8', '6000.00', 'run', ['H5']]]]);
    // the per-run hold stays due; the per-order ones are parked
    expect([await t.due(), await t.parked()]).toEqual([['H5'], [['member:M5', ['H1', 'H2']], ['member:M6', ['H3']]]]);

    // R2, nothing new: M8 decided again (the run has room now: paid), M5 and M6 carried, their holds kept
    const r2 = await t.run(accounts, limits);
    expect([r2.orders, r2.held, r2.carried]).toEqual([[['member:M8', '6000.00', ['H5']]], [], [['member:M5', '12000.00', 'R1', 'held'], ['member:M6', '15000.00', 'R1', 'held']]]);
    const holds = await t.streamedStore.runKeys().held.entriesIn();
    expect(holds.map(([payee, h]) => [payee, h.runId, h.amount])).toEqual([['member:M5', 'R1', '12000.00'], ['member:M6', 'R1', '15000.00']]);

    // someone approves M5's order (that EndToEndId): R3 pays it, M6 carried
    const m5 = r1.heldIds.find(([payee]) => payee === 'member:M5')!;
    await t.write((keys) => keys.approvals.put('member:M5', { payee: 'member:M5', paymentId: m5[1]!, endToEndId: m5[2]!, amount: '12000.00', by: 'trésorerie', at: '2025-04-02T09:00:00.000Z' }));
    const r3 = await t.run(accounts, limits);
    expect([r3.orders, r3.held, r3.carried]).toEqual([[['member:M5', '12000.00', ['H1', 'H2']]], [], [['member:M6', '15000.00', 'R1', 'held']]]);

    // a new line for M6 (100.00): decided again, held for 15 100.00 on both lines
    await t.consume([newVersion('H6', 'M6', '100.00', 1)]);
    const r4 = await t.run(accounts, limits);
    expect([r4.orders, r4.held, r4.carried]).toEqual([[], [['member:M6', '15100.00', 'order', ['H3', 'H6']]], []]);

    // the per-order ceiling raised to 20 000.00 (and the run's): M6 paid 15 100.00
    const r5 = await t.run(accounts, { maxOrder: '20000.00', maxRun: '50000.00' });
    expect([r5.orders, r5.held, r5.carried, await t.parked(), await t.due()]).toEqual([[['member:M6', '15100.00', ['H3', 'H6']]], [], [], [], []]);
  } finally {
    await t.close();
  }
});
