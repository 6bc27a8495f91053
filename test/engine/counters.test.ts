import { describe, expect, it } from 'vitest';
import type { Grid, GridSet } from '../../src/model/grid.js';
import { BASE, GRIDS, OPT1, OPT2, line, partsOf, person, settle, settleAll } from './helpers.js';

/** Counters as explicit state: counts with a rate beyond, yearly budgets, days, renewals, caps. */

const dental = (n: number, code: string, over: Parameters<typeof line>[0] = {}) =>
  line({ actCode: code, decompteId: `D${n}`, psSpecialty: '19', careStart: `2025-0${n}-02`, br: '120.00', expense: '500.00', roRate: '70', roAmount: '84.00', ...over });

describe('counts per year with a different rate beyond ("max 3/an, au-delà 125 % BR")', () => {
  it('three anterior prostheses at 280 % BR, the fourth at 125 % BR', () => {
    // Given a crown: BR 120, RO 70 % → MRn 84, FR 500. Base 280 % BR within HLF (no HLF known → FR within):
    //   G = 336 → AMC = min(336 − 84, 500 − 84) = 252.00, three times
    // Fourth in 2025: beyond → 125 % × 120 = 150 → AMC = min(150 − 84, 416) = 66.00
    const { settlements } = settleAll([1, 2, 3, 4].map((n) => dental(n, 'PAM')));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['252.00', '252.00', '252.00', '66.00']);
    expect(settlements[3]!.reason).toContain('yearly limit of 3 acts reached for dentaire.protheses_anterieures (3 before this line), the rest is paid at the rate beyond the limit');
    expect(settlements[3]!.parts[0]!.formula).toContain('1 beyond the limit: G = 125% × BR 120.00 = 150.00');
  });

  it('tarifs modérés and tarifs libres rows share the tooth group count (our reading)', () => {
    // PAM, PAL, PAM count 3 on dentaire.protheses_anterieures → the 4th (PAL) is beyond: 66.00
    const { settlements } = settleAll([dental(1, 'PAM'), dental(2, 'PAL'), dental(3, 'PAM'), dental(4, 'PAL')]);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['252.00', '252.00', '252.00', '66.00']);
    // posterior teeth have their own count: a PPM after them is still within
    const { settlements: more } = settleAll([1, 2, 3].map((n) => dental(n, 'PAM')).concat(dental(4, 'PPM')));
    expect(more[3]!.amcAmount).toBe('252.00');
  });

  it('a line straddling the limit is split unit by unit', () => {
    // two crowns first, then one line of 2 crowns: BR 240, RO 168, FR 1 000
    // unit 3 (within): G = 280 % × 120 = 336 → min(336 − 84, 500 − 84) = 252
    // unit 4 (beyond): 125 % × 120 = 150 → min(150 − 84, 500 − 84) = 66 → total 318.00
    const two = dental(3, 'PAM', { quantity: 2, br: '240.00', expense: '1000.00', roAmount: '168.00' });
    const { settlements } = settleAll([dental(1, 'PAM'), dental(2, 'PAM'), two]);
    expect(settlements[2]!.amcAmount).toBe('318.00');
    expect(settlements[2]!.counters).toEqual([{ key: 'CCN-HLA-BASE|1850375123456-1|dentaire.protheses_anterieures|count|2025', before: '2', after: '3' }]);
  });
});

