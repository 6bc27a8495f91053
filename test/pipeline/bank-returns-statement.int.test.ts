import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Bus } from '../../src/bus/index.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { AccountBook } from '../../src/payments/types.js';
import { applyBankReturnFile } from '../../src/pipeline/bank-returns.js';
import { runPaymentStage } from '../../src/pipeline/payments-service.js';
import { PaymentsStore } from '../../src/pipeline/payments-store.js';
import { DirtyFamilies, StatementMarks } from '../../src/pipeline/statement-dirty.js';
import { LevelStore } from '../../src/state/level-store.js';
import { paymentFactsForStatement } from '../../src/pipeline/statement-payments.js';
import { renderStatementText, statementData } from '../../src/statement/index.js';
import { accounts, IBAN, NIR, settlements } from './bank-returns-given.js';
import { settlement, withEmbeddedHome } from './stages-given.js';

/**
 * A member statement after a bank return, with real payment runs and the golden pain.002 of
 * fixtures/bank-returns (it rejects A2's transfer of run R1, reason AC04 "compte clos").
 *
 * Family A2: line n:D-A2:1, AMC 40.50, paid by R1 (31/03/2025) then returned; line n:D-A2:2, AMC
 * 5.00, settled after R1. R2 (same account) is blocked; R3 (new account, Monday 07/04/2025) pays
 * 40.50 + 5.00 = 45.50.
 *   after R2: paid 0.00 (R1's 40.50 came back: not paid), waiting 40.50 + 5.00 = 45.50
 *   after R3: paid 40.50 + 5.00 = 45.50 (R3 only), waiting 0.00
 */
const PAIN002 = join('fixtures/bank-returns', 'pain002-R1-reject-A2.xml');
const SECOND = settlement({ lineKey: 'n:D-A2:2', beneficiary: { nir: NIR.A2, rang: 1 }, adherentId: 'A2', tp: '00', payee: 'member', amcAmount: '5.00' });
const FAMILY = [...settlements().filter((s) => s.adherentId === 'A2'), SECOND];
const CLAIRE: Beneficiary = { adherentId: 'A2', nir: NIR.A2, nirKey: '00', rang: 1, birthDate: '1980-01-01', role: 'A', contracts: ['X'], start: '2024-01-01', end: null, suspended: [], noemie: true, iban: IBAN.A2, bic: null, name: 'Claire Bernard' };

let home = '';
let bus: Bus;
withEmbeddedHome('returns-statement-', (h, b) => ((home = h), (bus = b)));

const run = (runId: string, book: AccountBook, day: string) => runPaymentStage({ bus, home, accounts: book, runId, at: `${day}T18:00:00Z` });

async function statement(family = FAMILY) {
  const facts = await paymentFactsForStatement(home, family.map((s) => s.lineKey));
  const data = statementData({ adherentId: 'A2', from: '2000-01-01', to: '2099-12-31' }, family, [CLAIRE], {}, { payments: facts });
  return { facts, data, text: renderStatementText(data) };
}

