import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectNothingNew, feedRow, gpLine, holderCreated, homeWithReference, latest, nirOf, ordersOf, runOnceOk, settlementsOf, versionsOf, writeDrop, writeFeed } from './run-support.js';

/**
 * A change of level back-dated into paid care, and a suspension lifted after the arrears are paid
 * (issue 10), end to end through `noemie run --once` on the embedded bus: the feed and the drops are
 * files in the inbox, the second day's feed re-liquidates, the payment run pays the difference.
 *
 * C001, CCN-HLA-BASE, a GP consultation G on 2025-03-10 (OPTAM, BR 30.00, RO 70 % = 21.00, billed 50.00):
 *   BASE 100 % BR: G = 30.00, AMC = min(30.00 − 21.00, 50.00 − 21.00) = 9.00.
 *   Day 2: contract_change to CCN-HLA-OPT1 effective 2025-03-01 (back-dated into the paid care):
 *   OPT1 170 % BR: G = 51.00, AMC = min(51.00 − 21.00, 29.00) = 29.00 → 29.00 − 9.00 = 20.00 more.
 * R001, RELAXEO-F1 since 2025-01-01 (insurance year 2025-01-01..2025-12-31), non-reimbursed lenses
 *   (2202060) on 2025-08-05, 300.00, no RO: F1's yearly forfait 100.00 → AMC 100.00.
 *   Day 2: contract_change to RELAXEO-F2 (150.00) effective 2025-07-01; seed 003 §2.4.1 prorates the
 *   ceiling over the insurance year: F1 2025-01-01..2025-06-30 = 181 d, F2 2025-07-01..2025-12-31 = 184 d,
 *   (100.00 × 181 + 150.00 × 184) / 365 = 45 700 / 365 = 125.2054… → 125.21 → 25.21 more.
 * S001, CCN-HLA-BASE, suspended for unpaid contributions from 2025-04-01 (open) before its care is
 *   liquidated: GP consultations on 2025-03-10 (paid 9.00), 2025-04-10 and 2025-05-12 (rejected).
 *   Day 2: the arrears are paid on 2025-05-05, the suspension lifted effective 2025-05-06 (cover resumes
 *   the next day, for the future): the 2025-05-12 consultation is paid 9.00; 2025-04-10 stays rejected.
 */