describe('yearly budgets in % PMSS, rounded to the cent where produced', () => {
  it('lentilles remboursées, Option 1 "100 % BR + 7,5 % PMSS": 294.375 → 294.38, then only the TM', () => {
    // 7.5 % × 3 925 = 294.375 → 294.38. Box 1: BR 40, RO 60 % = 24, FR 400
    //   G = 40 + 294.38 = 334.38 → AMC = min(334.38 − 24, 400 − 24) = 310.38; budget used = 24 + 310.38 − 40 = 294.38
    // Box 2 (same year): budget 0 → G = 40 → AMC = min(40 − 24, 376) = 16.00 (the TM)
    const box = (n: number) => line({ actCode: '2202050', decompteId: `L${n}`, psSpecialty: '28', careStart: `2025-0${n}-01`, br: '40.00', expense: '400.00', roRate: '60', roAmount: '24.00' });
    const { settlements } = settleAll([box(1), box(2)], person({ contracts: [OPT1] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['310.38', '16.00']);
    expect(settlements[0]!.counters).toEqual([{ key: 'CCN-HLA-OPT1|1850375123456-1|optique.lentilles_remboursees|budget|2025', before: '0.00', after: '294.38' }]);
    expect(settlements[1]!.reason).toContain('yearly forfait optique.lentilles_remboursees already used up');
  });

  it('cures thermales Option 2, printed "10 % PMSS", read as 100 % BR + 10 % PMSS per year', () => {
    // STH: BR 100, RO 65 % = 65, FR 600. Option 2: G = 100 + 10 % × 3 925 (392.50) = 492.50
    //   AMC = min(492.50 − 65, 600 − 65) = 427.50. Base 100 % BR: min(100 − 65, 535) = 35.00
    const cure = line({ actCode: 'STH', psSpecialty: null, source: 'invoice', caisse: null, br: '100.00', expense: '600.00', roRate: '65', roAmount: '65.00' });
    expect(partsOf(settle(cure, person({ contracts: [BASE, OPT2] })))).toEqual(['CCN-HLA-BASE=35.00', 'CCN-HLA-OPT2=392.50']);
  });

  it('the PMSS is the one of 1 January of the year of care', () => {
    // 2024: 1.46 % × 3 864 = 56.4144 → 56.41 per night; 2 nights → 112.82
    const room = line({ actCode: 'CHP', psSpecialty: null, careStart: '2024-11-02', quantity: 2, br: '0.00', expense: '200.00', roRate: '0', roAmount: '0.00' });
    expect(settle(room).amcAmount).toBe('112.82');
  });

  it('a "30 € / an" forfait is consumed across the year (diététicien, child under 12, Option 1)', () => {
    // visit 1 FR 20 → 20 (budget 30 → 10 left); visit 2 FR 20 → 10; visit 3 → 0
    const kid = person({ role: 'E', birthDate: '2016-01-01', contracts: [OPT1] });
    const visit = (n: number) => line({ actCode: 'DIET', source: 'invoice', caisse: null, decompteId: `V${n}`, psSpecialty: null, careStart: `2025-0${n}-03`, br: '0.00', expense: '20.00', roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll([visit(1), visit(2), visit(3)], kid);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['20.00', '10.00', '0.00']);
  });
});

describe('days per year', () => {
  it('psychiatry: single room limited to 90 days a year (CCN note 3)', () => {
    // Base 1.46 % PMSS = 57.31/night. Stay 1: 80 nights → 80 × 57.31 = 4 584.80 (FR 80 × 80 = 6 400)
    // Stay 2: 20 nights, 10 left → 10 × 57.31 = 573.10; the other 10 nights get nothing
    const stay = (n: number, nights: number, start: string) => line({ actCode: 'CHPSY', decompteId: `H${n}`, psSpecialty: null, careStart: start, careEnd: start, quantity: nights, br: '0.00', expense: (80 * nights).toFixed(2), roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll([stay(1, 80, '2025-01-05'), stay(2, 20, '2025-06-01')]);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['4584.80', '573.10']);
    expect(settlements[1]!.reason).toContain('yearly limit of 90 days reached for hospi.chambre_particuliere_nuit (80 before this line)');
    // an ordinary room is not limited: CHP, 100 nights → 100 × 57.31 = 5 731.00
    const plain = line({ actCode: 'CHP', psSpecialty: null, quantity: 100, br: '0.00', expense: '8000.00', roRate: '0', roAmount: '0.00' });
    expect(settle(plain).amcAmount).toBe('5731.00');
  });
});

describe('optics renewal (note 4): per element, 2 years from 16, 1 year under 16', () => {
  const frame = (n: number, date: string) =>
    line({ actCode: '2202001', decompteId: `O${n}`, psSpecialty: '28', careStart: date, br: '0.05', expense: '150.00', roRate: '60', roAmount: '0.03' });

  it('an adult gets one frame per 2 years, counted from the last one', () => {
    // Base class B frame 16+: 100 € incl. RO; BR 0.05, RO 60 % → MRn 0.03 → AMC = min(100 − 0.03, 150 − 0.03) = 99.97
    // 2025-09-01: within 24 months of 2025-03-10 → 0; 2027-03-10: 24 months later → a new period → 99.97
    const { settlements } = settleAll([frame(1, '2025-03-10'), frame(2, '2025-09-01'), frame(3, '2027-03-10')], person(), { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['99.97', '0.00', '99.97']);
    expect(settlements[1]!.reason).toContain('renewal period not over: frame already reimbursed on 2025-03-10; next one from 2027-03-10 (one per 24 months at age 40)');
    expect(settlements[0]!.counters).toEqual([{ key: 'renewal|1850375123456-1|optique|frame', before: 'none', after: '2025-03-10:1' }]);
  });

  it('frame and lenses bought apart each have their own period; two lenses per period', () => {
    // lenses 2025-06-01 after a frame on 2025-03-10: paid. Base simple lens 16+: 75 € per lens incl. RO
    // 2 lenses: BR 0.10, RO 0.06, FR 240 → G = 150 → AMC = min(150 − 0.06, 240 − 0.06) = 149.94
    // a third lens in the same period → 0
    const lenses = line({ actCode: '2202011', decompteId: 'O2', psSpecialty: '28', careStart: '2025-06-01', quantity: 2, br: '0.10', expense: '240.00', roRate: '60', roAmount: '0.06' });
    const third = line({ actCode: '2202011', decompteId: 'O3', psSpecialty: '28', careStart: '2025-10-01', br: '0.05', expense: '120.00', roRate: '60', roAmount: '0.03' });
    const { settlements } = settleAll([frame(1, '2025-03-10'), lenses, third]);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['99.97', '149.94', '0.00']);
  });

  it('class A and class B share one history: a class B frame after a class A frame is a renewal', () => {
    const classA = line({ actCode: '2201001', decompteId: 'O1', psSpecialty: '28', br: '9.00', expense: '30.00', roRate: '60', roAmount: '5.40' });
    const { settlements } = settleAll([classA, frame(2, '2025-05-01')]);
    // class A: no rest to pay → AMC = 30 − 5.40 = 24.60; then the class B frame is refused
    expect(settlements.map((s) => s.amcAmount)).toEqual(['24.60', '0.00']);
  });

  it('under 16: one frame per year (Base 60 € incl. RO)', () => {
    // 10-year-old: 2025-03-10 → 60 − 0.03 = 59.97; 2026-03-10 (12 months) → 59.97 again
    const kid = person({ role: 'E', birthDate: '2015-01-01' });
    const { settlements } = settleAll([frame(1, '2025-03-10'), frame(2, '2026-03-10')], kid, { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['59.97', '59.97']);
  });
});

describe('hearing aids: one per ear per 4 years, class II ≤ 1 700 € per aid including the RO', () => {
  const aid = (n: number, side: 'R' | 'L', date = '2025-03-10', code = '2355002') =>
    line({ actCode: code, decompteId: `A${n}`, psSpecialty: '29', side, careStart: date, br: '400.00', expense: '2000.00', roRate: '60', roAmount: '240.00' });

  it('Option 1 class II "100 % BR + 300 €": 460.00 per ear; a second right aid within 4 years → 0', () => {
    // BR 400, RO 60 % = 240, FR 2 000: G = 400 + 300 = 700 (≤ 1 700) → AMC = min(700 − 240, 1 760) = 460
    const { settlements } = settleAll([aid(1, 'R'), aid(2, 'L'), aid(3, 'R', '2028-01-10')], person({ contracts: [OPT1] }), { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['460.00', '460.00', '0.00']);
    expect(settlements[2]!.reason).toContain('ear (R) already reimbursed on 2025-03-10; next one from 2029-03-10');
  });

  it('the 1 700 € cap includes the RO part (a grid generous enough to reach it)', () => {
    // 100 % BR + 1 500 € → G = 1 900, capped at 1 700 incl. RO → AMC = min(1 700 − 240, 1 760) = 1 460
    const rich: Grid = { ...GRIDS[OPT1]!, id: 'RICH', rules: GRIDS[OPT1]!.rules.map((r) => (r.id === 'audio.classe_2' ? { ...r, formula: [{ kind: 'pct_br', pct: '100' }, { kind: 'eur', amount: '1500.00', per: 'aid' }] } : r)) };
    const grids: GridSet = { ...GRIDS, RICH: rich };
    const s = settle(aid(1, 'R'), person({ contracts: ['RICH'] }), { ctx: { grids } });
    expect(s.amcAmount).toBe('1460.00');
    expect(s.parts[0]!.formula).toContain('capped at 1700.00 incl. RO');
  });

  it('class I 100 % Santé: no rest to pay within the PLV (950 € per ear, nomenclature price_limit)', () => {
    // FR 950: AMC = 950 − 240 = 710, rest 0. FR 2 000 (above the PLV): G = min(2 000, 950) = 950 → AMC 710, rest 2 000 − 240 − 710 = 1 050
    expect(settle(line({ ...aid(1, 'R', '2025-03-10', '2355001'), expense: '950.00' })).restToPay).toBe('0.00');
    const above = settle(aid(1, 'R', '2025-03-10', '2355001'));
    expect([above.amcAmount, above.restToPay]).toEqual(['710.00', '1050.00']);
  });
});

describe('counters per family', () => {
  it('a family-scoped count is shared by the members of one adhérent', () => {
    // a grid where "max 4 / an" counts for the whole family: 2 sessions each for two members → the 5th is refused
    const opt1 = GRIDS[OPT1]!;
    const family: Grid = { ...opt1, id: 'FAMILY', rules: opt1.rules.map((r) => (r.id === 'divers.medecine_preventive' ? { ...r, limits: [{ kind: 'count', max: 4, per: 'year', scope: 'family' }] } : r)) };
    const grids: GridSet = { ...GRIDS, FAMILY: family };
    const jean = person({ contracts: ['FAMILY'] });
    const marie = person({ nir: '2870699123789', birthDate: '1987-06-30', role: 'C', contracts: ['FAMILY'] });
    const session = (n: number, nir: string) => line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `F${n}`, nir, psSpecialty: null, careStart: `2025-0${n}-10`, br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00' });
    const requests = [1, 2, 3, 4, 5].map((n) => (n % 2 ? { line: session(n, jean.nir), beneficiary: jean } : { line: session(n, marie.nir), beneficiary: marie }));
    const { settlements } = settleAll(requests, jean, { ctx: { grids } });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['50.00', '50.00', '50.00', '50.00', '0.00']);
    expect(settlements[4]!.counters).toEqual([]);
    expect(settlements[3]!.counters[0]!.key).toBe('FAMILY|family:A001|divers.medecine_preventive|count|2025');
  });
});
