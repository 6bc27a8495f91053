import { expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import { accountBook, applyPaymentEvents } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { movePaymentsToLevel, PAYMENTS_LAYOUT, PAYMENTS_SUB_STORES } from '../../src/pipeline/payments-move.js';
import { PaymentsStore } from '../../src/pipeline/payments-store.js';
import { compositeKey, splitCompositeKey, StateStore } from '../../src/state/kv-store.js';
import type { LineRun } from '../../src/statement/payment.js';
import { LevelStore, type BinaryCodec } from '../../src/state/level-store.js';
import { paymentLineCodec } from '../../src/pipeline/payment-line-codec.js';
import { A9, a9Line, withEmbeddedHome } from './stages-given.js';
import { outcome } from '../payments/given.js';
import { collectAll as collect } from '../support/iterables.js';

/**
 * The payment state's move to LevelDB (src/pipeline/payments-move.ts) on a state the stage wrote:
 * every `payments.*` LMDB key is in LevelDB afterwards, value for value (two indexes regrouped into
 * one value per line), none is left in LMDB, `statements.*` stays where it is, and the marker is
 * the payment state's own. Since session 11 the stage writes the payment state in LevelDB: the
 * state an earlier version wrote in LMDB is made here from what the stage wrote (`asAnOlderHome`).
 */
let home = '';
let bus: Bus;
withEmbeddedHome('payments-move-', (h, b) => ((home = h), (bus = b)));

const accounts = accountBook([A9]);

/**
 * The home as an earlier version left it: the payment state the stage wrote in LevelDB written
 * back into LMDB in that version's layout (`payments.line-run/<lineKey>␟<runId>`,
 * `payments.operator-by-line/<lineKey>␟<claimId>`: a key per pair), its statement marks in LMDB's
 * `statements.dirty`, and no payment key nor marker left in LevelDB.
 */
async function asAnOlderHome(): Promise<void> {
  const level = await LevelStore.open(home);
  const kv = StateStore.open(home);
  try {
    // since session 21 a line's run list is inside the line: that version's lines had none, their runs were keys apart
    const runsOfLines: [string, LineRun[]][] = [];
    for (const s of PAYMENTS_SUB_STORES) {
      // payments.line through its codec (msgpack since session 12: payment-line-codec.ts), the others JSON
      const from = level.sub<unknown>(s.to ?? s.from, s.from === 'payments.line' ? (paymentLineCodec as BinaryCodec<unknown>) : 'json');
      let entries = await from.entriesIn();
      if (s.from === 'payments.line') {
        entries = entries.map(([k, v]) => {
          const { runs, ...line } = v as { runs?: LineRun[] };
          if (runs !== undefined) runsOfLines.push([k, runs]);
          return [k, line];
        });
      }
      if (s.from === 'payments.line-run') entries = [...runsOfLines, ...entries];
      const to = kv.sub<unknown>(s.from);
      await kv.commit(() => {
        for (const [k, v] of entries) {
          if (s.from === 'payments.line-run') for (const r of v as LineRun[]) to.put(compositeKey(k, r.runId), r);
          else if (s.from === 'payments.operator-by-line') for (const c of v as string[]) to.put(compositeKey(k, c), 1);
          else to.put(k, v);
        }
      });
      await from.clear();
    }
    const marks = await level.sub<number>('statements.dirty').entriesIn();
    await kv.commit(() => {
      for (const [k, n] of marks) kv.sub<number>('statements.dirty').put(k, n);
    });
    await level.sub('statements.dirty').clear();
    await level.sub(PAYMENTS_LAYOUT.sub).clear();
  } finally {
    await kv.close();
    await level.close();
  }
}

it('moves every payments.* key to LevelDB as it was (line-run and operator-by-line one value per line), leaves statements.* in LMDB', async () => {
  // two runs paying three lines (D2 corrected between them: two line-runs), a TP line whose operator paid two claims
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  await bus.produce('settlements', [{ value: { ...a9Line('n:D2:1', '14.00'), version: 2 } }, { value: a9Line('n:D3:1', '4.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-30T18:00:00Z' });
  const tpLine = 'noemie-011591001:101000000033:1';
  const store = await PaymentsStore.open(home);
  await store.applyEvents([
    { kind: 'settlement', settlement: { ...a9Line(tpLine, '19.00'), tp: '15', payee: 'ps' } },
    { kind: 'reconciliation', outcome: outcome({ kind: 'matched', lineKey: tpLine, version: 1, tpClaimId: 'C5', claimPaidOn: '2025-03-01', claimed: '10.00', owed: '10.00' }) },
    { kind: 'reconciliation', outcome: outcome({ kind: 'matched', lineKey: tpLine, version: 1, tpClaimId: 'C6', claimPaidOn: '2025-03-02', claimed: '9.00', owed: '9.00' }) },
  ], applyPaymentEvents);
  const before = await store.readAll();
  await store.close();
  await asAnOlderHome();

  const kv = StateStore.open(home);
  const lmdb = new Map(PAYMENTS_SUB_STORES.map((s) => [s.from, kv.sub<unknown>(s.from).entriesAfter(null, 1_000_000)]));
  const statements = kv.sub<unknown>('statements.dirty').entriesAfter(null, 1_000_000);
  expect(lmdb.get('payments.line-run')!.map(([k]) => k)).toEqual(['n:D1:1\u001fR1', 'n:D2:1\u001fR1', 'n:D2:1\u001fR2', 'n:D3:1\u001fR2']);
  expect(lmdb.get('payments.operator-by-line')!.map(([k]) => k)).toEqual([`${tpLine}\u001fC5`, `${tpLine}\u001fC6`]);
  expect([...lmdb.values()].reduce((n, e) => n + e.length, 0)).toBeGreaterThan(20);

  const level = await LevelStore.open(home);
  try {
    const report = await movePaymentsToLevel(kv, level);
    const total = [...lmdb.values()].reduce((n, e) => n + e.length, 0);
    expect(report).toEqual({ copied: total, removed: total });
    for (const s of PAYMENTS_SUB_STORES) {
      const moved = await collect(level.sub<unknown>(s.to ?? s.from).entries());
      if (s.into === undefined) expect(moved).toEqual(lmdb.get(s.from));
      expect(kv.sub(s.from).keysAfter(null, 1)).toEqual([]);
    }
    expect(await collect(level.sub<unknown>('payments.line-runs').entries())).toEqual([
      ['n:D1:1', [lmdb.get('payments.line-run')![0]![1]]],
      ['n:D2:1', [lmdb.get('payments.line-run')![1]![1], lmdb.get('payments.line-run')![2]![1]]],
      ['n:D3:1', [lmdb.get('payments.line-run')![3]![1]]],
    ]);
    expect(level.sub<string[]>('payments.line-operators').get(tpLine)).toEqual(['C5', 'C6']);
    // what the operator paid is still the whole LMDB state's (values as JSON now: equal, not identical objects)
    expect(Object.fromEntries((await collect(level.sub<unknown>('payments.operator').entries())).map(([k, v]) => [k, v]))).toEqual(before.ledger.operatorPaid);
    expect(level.sub<{ layout: number }>(PAYMENTS_LAYOUT.sub).get(PAYMENTS_LAYOUT.key)?.layout).toBe(1);
    // statements.* untouched, and the move is done once
    expect(kv.sub<unknown>('statements.dirty').entriesAfter(null, 1_000_000)).toEqual(statements);
    expect(await movePaymentsToLevel(kv, level)).toEqual({ copied: 0, removed: 0 });
    expect(splitCompositeKey(lmdb.get('payments.line-run')![0]![0])).toEqual(['n:D1:1', 'R1']);
  } finally {
    await level.close();
    await kv.close();
  }
});

it('PaymentsStore.open moves an older home first: the same state read back, nothing left in LMDB, and the stage runs on', async () => {
  await bus.produce('settlements', [{ value: a9Line('n:D1:1', '9.00') }, { value: a9Line('n:D2:1', '12.50') }]);
  await runPaymentStage({ bus, home, accounts, runId: 'R1', at: '2025-03-31T18:00:00Z' });
  const before = await (async () => {
    const store = await PaymentsStore.open(home);
    try {
      return await store.readAll();
    } finally {
      await store.close();
    }
  })();
  await asAnOlderHome();
  const kv = StateStore.open(home);
  expect(kv.sub('payments.line').keysAfter(null, 10)).toEqual(['n:D1:1', 'n:D2:1']);
  await kv.close();

  const store = await PaymentsStore.open(home);
  try {
    expect(await store.readAll()).toEqual(before);
    expect(store.paymentFactsOf(['n:D1:1']).get('n:D1:1')!.runs.map((r) => r.runId)).toEqual(['R1']);
  } finally {
    await store.close();
  }
  const after = StateStore.open(home);
  try {
    for (const s of PAYMENTS_SUB_STORES) expect(after.sub(s.from).keysAfter(null, 1)).toEqual([]);
  } finally {
    await after.close();
  }
  // the next run pays the new line only
  await bus.produce('settlements', [{ value: a9Line('n:D3:1', '4.50') }]);
  const r2 = await runPaymentStage({ bus, home, accounts, runId: 'R2', at: '2025-04-30T18:00:00Z' });
  expect(r2.orders.map((o) => [o.payee, o.amount])).toEqual([['member:A9', '4.50']]);
});
