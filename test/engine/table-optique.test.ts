import { describe, expect, it } from 'vitest';
import { OPT1, OPT2, line, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Optique", one test per table line, each level (options alone and layered on
 * the Base). € amounts include the RO part ("y compris le remboursement de la SS"): G = the €
 * amount, AMC = G − MRn. Class B frame and lens BR 0.05 each, RO 60 % → MRn 0.03 per element
 * (0.06 for two lenses). PMSS 2025 = 3 925 €. Adult born 1985; child born 2015 (10 in 2025).
 */

const child = { role: 'E' as const, birthDate: '2015-01-01' };
const optician = (over: Parameters<typeof line>[0]) => line({ psSpecialty: '28', roRate: '60', ...over });
const frame = (expense = '150.00') => optician({ actCode: '2202001', br: '0.05', expense, roAmount: '0.03' });
const lenses = (code: string, expense: string) => optician({ actCode: code, quantity: 2, br: '0.10', expense, roAmount: '0.06' });

describe('équipement 100 % Santé (classe A): no rest to pay within the PLV', () => {
  it('frame and lenses, adult and child, at every level', () => {
    // frame: BR 9.00, RO 60 % → MRn 5.40, FR 30 → AMC = 30 − 5.40 = 24.60, rest 0
    const s = expectLevels(optician({ actCode: '2201001', br: '9.00', expense: '30.00', roAmount: '5.40' }), {
      base: '24.60', opt1: ['24.60', '0.00'], opt2: ['24.60', '0.00'],
    });
    expect(s.opt2.restToPay).toBe('0.00');
    // 2 lenses: BR 20, MRn 12, FR 90 → 78.00 for a child too
    expectLevels(optician({ actCode: '2201011', quantity: 2, br: '20.00', expense: '90.00', roAmount: '12.00' }), {
      base: '78.00', opt1: ['78.00', '0.00'], opt2: ['78.00', '0.00'],
    }, child);
  });
});

describe('classe B monture', () => {
  it('16 and over: 100 € at every level', () => {
    // G = 100 → AMC = min(100 − 0.03, 150 − 0.03) = 99.97; surco 0
    expectLevels(frame(), { base: '99.97', opt1: ['99.97', '0.00'], opt2: ['99.97', '0.00'] });
  });

  it('under 16: 60 · 80 · 100 €', () => {
    // Base 59.97; Opt1 79.97 (surco 20.00); Opt2 99.97 (surco 40.00)
    expectLevels(frame(), { base: '59.97', opt1: ['59.97', '20.00'], opt2: ['59.97', '40.00'] }, child);
  });

  it('a frame cheaper than the forfait is paid to the FR', () => {
    // FR 70, adult: G = 100 → AMC = min(99.97, 69.97) = 69.97, rest 0
    expect(settle(frame('70.00'), person({ contracts: [OPT2] })).amcAmount).toBe('69.97');
  });
});

describe('classe B verres, 16 and over (2 lenses, FR high enough)', () => {
  it('simple: 75 · 100 · 125 € per lens', () => {
    // Base 150 − 0.06 = 149.94; Opt1 200 − 0.06 = 199.94 (surco 50.00); Opt2 250 − 0.06 = 249.94 (surco 100.00)
    expectLevels(lenses('2202011', '400.00'), { base: '149.94', opt1: ['149.94', '50.00'], opt2: ['149.94', '100.00'] });
  });

  it('complexe: 140 · 165 · 200 € per lens', () => {
    // 280 − 0.06 = 279.94; 330 − 0.06 = 329.94 (surco 50.00); 400 − 0.06 = 399.94 (surco 120.00)
    expectLevels(lenses('2202012', '800.00'), { base: '279.94', opt1: ['279.94', '50.00'], opt2: ['279.94', '120.00'] });
  });

  it('très complexe: 160 · 200 · 250 € per lens', () => {
    // 320 − 0.06 = 319.94; 400 − 0.06 = 399.94 (surco 80.00); 500 − 0.06 = 499.94 (surco 180.00)
    expectLevels(lenses('2202013', '1000.00'), { base: '319.94', opt1: ['319.94', '80.00'], opt2: ['319.94', '180.00'] });
  });
});

