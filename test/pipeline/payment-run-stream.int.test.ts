import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { moneyOfCents } from '../../src/model/cents.js';
import type { PaymentOrder } from '../../src/model/payment.js';
import { buildRunReport, nextTarget2BusinessDay, planPaymentRun, type AccountBook, type LineLedger, type PaymentsLedger } from '../../src/payments/index.js';
import type { ParkedPayee } from '../../src/payments/parked.js';
import { ibanHash } from '../../src/payments/returns.js';
import type { LineReturn, OperatorPayment } from '../../src/payments/types.js';
import { applyCursorOf, applyStreamedRun, clearRunScratch, decideStreamedRun, ordersWithLines, recordStreamedRun } from '../../src/pipeline/payment-run-stream.js';
import { PaymentsStore, savePaymentsState } from '../../src/pipeline/payments-store.js';
import { paymentLineCodec } from '../../src/pipeline/payment-line-codec.js';
import type { BinaryCodec } from '../../src/state/level-store.js';
import { tempDir } from './stages-given.js';
import { IBAN } from '../payments/given.js';

/**
 * The streamed payment run (src/pipeline/payment-run-stream.ts) against the in-memory one it
 * replaces in the stage (runPayments + buildRunReport + commitRun, what the stage did before
 * session 8), on the same ledger: a few hundred due lines, members and professionals, complements
 * and recoveries, debts, blocked payees (no account, an account the bank returned), orders held by
 * both ceilings, a stale approval and a stale hold, review / awaiting-reconciliation lines, TP lines
 * the operator paid, returned transfers paid again, line keys that are prefixes of others (L1,
 * L10: the EndToEndId sorts movements as strings, not lines), a due key without a line. Decided and
 * applied in slices of 1, 7 and 1 000 lines (many slices, and one), every key the run writes must
 * be the same, value for value, and its orders the same, byte for byte.
 */

const RUN = 'R-stream';
const AT = '2025-04-01T18:00:00.000Z';

