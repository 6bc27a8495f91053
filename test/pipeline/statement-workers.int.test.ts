import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { openEmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import type { Bus } from '../../src/bus/index.js';
import { accountBook } from '../../src/payments/index.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { PaymentsStore } from '../../src/pipeline/payments-store.js';
import { StatementMarks, LmdbStatementMarks } from '../../src/pipeline/statement-dirty.js';
import { StatementIndex, updateStatementIndex } from '../../src/pipeline/statement-index.js';
import { decodeIndexedLines } from '../../src/pipeline/statement-line-codec.js';
import { writeStatementPass } from '../../src/pipeline/statement-pass.js';
import { StateStore } from '../../src/state/kv-store.js';
import { LevelSubStore } from '../../src/state/level-store.js';
import { DEFAULT_INSURER } from '../../src/statement/index.js';
import { tempDir } from './stages-given.js';
import { A9, B7, C3, line } from './statement-families.js';

/**
 * The statement pass with statement workers (src/pipeline/statement-render-pool.ts, dist/ built):
 * what the main thread reads for them — the payment facts by `getMany`, the index's lines as stored
 * — is what the one-thread pass reads, and a worker that fails fails the pass with every mark kept.
 * (test/pipeline/statement-pass.int.test.ts runs the pass's own cases with and without workers.)
 */
let home = '';
let cleanup: () => Promise<void>;
let bus: Bus;

beforeEach(async () => {
  ({ dir: home, cleanup } = await tempDir('statement-workers-'));
  bus = await openEmbeddedBus({ dir: join(home, 'bus') });
});
afterEach(async () => {
  await bus.close();
  await cleanup();
});


/** R1: A9's order (800 + 300) held above the 1 000.00 ceiling, B7 blocked (no account), C3 paid; R2: C3's second line paid, B7 blocked again */
async function paymentsOfEveryKind(): Promise<void> {
  await bus.produce('settlements', [{ value: line('H1', A9, '800.00') }, { value: line('H2', A9, '300.00') }, { value: line('B1', B7, '5.00') }, { value: line('C1', C3, '7.00') }]);
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7, C3]), runId: 'R1', at: '2025-03-29T18:00:00Z', limits: { maxOrder: '1000.00', maxRun: '50000.00' } });
  await bus.produce('settlements', [{ value: line('C2', C3, '4.00', '2025-03-20') }]);
  await runPaymentStage({ bus, home, accounts: accountBook([A9, B7, C3]), runId: 'R2', at: '2025-04-01T18:00:00Z', limits: { maxOrder: '1000.00', maxRun: '50000.00' } });
}

it('paymentFactsOfMany reads what paymentFactsOf reads: paid twice, held, blocked, unknown lines, a key given twice', async () => {
  await paymentsOfEveryKind();
  const store = await PaymentsStore.open(home);
  try {
    const keys = ['H1', 'H2', 'B1', 'C1', 'C2', 'unknown', 'C1'];
    const many = await store.paymentFactsOfMany(keys);
    expect(many).toEqual(store.paymentFactsOf(keys));
    // the cases are there (not all empty facts compared with each other)
    expect(many.get('H1')!.held).toEqual({ payee: 'member:A9', runId: 'R1', ceiling: 'order' }); // held by R1, carried by R2 (nothing changed for A9)
    // (blocked by R1, carried by R2: nothing changed for B7)
    expect(many.get('B1')!.blocked).toMatchObject({ runId: 'R1', payee: 'member:B7' });
    expect(many.get('C2')!.runs.map((r) => r.runId)).toEqual(['R2']);
    expect(many.get('unknown')).toMatchObject({ line: null, runs: [], blocked: null, held: null });
    expect(await store.paymentFactsOfMany([])).toEqual(new Map());
  } finally {
    await store.close();
  }
});

it('a statement pass reads the blocked marks and holds once, not per line and payee: the same facts, and per group again past the bound', async () => {
  await paymentsOfEveryKind();
  const store = await PaymentsStore.open(home);
  const read: Record<string, number> = {};
  const getMany = LevelSubStore.prototype.getMany;
  const spy = vi.spyOn(LevelSubStore.prototype, 'getMany').mockImplementation(function (this: LevelSubStore<unknown>, keys: readonly string[]) {
    if (keys.length > 0) read[this.name] = (read[this.name] ?? 0) + keys.length;
    return getMany.call(this, keys);
  });
  try {
    const keys = ['H1', 'H2', 'B1', 'C1', 'C2', 'unknown', 'C1'];
    const once = await store.statementFactsOnce();
    expect(await store.paymentFactsOfMany(keys, once)).toEqual(store.paymentFactsOf(keys));
    // the lines and their claim lists per line; no blocked mark nor held order read per line or payee
    expect(read).toEqual({ 'payments.line': 7, 'payments.line-operators': 7 });
    // more marks (or holds) than the pass holds at once: read per group, the same facts
    for (const k of Object.keys(read)) delete read[k];
    const few = await store.statementFactsOnce(0);
    expect(few).toEqual({ blocked: null, held: null });
    expect(await store.paymentFactsOfMany(keys, few)).toEqual(store.paymentFactsOf(keys));
    expect(read['payments.line-blocked']).toBe(7);
    expect(read['payments.held']).toBeGreaterThan(0);
    // the pass of one thread: a group read as stored, a family's facts decoded when it is rendered — the same
    const stored = (await store.storedFactsOfMany(keys, once))!;
    expect(await store.storedFactsOf(stored, keys)).toEqual(store.paymentFactsOf(keys));
    expect(await store.storedFactsOf(stored, ['C2', 'H1'])).toEqual(store.paymentFactsOf(['C2', 'H1']));
    expect(await store.storedFactsOfMany(keys, few)).toBeNull();
  } finally {
    spy.mockRestore();
    await store.close();
  }
});

