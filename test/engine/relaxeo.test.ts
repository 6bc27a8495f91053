import { describe, expect, it } from 'vitest';
import type { Grid, GridSet } from '../../src/model/grid.js';
import { GRIDS, RELAXEO, line, person, settle, settleAll } from './helpers.js';

/**
 * RELAXEO-2 rules (seed 003, chapters 2–3, notes of §2.6) through RELAXEO-F1. Its amounts are
 * invented (the table was an image): 150/130 % BR hospital fees, 50 € a night for a room, 200 %
 * BR prostheses, a 1 000 € dental ceiling, 25 € a session (3 a year), 60 € a class B frame.
 * The member's effective date is 2025-01-10: the 60-day waiting period runs to 2025-03-10.
 */

const member = person({ contracts: [RELAXEO], start: '2025-01-10' });

const surgery = (date: string, accident = false) =>
  // CCAM surgery billed by the clinic (no specialty → hospital setting → hospi.honoraires_actes)
  line({ actCode: 'ADC', psSpecialty: null, psDptm: true, careStart: date, br: '300.00', expense: '600.00', roRate: '80', roAmount: '240.00', accident });

const room = (n: number, date: string, nights: number, accident = false) =>
  line({ actCode: 'CHP', decompteId: `R${n}`, psSpecialty: null, careStart: date, quantity: nights, br: '0.00', expense: (90 * nights).toFixed(2), roRate: '0', roAmount: '0.00', accident });

describe('60-day hospital waiting period, except accidents (§3.7.2, note 1)', () => {
  it('within 60 days: hospital paid at the TM only; after, the full guarantee', () => {
    // BR 300, RO 80 % (hospital) → MRn = 300 × max(70, 80) % = 240; FR 600
    // waiting: G = 100 % BR = 300 → AMC = min(300 − 240, 600 − 240) = 60.00 (the TM)
    // 2025-03-11 (day 61): 150 % DPTM → G = 450 → AMC = min(210, 360) = 210.00
    const during = settle(surgery('2025-02-01'), member);
    expect(during.poste).toBe('hospi.honoraires_actes');
    expect(during.amcAmount).toBe('60.00');
    expect(during.reason).toContain('waiting period of 60 days after the effective date 2025-01-10 (until 2025-03-10), no accident: hospital paid at the ticket modérateur only');
    expect(settle(surgery('2025-03-10'), member).amcAmount).toBe('60.00');
    expect(settle(surgery('2025-03-11'), member).amcAmount).toBe('210.00');
  });

  it('a stay following an accident is paid in full during the waiting period', () => {
    expect(settle(surgery('2025-02-01', true), member).amcAmount).toBe('210.00');
  });

  it('the single room is excluded during the waiting period, unless after an accident', () => {
    const s = settle(room(1, '2025-02-01', 3), member);
    expect(s.status).toBe('zero');
    expect(s.reason).toContain('hospi.chambre_particuliere_nuit not covered');
    // accident: 3 × 50 € (on top of the RO part, none) = 150.00
    expect(settle(room(1, '2025-02-01', 3, true), member).amcAmount).toBe('150.00');
  });

  it('town care is not concerned: a GP visit on day 10 is paid normally', () => {
    // G: BR 30, RO 21, FR 30; 120 % DPTM → G = 36 → AMC = min(15, 9) = 9.00
    expect(settle(line({ careStart: '2025-01-20' }), member).amcAmount).toBe('9.00');
  });
});