describe('classe B verres, under 16', () => {
  it('simple: 55 · 65 · 75 € per lens', () => {
    // 110 − 0.06 = 109.94; 130 − 0.06 = 129.94 (surco 20.00); 150 − 0.06 = 149.94 (surco 40.00)
    expectLevels(lenses('2202011', '400.00'), { base: '109.94', opt1: ['109.94', '20.00'], opt2: ['109.94', '40.00'] }, child);
  });

  it('complexe: 100 · 110 · 120 € per lens', () => {
    // 200 − 0.06 = 199.94; 219.94 (surco 20.00); 239.94 (surco 40.00)
    expectLevels(lenses('2202012', '600.00'), { base: '199.94', opt1: ['199.94', '20.00'], opt2: ['199.94', '40.00'] }, child);
  });

  it('très complexe: 120 · 130 · 140 € per lens', () => {
    // 240 − 0.06 = 239.94; 259.94 (surco 20.00); 279.94 (surco 40.00)
    expectLevels(lenses('2202013', '600.00'), { base: '239.94', opt1: ['239.94', '20.00'], opt2: ['239.94', '40.00'] }, child);
  });

  it('the age band is the age on the date of care: 16 on the day → the 16+ row', () => {
    // born 2009-03-10, care 2025-03-10: 16 → Base simple lens 16+ 75 € → 2 lenses 149.94
    expect(settle(lenses('2202011', '400.00'), person({ role: 'E', birthDate: '2009-03-10' })).amcAmount).toBe('149.94');
    // born 2009-03-11: still 15 on 2025-03-10 → 55 € → 109.94
    expect(settle(lenses('2202011', '400.00'), person({ role: 'E', birthDate: '2009-03-11' })).amcAmount).toBe('109.94');
  });
});

describe('suppléments at 160 % BR', () => {
  it("prestation d'adaptation (verres classe B)", () => {
    // BR 10, RO 60 % → MRn 6, FR 20: G = 16 → AMC = min(10, 14) = 10.00 at every level
    expectLevels(optician({ actCode: '2202020', br: '10.00', expense: '20.00', roAmount: '6.00' }), { base: '10.00', opt1: ['10.00', '0.00'], opt2: ['10.00', '0.00'] });
  });

  it('supplément verres avec filtre (classe B)', () => {
    // BR 5, MRn 3, FR 15: G = 8 → 5.00
    expectLevels(optician({ actCode: '2202030', br: '5.00', expense: '15.00', roAmount: '3.00' }), { base: '5.00', opt1: ['5.00', '0.00'], opt2: ['5.00', '0.00'] });
  });

  it('autres suppléments (prisme, antiptosis, iséiconiques)', () => {
    // BR 20, MRn 12, FR 50: G = 32 → 20.00
    expectLevels(optician({ actCode: '2202040', br: '20.00', expense: '50.00', roAmount: '12.00' }), { base: '20.00', opt1: ['20.00', '0.00'], opt2: ['20.00', '0.00'] });
  });
});

