import { describe, expect, it } from 'vitest';
import { OPT2, RELAXEO, line, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Hospitalisation" and "Transports", one test per table line, each level
 * (Base, Option 1, Option 2; options also layered on the Base: socle + surco), DPTM and not where
 * the cell has two values. Care in 2025, PMSS 3 925 €. Hospital lines are billed by the
 * establishment (NOEMIE, no specialty). Then the RELAXEO-F1 hospital rules (waiting period, room).
 *   MRn = BR × normal RO rate; AMC = max(0, min(G − MRn, FR − MRn, cap))
 */

const hospital = (over: Parameters<typeof line>[0]) => line({ psSpecialty: null, careStart: '2025-05-12', ...over });

describe('frais de séjour', () => {
  it('établissement conventionné: 100 % BR at every level (the TM)', () => {
    // GHS, 1 day: BR 1 000, RO 80 % → MRn 800, FR 1 000
    // every level: G = 100 % × 1 000 = 1 000 → AMC = min(1 000 − 800, 1 000 − 800) = 200.00; surco 0
    const s = expectLevels(hospital({ actCode: 'GHS', br: '1000.00', expense: '1000.00', roRate: '80', roAmount: '800.00' }), {
      base: '200.00', opt1: ['200.00', '0.00'], opt2: ['200.00', '0.00'],
    });
    expect(s.base.restToPay).toBe('0.00');
    expect(s.base.parts[0]!.rule).toBe('hospi.sejour_conventionne');
  });

  it('établissement non conventionné: 100 % BR, the overbilling stays on the patient', () => {
    // FSN: BR 300, RO 80 % → MRn 240, FR 2 000 → G = 300 → AMC = min(60, 1 760) = 60.00 at every level
    // rest = 2 000 − 240 − 60 = 1 700.00
    const s = expectLevels(hospital({ actCode: 'FSN', br: '300.00', expense: '2000.00', roRate: '80', roAmount: '240.00' }), {
      base: '60.00', opt1: ['60.00', '0.00'], opt2: ['60.00', '0.00'],
    });
    expect(s.opt2.restToPay).toBe('1700.00');
    expect(s.opt2.reason).toContain('1700.00 of the expense is above the guarantee');
  });
});

describe('forfaits journaliers (note 2)', () => {
  it('forfait journalier hospitalier: 100 % du forfait', () => {
    // FJ 20 €/day × 3 days: FR 60, RO 0 % → MRn 0 → G = 100 % × FR 60 = 60 → AMC 60.00 at every level
    const s = expectLevels(hospital({ actCode: 'FJ', quantity: 3, careEnd: '2025-05-15', br: '60.00', expense: '60.00', roRate: '0', roAmount: '0.00' }), {
      base: '60.00', opt1: ['60.00', '0.00'], opt2: ['60.00', '0.00'],
    });
    expect(s.base.restToPay).toBe('0.00');
  });

  it('forfait journalier psychiatrique: 100 % du forfait, not limited to 90 days (our reading of note 3)', () => {
    // FJP 15 €/day × 100 days = 1 500, RO 0 → AMC = 1 500.00 at every level, whatever the 90-day limit of the room
    expectLevels(hospital({ actCode: 'FJP', quantity: 100, careStart: '2025-01-02', careEnd: '2025-04-12', br: '1500.00', expense: '1500.00', roRate: '0', roAmount: '0.00' }), {
      base: '1500.00', opt1: ['1500.00', '0.00'], opt2: ['1500.00', '0.00'],
    });
  });
});

describe('honoraires (hospital setting)', () => {
  // ADC billed by the clinic: BR 200, RO 70 % → MRn 140, FR 600 (FR − MRn = 460)
  const surgery = (dptm: boolean) => hospital({ actCode: 'ADC', psDptm: dptm, br: '200.00', expense: '600.00', roRate: '70', roAmount: '140.00' });

  it('actes de chirurgie, anesthésie, techniques — DPTM 220 % BR at every level', () => {
    // G = 220 % × 200 = 440 → AMC = min(440 − 140, 460) = 300.00; the options add nothing
    const s = expectLevels(surgery(true), { base: '300.00', opt1: ['300.00', '0.00'], opt2: ['300.00', '0.00'] });
    expect(s.base.poste).toBe('hospi.honoraires_actes');
    expect(s.base.parts[0]!.formula).toContain('220% × BR 200.00 = 440.00');
  });

  it('actes de chirurgie, anesthésie, techniques — hors DPTM 200 % BR', () => {
    // G = 200 % × 200 = 400 → AMC = min(260, 460) = 260.00; rest = 600 − 140 − 260 = 200.00
    const s = expectLevels(surgery(false), { base: '260.00', opt1: ['260.00', '0.00'], opt2: ['260.00', '0.00'] });
    expect(s.base.restToPay).toBe('200.00');
  });

  it('anaesthesia billed under the FR: the expense bounds the AMC', () => {
    // ADA: BR 100, RO 70 → MRn 70, FR 150: G = 220 → AMC = min(150, 80) = 80.00, rest 0
    expectLevels(hospital({ actCode: 'ADA', br: '100.00', expense: '150.00', roRate: '70', roAmount: '70.00' }), {
      base: '80.00', opt1: ['80.00', '0.00'], opt2: ['80.00', '0.00'],
    });
  });

  // a specialist's visit billed by the hospital → hospi.honoraires_autres. BR 50, RO 70 % → MRn 35, FR 150
  const visit = (dptm: boolean) => hospital({ actCode: 'CS', psDptm: dptm, br: '50.00', expense: '150.00', roRate: '70', roAmount: '35.00' });

  it('autres honoraires — DPTM 220 % BR', () => {
    // G = 110 → AMC = min(110 − 35, 150 − 35) = 75.00
    const s = expectLevels(visit(true), { base: '75.00', opt1: ['75.00', '0.00'], opt2: ['75.00', '0.00'] });
    expect(s.base.poste).toBe('hospi.honoraires_autres');
  });

  it('autres honoraires — hors DPTM 200 % BR', () => {
    // G = 100 → AMC = min(65, 115) = 65.00
    expectLevels(visit(false), { base: '65.00', opt1: ['65.00', '0.00'], opt2: ['65.00', '0.00'] });
  });
});

describe('participation forfaitaire actes lourds (hospital)', () => {
  it('100 % FR limited to the 24 € participation', () => {
    // PAV billed 24, RO 0 → G = min(100 % × 24, 24) = 24 → AMC 24.00 at every level
    expectLevels(hospital({ actCode: 'PAV', br: '24.00', expense: '24.00', roRate: '0', roAmount: '0.00' }), {
      base: '24.00', opt1: ['24.00', '0.00'], opt2: ['24.00', '0.00'],
    });
    // billed 30 (above the regulatory amount): G = min(30, 24) = 24 → AMC 24.00, 6.00 left to pay
    const s = settle(hospital({ actCode: 'PAV', br: '24.00', expense: '30.00', roRate: '0', roAmount: '0.00' }), person({ contracts: [OPT2] }));
    expect([s.poste, s.amcAmount, s.restToPay]).toEqual(['hospi.participation_actes_lourds', '24.00', '6.00']);
  });
});

describe('chambre particulière, accompagnement (note 3): % PMSS per night, rounded per night', () => {
  // Base 1.46 % × 3 925 = 57.305 → 57.31; Option 1 2.40 % → 94.20; Option 2 3.50 % × 3 925 = 137.375 → 137.38

  it('par nuitée: 2 nights at 150 €', () => {
    // FR 300, no RO. Base 2 × 57.31 = 114.62; Opt1 2 × 94.20 = 188.40 (surco 188.40 − 114.62 = 73.78);
    // Opt2 2 × 137.38 = 274.76 (surco 274.76 − 114.62 = 160.14)
    const s = expectLevels(hospital({ actCode: 'CHP', quantity: 2, careEnd: '2025-05-14', br: '0.00', expense: '300.00', roRate: '0', roAmount: '0.00' }), {
      base: '114.62', opt1: ['114.62', '73.78'], opt2: ['114.62', '160.14'],
    });
    expect(s.base.parts[0]!.formula).toContain('1.46% PMSS 3925.00 = 57.31 per night × 2 = 114.62');
    expect(s.opt2Alone.parts[0]!.formula).toContain('3.50% PMSS 3925.00 = 137.38 per night');
  });

  it('par nuitée, a room cheaper than the forfait: the FR bounds it', () => {
    // 2 nights at 100 € (FR 200): Base 114.62; Opt1 min(188.40, 200) = 188.40; Opt2 min(274.76, 200) = 200.00 (surco 85.38)
    expectLevels(hospital({ actCode: 'CHP', quantity: 2, careEnd: '2025-05-14', br: '0.00', expense: '200.00', roRate: '0', roAmount: '0.00' }), {
      base: '114.62', opt1: ['114.62', '73.78'], opt2: ['114.62', '85.38'],
    });
  });

  it('par journée (ambulatoire): 1 day at 150 €', () => {
    // Base 57.31; Opt1 94.20 (surco 36.89); Opt2 137.38 (surco 80.07)
    const s = expectLevels(hospital({ actCode: 'CHA', br: '0.00', expense: '150.00', roRate: '0', roAmount: '0.00' }), {
      base: '57.31', opt1: ['57.31', '36.89'], opt2: ['57.31', '80.07'],
    });
    expect(s.base.poste).toBe('hospi.chambre_particuliere_ambulatoire');
  });

  it("frais d'accompagnement: 4 nights, FR 600", () => {
    // Base 4 × 57.31 = 229.24; Opt1 4 × 94.20 = 376.80 (surco 147.56); Opt2 4 × 137.38 = 549.52 (surco 320.28)
    expectLevels(hospital({ actCode: 'LAC', quantity: 4, careEnd: '2025-05-16', br: '0.00', expense: '600.00', roRate: '0', roAmount: '0.00' }), {
      base: '229.24', opt1: ['229.24', '147.56'], opt2: ['229.24', '320.28'],
    });
  });

  it('psychiatry: 90 room days a year at Option 2 too (88 nights, then 5 → 2 paid)', () => {
    // stay 1: 88 × 137.38 = 12 089.44 (FR 88 × 150 = 13 200); stay 2: 5 nights, 2 left → 2 × 137.38 = 274.76
    const stay = (n: number, nights: number, start: string) =>
      hospital({ actCode: 'CHPSY', decompteId: `P${n}`, careStart: start, careEnd: start, quantity: nights, br: '0.00', expense: `${150 * nights}.00`, roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll([stay(1, 88, '2025-01-03'), stay(2, 5, '2025-07-01')], person({ contracts: [OPT2] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['12089.44', '274.76']);
    expect(settlements[1]!.reason).toContain('yearly limit of 90 days reached for hospi.chambre_particuliere_nuit (88 before this line)');
  });
});

describe('transports remboursés par la SS: 100 % BR', () => {
  it('taxi conventionné (RO 55 %) and ambulance (RO 65 %)', () => {
    // TAX: BR 100, MRn 55, FR 100 → AMC 45.00 at every level
    expectLevels(line({ actCode: 'TAX', psSpecialty: '43', br: '100.00', expense: '100.00', roRate: '55', roAmount: '55.00' }), {
      base: '45.00', opt1: ['45.00', '0.00'], opt2: ['45.00', '0.00'],
    });
    // AMB: BR 120, MRn 78, FR 120, franchise 4 (RO net 74) → AMC = 42.00; rest 4.00 = the franchise
    const s = expectLevels(line({ actCode: 'AMB', psSpecialty: '43', br: '120.00', expense: '120.00', roRate: '65', roAmount: '78.00', franchise: '4.00' }), {
      base: '42.00', opt1: ['42.00', '0.00'], opt2: ['42.00', '0.00'],
    });
    expect(s.opt2.restToPay).toBe('4.00');
    expect(s.opt2.reason).toBe('franchise médicale 4.00 is never covered (contrat responsable)');
  });
});

describe('RELAXEO-F1 hospital rules (seed 003, amounts invented: 150/130 % BR fees, 50 € a night)', () => {
  // effective date 2025-01-10: the 60-day waiting period covers 2025-01-10 … 2025-03-10
  const member = person({ contracts: [RELAXEO], start: '2025-01-10' });
  const visit = (date: string, over: Parameters<typeof line>[0] = {}) =>
    hospital({ actCode: 'CS', careStart: date, br: '50.00', expense: '150.00', roRate: '70', roAmount: '35.00', ...over });

  it('fees during the waiting period: the TM only; after it (or after an accident) the full guarantee', () => {
    // BR 50, MRn 35, FR 150. Waiting: G = 100 % BR = 50 → AMC = 15.00 (the TM)
    // day 61 DPTM 150 %: G = 75 → AMC = min(40, 115) = 40.00; hors DPTM 130 %: G = 65 → 30.00
    expect(settle(visit('2025-02-15'), member).amcAmount).toBe('15.00');
    expect(settle(visit('2025-02-15'), member).reason).toContain('hospital paid at the ticket modérateur only');
    expect(settle(visit('2025-03-11'), member).amcAmount).toBe('40.00');
    expect(settle(visit('2025-03-11', { psDptm: false }), member).amcAmount).toBe('30.00');
    expect(settle(visit('2025-02-15', { accident: true }), member).amcAmount).toBe('40.00');
  });

  it('forfait journalier during the waiting period is still paid (TM = BR − RO part)', () => {
    // FJ 20 × 2 days, RO 0 %: TM only → G = 100 % BR 40 → AMC = 40.00
    expect(settle(hospital({ actCode: 'FJ', careStart: '2025-02-01', quantity: 2, br: '40.00', expense: '40.00', roRate: '0', roAmount: '0.00' }), member).amcAmount).toBe('40.00');
  });

  it('single room: excluded during the waiting period; 50 € a night on top of the RO; 30 nights per insurance year', () => {
    const room = (n: number, date: string, nights: number, accident = false) =>
      hospital({ actCode: 'CHP', decompteId: `R${n}`, careStart: date, quantity: nights, br: '0.00', expense: `${80 * nights}.00`, roRate: '0', roAmount: '0.00', accident });
    expect(settle(room(1, '2025-03-01', 2), member).status).toBe('zero');
    // accident during the waiting period: 2 × 50 = 100.00
    expect(settle(room(1, '2025-03-01', 2, true), member).amcAmount).toBe('100.00');
    // 28 nights (1 400.00), then 4 nights with 2 left (100.00); 2026-01-09 is still insurance year 1 → 0;
    // 2026-01-10 opens year 2 → 3 × 50 = 150.00
    const { settlements } = settleAll(
      [room(2, '2025-04-01', 28), room(3, '2025-10-01', 4), room(4, '2026-01-09', 3), room(5, '2026-01-10', 3)],
      member, { ctx: { asOf: '2026-03-01' } },
    );
    expect(settlements.map((s) => s.amcAmount)).toEqual(['1400.00', '100.00', '0.00', '150.00']);
    expect(settlements[2]!.reason).toContain('yearly limit of 30 days reached for hospi.chambre_particuliere_nuit (30 before this line)');
  });

  it('a CCN member has no waiting period: Option 2 room on day 5 of the affiliation is paid', () => {
    // 1 night, FR 200: 137.38
    const b = person({ contracts: [OPT2], start: '2025-05-08' });
    expect(settle(hospital({ actCode: 'CHP', br: '0.00', expense: '200.00', roRate: '0', roAmount: '0.00' }), b).amcAmount).toBe('137.38');
  });
});