describe('noemie run --once: a back-dated change of level and a lifted suspension', () => {
  it('re-decides the paid and rejected care they change and pays only the difference, then nothing more', async () => {
    const { home, inbox } = await homeWithReference('run-levels-');
    await writeFeed(inbox, 'members-day1.csv', [
      holderCreated('C001', nirOf(31), 'CCN-HLA-BASE'),
      holderCreated('R001', nirOf(32), 'RELAXEO-F1', '2025-01-01'),
      holderCreated('S001', nirOf(33), 'CCN-HLA-BASE'),
      feedRow({ event_id: 'ev-susp-S001', event_type: 'suspension_start', effective_date: '2025-04-01', adherent_id: 'S001' }),
    ]);
    await writeDrop(inbox, 'drop-day1.csv', [
      gpLine('LVLC0310', nirOf(31), 'C001', '2025-03-10'),
      gpLine('SUSP0310', nirOf(33), 'S001', '2025-03-10'),
      gpLine('SUSP0410', nirOf(33), 'S001', '2025-04-10'),
      gpLine('SUSP0512', nirOf(33), 'S001', '2025-05-12'),
    ]);
    await writeFile(join(inbox, 'invoice-LENS0805.json'), JSON.stringify({
      invoice_id: 'LENS0805', amc_member_id: 'R001', nir: nirOf(32), rang: 1, ps_id: '44243226336806', ps_kind: 'optician', invoice_date: '2025-08-05',
      lines: [{ act_code: '2202060', care_date: '2025-08-05', quantity: 1, expense: '300.00' }],
    }));

    // Given day 1 liquidated and paid
    const first = await runOnceOk(home);
    const v1 = await settlementsOf(home);
    const row = (d: string) => versionsOf(v1, d).map((s) => [s.version, s.status, s.amcAmount]);
    expect(['LVLC0310', 'LENS0805', 'SUSP0310', 'SUSP0410', 'SUSP0512'].map(row)).toEqual([
      [[1, 'paid', '9.00']], [[1, 'paid', '100.00']], [[1, 'paid', '9.00']], [[1, 'rejected', '0.00']], [[1, 'rejected', '0.00']],
    ]);
    for (const d of ['SUSP0410', 'SUSP0512']) expect(versionsOf(v1, d)[0]!.reason).toMatch(/suspen/i);
    expect((await ordersOf(first.out)).map((o) => [o.payee, o.kind, o.amount]).sort()).toEqual([
      ['member:C001', 'payment', '9.00'], ['member:R001', 'payment', '100.00'], ['member:S001', 'payment', '9.00'],
    ]);

    // When day 2's feed brings the level changes and the lifted suspension
    await writeFeed(inbox, 'members-day2.csv', [
      feedRow({ event_id: 'ev-level-C001', event_type: 'contract_change', effective_date: '2025-03-01', adherent_id: 'C001', contracts: 'CCN-HLA-OPT1' }),
      feedRow({ event_id: 'ev-level-R001', event_type: 'contract_change', effective_date: '2025-07-01', adherent_id: 'R001', contracts: 'RELAXEO-F2' }),
      feedRow({ event_id: 'ev-lifted-S001', event_type: 'suspension_lifted', effective_date: '2025-05-06', adherent_id: 'S001' }),
    ]);
    const second = await runOnceOk(home);
    expect(second.out).toMatch(/members: 3 membership event\(s\) applied, 0 already applied, 3 families in the store; 3 re-liquidation request\(s\)/);
    expect(second.out).toMatch(/liquidation: 0 lines, 3 settlements published/);

    // Then each changed line has a version 2 saying why, and nothing else changed
    const all = await settlementsOf(home);
    const last = (d: string) => versionsOf(all, d).at(-1)!;
    expect(last('LVLC0310')).toMatchObject({ version: 2, status: 'paid', amcAmount: '29.00', reliquidation: { eventId: 'ev-level-C001', type: 'contract_change', effectiveDate: '2025-03-01' } });
    expect(last('LENS0805')).toMatchObject({ version: 2, status: 'paid', amcAmount: '125.21', reliquidation: { eventId: 'ev-level-R001', type: 'contract_change', effectiveDate: '2025-07-01' } });
    expect(last('LENS0805').parts[0]!.formula).toContain('yearly forfait optique.lentilles prorated over 2025-01-01..2025-12-31 (level change, §2.4.1): (RELAXEO-F1 100.00 × 181 d + RELAXEO-F2 150.00 × 184 d) / 365 d = 125.21');
    expect(last('SUSP0512')).toMatchObject({ version: 2, status: 'paid', amcAmount: '9.00', reliquidation: { eventId: 'ev-lifted-S001', type: 'suspension_lifted', effectiveDate: '2025-05-06' } });
    expect(versionsOf(all, 'SUSP0410')).toHaveLength(1);
    expect(versionsOf(all, 'SUSP0310')).toHaveLength(1);
    expect([...latest(all).values()].filter((s) => s.version > 1)).toHaveLength(3);

    // and the payment run pays only the differences: 29.00 − 9.00, 125.21 − 100.00, 9.00 − 0.00
    const orders = await ordersOf(second.out);
    expect(orders.map((o) => [o.payee, o.kind, o.amount]).sort()).toEqual([
      ['member:C001', 'payment', '20.00'], ['member:R001', 'payment', '25.21'], ['member:S001', 'payment', '9.00'],
    ]);

    // A third run changes nothing
    const third = await runOnceOk(home);
    expectNothingNew(third.out);
  }, 180_000);
});