describe('lentilles', () => {
  // 5 % × 3 925 = 196.25; 7.5 % → 294.375 → 294.38; 10 % → 392.50 (yearly budgets)
  it('remboursées: 100 % BR + 5 · 7,5 · 10 % PMSS', () => {
    // BR 40, RO 60 % → MRn 24, FR 600. Base: G = 40 + 196.25 = 236.25 → 212.25
    // Opt1: 40 + 294.38 = 334.38 → 310.38 (surco 98.13); Opt2: 40 + 392.50 = 432.50 → 408.50 (surco 196.25)
    expectLevels(optician({ actCode: '2202050', br: '40.00', expense: '600.00', roAmount: '24.00' }), {
      base: '212.25', opt1: ['212.25', '98.13'], opt2: ['212.25', '196.25'],
    });
  });

  it('non remboursées: 5 · 7,5 · 10 % PMSS a year, then nothing with the reason', () => {
    // FR 500, no RO: Base 196.25; Opt1 294.38 (surco 98.13); Opt2 392.50 (surco 196.25)
    const box = (n: number) => optician({ actCode: '2202060', decompteId: `L${n}`, careStart: `2025-0${n}-01`, br: '0.00', expense: '500.00', roRate: '0', roAmount: '0.00' });
    expectLevels(box(1), { base: '196.25', opt1: ['196.25', '98.13'], opt2: ['196.25', '196.25'] });
    const { settlements } = settleAll([box(1), box(2)], person({ contracts: [OPT1] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['294.38', '0.00']);
    expect(settlements[1]!.status).toBe('zero');
    expect(settlements[1]!.reason).toContain('yearly forfait optique.lentilles_non_remboursees already used up');
  });
});

describe('lentilles: yearly budgets across lines and levels', () => {
  const box = (n: number, expense: string) => optician({ actCode: '2202050', decompteId: `K${n}`, careStart: `2025-0${n}-01`, br: '40.00', expense, roAmount: '24.00' });

  it('Base + Option 1, two boxes: each level spends its own budget, the surco pays the difference', () => {
    // box 1, FR 150: Base G = 40 + 196.25 = 236.25 → AMC = min(212.25, 126) = 126.00; budget used = 24 + 126 − 40 = 110.00
    //                Opt1 G = 40 + 294.38 → AMC = 126.00 too → surco 0.00; Opt1 budget used 110.00
    // box 2, FR 400: Base left 86.25 → G = 126.25 → AMC = 102.25; Opt1 left 184.38 → G = 224.38 → AMC = 200.38 → surco 98.13
    // over the year Option 1 paid 126 + 200.38 = 326.38 = 2 × TM 16 + 294.38 (its whole forfait)
    const { settlements } = settleAll([box(1, '150.00'), box(2, '400.00')], person({ contracts: ['CCN-HLA-BASE', OPT1] }));
    expect(settlements.map((s) => s.parts.map((p) => p.amount))).toEqual([['126.00', '0.00'], ['102.25', '98.13']]);
  });

  it('reimbursed and non-reimbursed lenses have separate budgets (two rows of the table)', () => {
    // Base: reimbursed box FR 600 → 212.25 (budget 196.25 spent); non-reimbursed box FR 500 → 196.25 from its own budget
    const other = optician({ actCode: '2202060', decompteId: 'K9', careStart: '2025-09-01', br: '0.00', expense: '500.00', roRate: '0', roAmount: '0.00' });
    expect(settleAll([box(1, '600.00'), other]).settlements.map((s) => s.amcAmount)).toEqual(['212.25', '196.25']);
  });
});

describe('chirurgie réfractive: – · – · 13 % PMSS per eye', () => {
  it('one eye, FR 1 200', () => {
    // 13 % × 3 925 = 510.25 → Base 0, Opt1 0 (both "–"), Opt2 510.25 paid by the surco alone
    const s = expectLevels(optician({ actCode: 'CRF', psSpecialty: '15', br: '0.00', expense: '1200.00', roRate: '0', roAmount: '0.00' }), {
      base: '0.00', opt1: ['0.00', '0.00'], opt2: ['0.00', '510.25'],
    });
    expect(s.opt1.status).toBe('zero');
    expect(s.opt1Alone.reason).toContain('CCN-HLA-OPT1 does not cover optique.chirurgie_refractive');
  });
});

describe('renewal (note 4)', () => {
  const dated = (n: number, date: string) => ({ ...frame(), decompteId: `F${n}`, careStart: date, careEnd: date });

  it('adult, Option 2: a second frame within 2 years → zero with the reason; after 24 months → paid', () => {
    // 2025-02-01 → 99.97; 2026-06-01 (16 months) → 0; 2027-02-01 (24 months) → 99.97
    const { settlements } = settleAll([dated(1, '2025-02-01'), dated(2, '2026-06-01'), dated(3, '2027-02-01')], person({ contracts: [OPT2] }), { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['99.97', '0.00', '99.97']);
    expect(settlements[1]!.status).toBe('zero');
    expect(settlements[1]!.reason).toContain('renewal period not over: frame already reimbursed on 2025-02-01; next one from 2027-02-01');
  });

  it('under 16, Option 1: one frame a year (80 € → 79.97); 11 months later → 0, 12 months → paid', () => {
    const kid = person({ ...child, contracts: [OPT1] });
    const { settlements } = settleAll([dated(1, '2025-02-01'), dated(2, '2026-01-01'), dated(3, '2026-02-01')], kid, { liquidatedOnCareDate: true });
    expect(settlements.map((s) => s.amcAmount)).toEqual(['79.97', '0.00', '79.97']);
    // on 2026-01-01 the child is 11 (born 2015-01-01): still the under-16 band
    expect(settlements[1]!.reason).toContain('next one from 2026-02-01 (one per 12 months at age 11)');
  });

  it('layered Base + Option 2: a refused renewal is refused by both levels', () => {
    const { settlements } = settleAll([dated(1, '2025-02-01'), dated(2, '2025-09-01')], person({ contracts: ['CCN-HLA-BASE', OPT2] }));
    expect(settlements[1]!.amcAmount).toBe('0.00');
    expect(settlements[1]!.status).toBe('zero');
  });
});