/** mulberry32: the same ledger at every run of the test */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function world(seed: number, count: number): { ledger: PaymentsLedger; accounts: AccountBook } {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const cents = (max: number) => Math.floor(r() * max) + 1;
  const members = Array.from({ length: 12 }, (_, i) => `M${i}`);
  const pss = Array.from({ length: 5 }, (_, i) => `P${i}`);
  const lines: Record<string, LineLedger> = {};
  const operatorPaid: Record<string, OperatorPayment> = {};
  const due: Record<string, true> = {};
  for (let i = 1; i <= count; i++) {
    const lineKey = `L${i}`;
    const careDate = r() < 0.05 ? undefined : `2025-03-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`;
    const version = r() < 0.2 ? 2 : 1;
    const annulled = r() < 0.05;
    let line: LineLedger;
    if (r() < 0.65) {
      const adh = pick(members);
      const status = r() < 0.05 ? 'review' : r() < 0.05 ? 'zero' : 'paid';
      const amc = moneyOfCents(cents(30000));
      // a line paid before (a complement, or a recovery when the new amount is lower)
      const paid = r() < 0.2 ? { [`member:${adh}`]: moneyOfCents(cents(30000)) } : {};
      line = { settlement: { version, status, annulled, tiersPayant: false, adherentId: adh, amcAmount: amc, ...(careDate ? { careDate } : {}) }, tp: null, paid };
    } else {
      const ps = pick(pss);
      const kind = pick(['matched', 'matched', 'matched', 'indu', 'held', 'exception'] as const);
      const owed = kind === 'matched' || kind === 'indu' ? moneyOfCents(cents(20000)) : '0.00';
      const tpVersion = r() < 0.1 ? version - 1 || 3 : version; // awaiting reconciliation of the current version
      line = { settlement: { version, status: 'paid', annulled, tiersPayant: true, adherentId: pick(members), amcAmount: moneyOfCents(cents(20000)), ...(careDate ? { careDate } : {}) }, tp: { version: tpVersion, kind, payee: owed === '0.00' ? null : `ps:${ps}`, owed }, paid: {} };
      if (r() < 0.15) operatorPaid[`C${i}`] = { payee: `ps:${ps}`, amount: moneyOfCents(cents(5000)), lineKey };
    }
    // a transfer that paid the line, returned by the bank: paid again (or kept open while blocked / held)
    if (r() < 0.06) {
      const payee = line.settlement!.tiersPayant ? line.tp!.payee ?? 'ps:P0' : `member:${line.settlement!.adherentId}`;
      const mark: LineReturn = { payee, paymentId: `R0:${payee}`, runId: 'R0', amount: moneyOfCents(cents(3000)), code: 'AC04', label: 'closed account', blocks: true, file: 'camt054.xml', record: i, at: '2025-03-30T10:00:00.000Z' };
      line = { ...line, returns: 1, returned: { [`E${i}`]: mark } };
    }
    lines[lineKey] = line;
    due[lineKey] = true;
  }
  due['Z-no-line'] = true;
  const account = (n: number, name: string) => ({ iban: IBAN(n), bic: null, name });
  const accounts: AccountBook = {
    // M3 and P2 have no account: blocked
    members: Object.fromEntries(members.filter((m) => m !== 'M3').map((m, i) => [m, account(i, `Famille ${m}`)])),
    professionals: Object.fromEntries(pss.filter((p) => p !== 'P2').map((p, i) => [p, account(50 + i, `Cabinet ${p}`)])),
  };
  const m6 = accounts.members.M6!;
  const mark: LineReturn = { payee: 'member:M1', paymentId: 'R0:member:M1', runId: 'R0', amount: '12.00', code: 'AC04', label: 'closed account', blocks: true, file: 'camt054.xml', record: 1, at: '2025-03-30T10:00:00.000Z' };
  const ledger: PaymentsLedger = {
    lines, operatorPaid, due,
    debts: { 'member:M5': '300.00', 'ps:P1': '120.00', 'member:M11': '99999.00' },
    runs: { R0: { at: '2025-03-01T18:00:00.000Z', orders: 3 } },
    held: { 'member:M9': { paymentId: 'R0:member:M9', runId: 'R0', payee: 'member:M9', amount: '20000.00', endToEndId: 'POLD', lineKeys: ['L5', 'L-not-due'], ceiling: 'order', limit: '4000.00', reason: 'old' } },
    approvals: { 'member:M4': { payee: 'member:M4', paymentId: 'R0:member:M4', endToEndId: 'PSTALE', amount: '1.00', by: 'ops', at: '2025-03-02T10:00:00.000Z' } },
    // M6's account is the one the bank returned: no transfer to it
    returnBlocks: { 'member:M6': { ibanHash: ibanHash(m6.iban), ibanMasked: 'FR76…0096', code: 'AC04', label: 'closed account', endToEndId: 'EOLD', paymentId: 'R0:member:M6', file: 'camt054.xml', record: 2 } },
    returnsToReport: { EOLD: mark },
  };
  return { ledger, accounts };
}

const DEBTOR = { name: 'MUTUELLE NOEMIE', iban: 'FR7630004000031234567890143', bic: 'BNPAFRPPXXX' };
const optionsOf = (accounts: AccountBook, outDir: string) => ({
  runId: RUN, at: AT, accounts, outDir, debtorOf: () => DEBTOR, executionDate: nextTarget2BusinessDay(AT.slice(0, 10)), initiatingParty: DEBTOR.name, initiatingPartyId: null,
  // low ceilings: orders held by the per-order one and by the per-run one (first fit in payee order)
  limits: { maxOrder: '2500.00', maxRun: '9000.00' },
});

/** Every key a run writes or reads, sub-store by sub-store (the scratch apart). */
const SUBS = ['payments.line', 'payments.due', 'payments.debt', 'payments.run', 'payments.held', 'payments.approval', 'payments.handed-over', 'payments.transfer', 'payments.return-block', 'payments.return-to-report', 'payments.line-runs', 'payments.line-blocked', 'payments.report-lines'];
// the families whose statements must be written again (a mark's value counts the marks: one per slice here)
// (the home's LevelDB since session 11: the payment state and the statements' marks)
const dump = async (store: PaymentsStore) => ({ ...Object.fromEntries(await Promise.all(SUBS.map(async (s) => [s, await store.level.sub(s, s === 'payments.line' ? (paymentLineCodec as BinaryCodec<unknown>) : 'json').entriesIn()]))), dirty: (await store.level.sub('statements.dirty').entriesIn()).map(([k]) => k) });