describe('single room: 30 days per insurance year (note 3)', () => {
  it('25 nights then 10: 25 + 5 paid; a new insurance year (from 2025-01-10 → 2026-01-10) starts afresh', () => {
    // 25 × 50 = 1 250.00; then 5 nights left of 30 → 250.00; 2026-01-15 is in the 2nd insurance year → 10 × 50 = 500.00
    const { settlements } = settleAll([room(1, '2025-04-01', 25), room(2, '2025-09-01', 10), room(3, '2026-01-15', 10)], member, { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['1250.00', '250.00', '500.00']);
    expect(settlements[1]!.reason).toContain('yearly limit of 30 days reached for hospi.chambre_particuliere_nuit (25 before this line)');
    expect(settlements[2]!.counters[0]!.key).toBe('RELAXEO-F1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2026-01-10');
  });

  it('not covered in psychiatry nor in ambulatory stays', () => {
    const psy = line({ ...room(1, '2025-04-01', 2), actCode: 'CHPSY' });
    expect(settle(psy, member).reason).toContain('RELAXEO-F1 does not cover hospi.chambre_particuliere_nuit (Note (3)');
    const ambu = line({ ...room(1, '2025-04-01', 1), actCode: 'CHA' });
    expect(settle(ambu, member).status).toBe('zero');
  });
});

describe('yearly dental ceiling, then the TM only (note 4)', () => {
  const crown = (n: number) => line({ actCode: 'PAL', decompteId: `D${n}`, psSpecialty: '19', careStart: `2025-0${Math.min(n, 9)}-1${n % 10}`, br: '120.00', expense: '500.00', roRate: '70', roAmount: '84.00' });

  it('crowns at 200 % BR until 1 000 € a year, the rest up to the ceiling, then the TM', () => {
    // each: G = 240, MRn 84 → 156.00. Six crowns: 936 used. 7th: 64 left (TM would be 36) → 64.00
    // 8th: ceiling reached → TM only: 100 % BR − MRn = 120 − 84 = 36.00
    const { settlements } = settleAll([1, 2, 3, 4, 5, 6, 7, 8].map(crown), member, { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '64.00', '36.00']);
    expect(settlements[7]!.reason).toContain('yearly ceiling dentaire.plafond of 1000.00 reached (1000.00 used), paid at the rate beyond the ceiling (36.00)');
  });

  it('soins dentaires are outside the ceiling; 100 % Santé acts consume it but stay without rest to pay', () => {
    const { state } = settleAll([1, 2, 3, 4, 5, 6, 7].map(crown), member, { liquidatedOnCareDate: true });
    // soins: 100 % BR; BR 30, RO 21 → 9.00 whatever the ceiling
    const soins = line({ actCode: 'SDE', decompteId: 'S1', psSpecialty: '19', careStart: '2025-09-20', br: '30.00', expense: '30.00', roAmount: '21.00' });
    expect(settle(soins, member, { state, ctx: { asOf: '2025-09-30' } }).amcAmount).toBe('9.00');
    // 100 % Santé: FR 300, BR 100, RO 70 → AMC = 300 − 70 = 230.00, ceiling already at 1 000
    const rac0 = line({ actCode: 'D100S', decompteId: 'S2', psSpecialty: '19', careStart: '2025-09-20', br: '100.00', expense: '300.00', roAmount: '70.00' });
    expect(settle(rac0, member, { state, ctx: { asOf: '2025-09-30' } }).amcAmount).toBe('230.00');
  });
});

describe('€ amounts on top of the RO, insurance-year forfaits', () => {
  it('25 € a session, 3 per insurance year: the year runs from the effective date, not 1 January', () => {
    // sessions 2025-02, 2025-06, 2025-12 → 25 each; 2026-01-05 (still year 1) → 0; 2026-01-12 (year 2) → 25
    const session = (n: number, date: string) => line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `I${n}`, psSpecialty: null, careStart: date, br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll(
      [session(1, '2025-02-01'), session(2, '2025-06-01'), session(3, '2025-12-01'), session(4, '2026-01-05'), session(5, '2026-01-12')],
      member, { liquidatedOnCareDate: true },
    );
    expect(settlements.map((s) => s.amcAmount)).toEqual(['25.00', '25.00', '25.00', '0.00', '25.00']);
  });

  it('a € forfait on a reimbursed act adds to the RO part; note (b) optics forfaits include it', () => {
    // class B frame: BR 0.05, RO 60 % → MRn 0.03, FR 150.
    // RELAXEO-F1 rule (includesRO true, note b): G = 60 → AMC = 60 − 0.03 = 59.97
    // the same rule read "on top of the RO" (grid default): G = 60 + 0.03 → AMC = 60.00
    const frame = line({ actCode: '2202001', psSpecialty: '28', br: '0.05', expense: '150.00', roRate: '60', roAmount: '0.03' });
    expect(settle(frame, member).amcAmount).toBe('59.97');
    const onTop: Grid = { ...GRIDS[RELAXEO]!, id: 'RELAXEO-ONTOP', rules: GRIDS[RELAXEO]!.rules.map(({ includesRO: _drop, ...r }) => r) };
    const grids: GridSet = { ...GRIDS, 'RELAXEO-ONTOP': onTop };
    const s = settle(frame, { ...member, contracts: ['RELAXEO-ONTOP'] }, { ctx: { grids } });
    expect(s.amcAmount).toBe('60.00');
    expect(s.parts[0]!.formula).toContain('RO part 0.03');
  });
});