describe('member statement after a bank return', () => {
  it('shows the returned transfer en attente with the reason, not as paid; once paid again, the new transfer', async () => {
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await run('R1', accounts(), '2025-03-31');
    const store = await PaymentsStore.open(home);
    try {
      expect((await applyBankReturnFile(store, PAIN002, { at: '2025-04-03T08:00:00Z' })).returned).toHaveLength(1);
    } finally {
      await store.close();
    }
    await bus.produce('settlements', [{ value: SECOND }]);
    const r2 = await run('R2', accounts(), '2025-04-04');
    expect(r2.blocked.map((b) => [b.payee, b.amount])).toEqual([['member:A2', '45.50']]);

    // after R2: the return is pending
    const after2 = await statement();
    expect(after2.facts.get('n:D-A2:1')!.returned).toMatchObject({ payee: 'member:A2', code: 'AC04', label: 'compte clos', runId: 'R1', amount: '40.50' });
    expect(after2.facts.get('n:D-A2:2')!.returned).toBeNull();
    const first = after2.data.lines.find((l) => l.lineKey === 'n:D-A2:1')!.payment!;
    expect(first.paid).toEqual([]);
    expect(first.waiting).toEqual([{ to: { kind: 'member' }, amount: '40.50', reason: 'returned', returnReason: { label: 'compte clos', blocks: true } }]);
    expect(after2.text).toContain('en attente 40,50 € pour vous : virement retourné par votre banque (compte clos), merci de nous transmettre vos nouvelles coordonnées bancaires');
    expect(after2.text).not.toMatch(/versés|repris|AC04/);
    // hand-computed (header comment): nothing paid, 45.50 waiting
    expect(after2.data.settled).toEqual({ paid: '0.00', waiting: '45.50' });

    // when A2's account changes, R3 pays both lines: the statement shows R3's transfer only
    const r3 = await run('R3', accounts({ A2: IBAN.NEW }), '2025-04-07');
    expect(r3.orders.map((o) => [o.payee, o.amount])).toEqual([['member:A2', '45.50']]);
    const after3 = await statement();
    expect(after3.facts.get('n:D-A2:1')!.returned).toBeNull();
    const repaid = after3.data.lines.find((l) => l.lineKey === 'n:D-A2:1')!.payment!;
    expect(repaid).toEqual({ paid: [{ to: { kind: 'member' }, amount: '40.50', runId: 'R3', on: '2025-04-07', byOperator: false }], waiting: [] });
    expect(after3.text).toContain('40,50 € versés sur votre compte, virement du 07/04/2025');
    expect(after3.text).not.toMatch(/31\/03\/2025|retourné|repris/);
    expect(after3.data.settled).toEqual({ paid: '45.50', waiting: '0.00' });
  });

  it('a bank return marks the family of the returned transfer’s lines (its statement is written again by the next run --once), and no other', async () => {
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await run('R1', accounts(), '2025-03-31');
    const store = await PaymentsStore.open(home);
    try {
      // both engines' marks, as the statement stage reads them (statement-dirty.ts)
      const marks = new StatementMarks(new DirtyFamilies(await LevelStore.open(home)), null);
      try {
        // R1 paid the three families: marked; cleared as the statement stage would once their files are written
        expect(StatementMarks.families(await marks.read())).toEqual(['A1', 'A2', 'A3']);
        await marks.clear(await marks.read(), null);
        // the pain.002 returns A2's transfer of R1 (AC04): A2 only
        await applyBankReturnFile(store, PAIN002, { at: '2025-04-03T08:00:00Z' });
        expect(StatementMarks.families(await marks.read())).toEqual(['A2']);
      } finally {
        await marks.level.level.close();
      }
    } finally {
      await store.close();
    }
  });

  it('a reason not about the account (AM05 duplicate) says the next transfer pays it', async () => {
    await bus.produce('settlements', settlements().map((value) => ({ value })));
    await run('R1', accounts(), '2025-03-31');
    const { readFile, writeFile } = await import('node:fs/promises');
    const file = join(home, 'pain002-am05.xml');
    await writeFile(file, (await readFile(PAIN002, 'utf8')).replace(/<Cd>AC04<\/Cd>/g, '<Cd>AM05</Cd>'));
    const store = await PaymentsStore.open(home);
    try {
      expect((await applyBankReturnFile(store, file, { at: '2025-04-03T08:00:00Z' })).returned.map((r) => r.code)).toEqual(['AM05']);
    } finally {
      await store.close();
    }
    const { text, data } = await statement(FAMILY.slice(0, 1));
    expect(text).toContain('en attente 40,50 € pour vous : virement retourné par votre banque (opération en double) : sera versé lors du prochain virement');
    expect(data.settled).toEqual({ paid: '0.00', waiting: '40.50' });
  });
});