let root = '';
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir('payment-run-stream-')));
afterAll(async () => cleanup());

async function inMemory(name: string, ledger: PaymentsLedger, accounts: AccountBook) {
  const home = join(root, name);
  await savePaymentsState(home, { ledger, outbox: [], pending: null, handedOver: {} });
  const store = await PaymentsStore.open(home);
  const before = await store.readSlice({ run: true, runId: RUN });
  const planned = planPaymentRun(before, optionsOf(accounts, join(root, 'out')));
  const report = buildRunReport({ runId: RUN, at: AT, slice: before, result: planned.result, intent: planned.intent });
  await store.commitRun(before, planned.result.ledger, planned.intent, report, planned.result.blocked);
  return { store, planned, report };
}

// the [7, 0] case reads the lines' blocked marks per slice, as an apply does when a home holds more
// than BLOCKED_MARKS_AT_ONCE of them (the others read them once for the whole apply); the last one
// applies a cursor recorded before session 21 (no `operatorChunks`: the apply reads the operator
// payments itself, not the scan's `payments.run-ops`)
it.each([[1, undefined, false], [7, undefined, false], [1000, undefined, false], [7, 0, false], [7, undefined, true]])('decided and applied in slices of %i lines (blocked marks held at once: %s, a cursor of before session 21: %s): the same orders, report and keys as the run in memory', async (slice, blockedMarksAtOnce, oldCursor) => {
  const { ledger, accounts } = world(20251205, 300);
  const name = `${slice}-${blockedMarksAtOnce ?? 'all'}-${oldCursor}`;
  const old = await inMemory(`memory-${name}`, ledger, accounts);
  const home = join(root, `streamed-${name}`);
  await savePaymentsState(home, { ledger, outbox: [], pending: null, handedOver: {} });
  const store = await PaymentsStore.open(home);
  try {
    const d = (await decideStreamedRun(store, { ...optionsOf(accounts, join(root, 'out')), sliceLines: slice }))!;
    const { result, intent } = old.planned;
    // the world is the one described: every kind of outcome is there
    expect([result.orders.some((o) => o.kind === 'recovery'), result.orders.some((o) => o.transfer), result.blocked.length >= 2, result.held.some((h) => h.ceiling === 'order'), result.held.some((h) => h.ceiling === 'run'), result.pending.length > 0]).toEqual([true, true, true, true, true, true]);
    expect({ blocked: d.blocked, held: d.held, pending: d.pending }).toEqual({ blocked: result.blocked, held: result.held, pending: result.pending });

    await recordStreamedRun(store, d);
    expect(applyCursorOf(store)!.operatorChunks).toBe(Math.ceil(301 / slice));
    if (oldCursor) {
      const { operatorChunks: _o, ...cursor } = applyCursorOf(store)!;
      const pending = store.level.sub('payments.pending');
      await store.level.commit(() => pending.put('apply', cursor));
    }
    await applyStreamedRun(store, { sliceLines: slice, ...(blockedMarksAtOnce === undefined ? {} : { blockedMarksAtOnce }) });
    expect(applyCursorOf(store)).toBeNull();
    // the orders with their lines, as orders.ndjson and the topic carry them: the same bytes
    const orders: PaymentOrder[] = [];
    for await (const o of ordersWithLines(store, d.orders)) orders.push(o);
    expect(orders.map((o) => JSON.stringify(o))).toEqual(result.orders.map((o) => JSON.stringify(o)));
    expect(JSON.stringify(await store.pending())).toBe(JSON.stringify(await old.store.pending()));
    expect(intent!.files.map((f) => f.endToEndIds)).toEqual(d.intent!.files.map((f) => f.endToEndIds));
    expect(JSON.stringify(store.report(RUN))).toBe(JSON.stringify(old.store.report(RUN)));
    expect(JSON.stringify(store.report(RUN))).toBe(JSON.stringify(old.report));
    // (session 24) what stays owed is laid out apart: a pending line leaves the due set (only a new
    // version or outcome of it can change that), a line left to blocked payees and orders held by
    // the per-order ceiling only is parked with them (src/payments/parked.ts); a line an order held
    // by the per-run ceiling counts stays due. Every other key: the same.
    const memory = await dump(old.store);
    const parkable = result.held.filter((h) => h.ceiling !== 'run');
    const runHeldLines = new Set(result.held.filter((h) => h.ceiling === 'run').flatMap((h) => h.lineKeys));
    const parkedLines = new Set([...result.blocked.flatMap((b) => b.lineKeys), ...parkable.flatMap((h) => h.lineKeys)].filter((k) => !runHeldLines.has(k)));
    const pendingLines = new Set(result.pending.map((p) => p.lineKey));
    expect([parkedLines.size > 5, parkable.length > 0, runHeldLines.size > 0]).toEqual([true, true, true]);
    expect(await dump(store)).toEqual({ ...memory, 'payments.due': (memory['payments.due'] as [string, unknown][]).filter(([k]) => !parkedLines.has(k) && !pendingLines.has(k)) });
    const records = [...result.blocked.map((b) => [b.payee, b.lineKeys, b.amount, b.reason, RUN, undefined]), ...parkable.map((h) => [h.payee, h.lineKeys, h.amount, h.reason, RUN, 'held'])];
    expect((await store.level.sub<ParkedPayee>('payments.parked').entriesIn()).map(([payee, p]) => [payee, p.lineKeys, p.amount, p.reason, p.runId, p.kind])).toEqual(records.sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)));
    await clearRunScratch(store);
    expect([await store.level.sub('payments.run-move').keysAfter(null, 10), await store.level.sub('payments.run-payee').keysAfter(null, 10), await store.level.sub('payments.run-ops').keysAfter(null, 10)]).toEqual([[], [], []]);
  } finally {
    await store.close();
    await old.store.close();
  }
}, 60_000);