it('the statement pass reads no blocked mark per line and no held order per payee (held and blocked statements all the same)', async () => {
  await paymentsOfEveryKind();
  const index = await StatementIndex.open(home);
  const kv = StateStore.open(home);
  const people = new Map([A9, B7, C3].map((p) => [p.adherentId, [p]]));
  const read: Record<string, number> = {};
  const getMany = LevelSubStore.prototype.getMany;
  try {
    await updateStatementIndex(bus, index);
    await mkdir(join(home, 'statements'));
    const spy = vi.spyOn(LevelSubStore.prototype, 'getMany').mockImplementation(function (this: LevelSubStore<unknown>, keys: readonly string[]) {
      if (keys.length > 0) read[this.name] = (read[this.name] ?? 0) + keys.length;
      return getMany.call(this, keys);
    });
    try {
      await writeStatementPass({
        dir: join(home, 'statements'), index, kv, labels: {}, insurer: DEFAULT_INSURER, issuedOn: '2025-04-02', professionalNames: {},
        families: { all: () => [...people.keys()].sort(), has: (id) => people.has(id), members: (id) => people.get(id) ?? [] },
      });
    } finally {
      spy.mockRestore();
    }
    expect(read['payments.line']).toBe(5);
    expect(read['payments.line-blocked']).toBeUndefined();
    expect(read['payments.held']).toBeUndefined();
    // what a held and a blocked line print (src/statement/payment.ts waitingText)
    expect(await readFile(join(home, 'statements', 'A9.txt'), 'utf8')).toContain('paiement retenu pour contrôle');
    expect(await readFile(join(home, 'statements', 'B7.txt'), 'utf8')).toContain('nous n’avons pas vos coordonnées bancaires');
  } finally {
    await kv.close();
    await index.close();
  }
});

it('a family’s lines as the index stores them decode to what settlementsIn gives', async () => {
  await paymentsOfEveryKind();
  const index = await StatementIndex.open(home);
  try {
    await updateStatementIndex(bus, index);
    for (const adherentId of ['A9', 'B7', 'C3', 'nobody']) {
      const request = { adherentId, from: '2000-01-01', to: '2099-12-31' };
      const { lineKeys, lines } = await index.encodedSettlementsIn(request);
      const decoded = await index.settlementsIn(request);
      expect(decodeIndexedLines(lines)).toEqual(decoded);
      expect(lineKeys).toEqual(decoded.map((s) => s.lineKey));
    }
    // a period: only C3's line of the 20th
    const { lineKeys } = await index.encodedSettlementsIn({ adherentId: 'C3', from: '2025-03-15', to: '2025-03-31' });
    expect(lineKeys).toEqual(['C2']);
  } finally {
    await index.close();
  }
});

it('a worker that cannot write (the statements folder is gone) fails the pass: no mark is cleared, and the next pass writes every family', async () => {
  await paymentsOfEveryKind();
  const index = await StatementIndex.open(home);
  const kv = StateStore.open(home);
  const people = new Map([A9, B7, C3].map((p) => [p.adherentId, [p]]));
  const dir = join(home, 'statements');
  const pass = () =>
    writeStatementPass({
      dir, index, kv, labels: {}, insurer: DEFAULT_INSURER, issuedOn: '2025-04-02', professionalNames: {}, renderThreads: 2, familiesPerTask: 1,
      families: { all: () => [...people.keys()].sort(), has: (id) => people.has(id), members: (id) => people.get(id) ?? [] },
    });
  const marked = async () => StatementMarks.families(await new StatementMarks(index.dirty, new LmdbStatementMarks(kv)).read());
  try {
    await updateStatementIndex(bus, index);
    expect(await marked()).toEqual(['A9', 'B7', 'C3']);
    await rm(dir, { recursive: true, force: true });
    await expect(pass()).rejects.toMatchObject({ code: 'PIPELINE_WORKER' });
    expect(await marked()).toEqual(['A9', 'B7', 'C3']);
    await mkdir(dir);
    expect(await pass()).toMatchObject({ pass: 'all', looked: 3, families: 3, files: { written: 6, unchanged: 0 } });
    expect(await marked()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['A9.html', 'A9.txt', 'B7.html', 'B7.txt', 'C3.html', 'C3.txt']);
  } finally {
    await kv.close();
    await index.close();
  }
});