// Session 21: a blocked mark never outlives its reason. Before, a mark stayed on a line whose
// movements came to nothing (and on any line no longer due), and every later apply read it.
it.each([[2, undefined], [2, 0], [1000, undefined]])('a blocked mark whose reason is gone is removed (slices of %i, marks held at once: %s), the same as the run in memory, and a second run reads none of them', async (slice, blockedMarksAtOnce) => {
  const member = (adh: string, amc: string, paid: Record<string, string>, status: 'paid' | 'review' = 'paid'): LineLedger => ({ settlement: { version: 1, status, annulled: false, tiersPayant: false, adherentId: adh, amcAmount: amc, careDate: '2025-03-10' }, tp: null, paid });
  const ledger: PaymentsLedger = {
    lines: {
      // paid in full already: its movements come to nothing
      A1: member('M0', '10.00', { 'member:M0': '10.00' }),
      // not due: its mark is history
      B1: member('M0', '15.00', { 'member:M0': '15.00' }),
      // M3 has no account: blocked again, its mark stays
      C1: member('M3', '20.00', {}),
      // blocked for the first time (no mark before): its new mark stays, in an earlier slice than the last
      C2: member('M3', '21.00', {}),
      // under review: it leaves the due set, and its mark with it (session 24: a new version brings it back)
      D1: member('M0', '25.00', {}, 'review'),
      // paid by this run: its mark goes (as before)
      E1: member('M0', '30.00', {}),
    },
    operatorPaid: {}, due: { A1: true, C1: true, C2: true, D1: true, E1: true, 'G-no-line': true }, debts: {}, runs: {}, held: {}, approvals: {},
  };
  const accounts: AccountBook = { members: { M0: { iban: IBAN(0), bic: null, name: 'Famille M0' } }, professionals: {} };
  const marked = ['A1', 'B1', 'C1', 'D1', 'E1', 'G-no-line'];
  const homeWith = async (name: string) => {
    const home = join(root, `stale-${name}-${slice}-${blockedMarksAtOnce ?? 'all'}`);
    await savePaymentsState(home, { ledger, outbox: [], pending: null, handedOver: {} });
    const store = await PaymentsStore.open(home);
    const sub = store.level.sub('payments.line-blocked');
    await store.level.commit(() => {
      for (const k of marked) sub.put(k, { runId: 'R0', at: '2025-03-01T18:00:00.000Z', payee: k === 'C1' ? 'member:M3' : 'member:M0', reason: 'no account known' });
    });
    return store;
  };
  const blockedKeys = async (store: PaymentsStore) => (await store.level.sub('payments.line-blocked').keysAfter(null, 100));
  const streamed = async (store: PaymentsStore, runId: string, at: string) => {
    const d = (await decideStreamedRun(store, { ...optionsOf(accounts, join(root, 'out-stale')), runId, at, executionDate: nextTarget2BusinessDay(at.slice(0, 10)), sliceLines: slice }))!;
    await recordStreamedRun(store, d);
    await applyStreamedRun(store, { sliceLines: slice, ...(blockedMarksAtOnce === undefined ? {} : { blockedMarksAtOnce }) });
    return d;
  };

  const memory = await homeWith('memory');
  const store = await homeWith('streamed');
  try {
    const before = await memory.readSlice({ run: true, runId: RUN });
    const planned = planPaymentRun(before, optionsOf(accounts, join(root, 'out-stale')));
    await memory.commitRun(before, planned.result.ledger, planned.intent, buildRunReport({ runId: RUN, at: AT, slice: before, result: planned.result, intent: planned.intent }), planned.result.blocked);
    const d = await streamed(store, RUN, AT);
    expect(d.blocked.map((b) => b.lineKeys)).toEqual([['C1', 'C2']]);
    expect(d.pending.map((p) => p.lineKey)).toEqual(['D1']);
    // the blocked lines' marks (put again or for the first time by this run); the others gone
    expect(await blockedKeys(store)).toEqual(['C1', 'C2']);
    // the run in memory keeps the pending and blocked lines due and the pending line's mark (session 24: parked, or out)
    const old = await dump(memory);
    const without = (sub: string, ks: string[]) => (old[sub] as [string, unknown][]).filter(([k]) => !ks.includes(k));
    expect(await dump(store)).toEqual({ ...old, 'payments.due': without('payments.due', ['C1', 'C2', 'D1']), 'payments.line-blocked': without('payments.line-blocked', ['D1']) });
    expect((await store.level.sub<ParkedPayee>('payments.parked').entriesIn()).map(([payee, p]) => [payee, p.lineKeys])).toEqual([['member:M3', ['C1', 'C2']]]);

    // a second run reads the marks of the lines still blocked only
    const read: string[] = [];
    const sub = store.runKeys().lineBlocked;
    const spy = <F extends 'entriesAfter' | 'getMany' | 'keysAfter'>(f: F) => {
      const o = (sub[f] as (...a: unknown[]) => Promise<unknown[]>).bind(sub);
      (sub as unknown as Record<string, unknown>)[f] = async (...a: unknown[]) => {
        const got = await o(...a);
        if (f === 'getMany') (a[0] as string[]).forEach((k, i) => got[i] !== undefined && read.push(k));
        else for (const e of got) read.push(Array.isArray(e) ? (e[0] as string) : (e as string));
        return got;
      };
    };
    spy('entriesAfter');
    spy('getMany');
    spy('keysAfter');
    const AT2 = '2025-04-02T18:00:00.000Z';
    const d2 = await streamed(store, 'R-stream-2', AT2);
    expect(d2.orders).toEqual([]);
    // M3 is not decided again (nothing changed for it): carried
    expect([d2.blocked, d2.report.carried?.items.map((c) => [c.payee, c.lines, c.since])]).toEqual([[], [['member:M3', 2, RUN]]]);
    expect([...new Set(read)].sort()).toEqual(['C1', 'C2']);
    expect(await blockedKeys(store)).toEqual(['C1', 'C2']);
  } finally {
    await store.close();
    await memory.close();
  }
}, 60_000);
