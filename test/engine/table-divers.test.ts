import { describe, expect, it } from 'vitest';
import { BASE, OPT1, OPT2, RELAXEO, line, partsOf, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Divers", one test per table line, each level (options alone and layered on
 * the Base). Non-reimbursed acts come on paid invoices (hors NOEMIE, no RO). PMSS 2025 = 3 925 €.
 * Then the RELAXEO-F1 insurance-year forfaits (25 € a session, 3 a year, invented).
 */

const invoice = (over: Parameters<typeof line>[0]) =>
  line({ source: 'invoice', caisse: null, psSpecialty: null, psDptm: false, br: '0.00', roRate: '0', roAmount: '0.00', ...over });

describe('ostéodensitométrie prescrite et remboursée: 100 % BR', () => {
  it('BR 39.96, RO 70 % → MRn 27.972 → 27.97 (half up), FR 39.96 → AMC 11.99 at every level', () => {
    expectLevels(line({ actCode: 'OST', psSpecialty: '06', br: '39.96', expense: '39.96', roAmount: '27.97' }), {
      base: '11.99', opt1: ['11.99', '0.00'], opt2: ['11.99', '0.00'],
    });
  });
});

describe('prime de naissance: – · – · 10 % PMSS per child', () => {
  it('twins: 2 × 392.50 = 785.00 by Option 2 alone; Base and Option 1 zero with the reason', () => {
    // 10 % × 3 925 = 392.50 per child, quantity 2, FR 1 000
    const s = expectLevels(invoice({ actCode: 'NAIS', quantity: 2, expense: '1000.00' }), {
      base: '0.00', opt1: ['0.00', '0.00'], opt2: ['0.00', '785.00'],
    });
    expect(s.base.status).toBe('zero');
    expect(s.base.reason).toContain('CCN-HLA-BASE does not cover divers.prime_naissance');
    expect(s.opt1Alone.reason).toContain('CCN-HLA-OPT1 does not cover divers.prime_naissance');
  });
});

describe('diététicien, enfant de moins de 12 ans: – · 30 € a year · 30 € a year', () => {
  const kid = { role: 'E' as const, birthDate: '2016-05-01' };

  it('a 8-year-old, FR 45: Base 0, Options 30.00', () => {
    const s = expectLevels(invoice({ actCode: 'DIET', expense: '45.00' }), { base: '0.00', opt1: ['0.00', '30.00'], opt2: ['0.00', '30.00'] }, kid);
    expect(s.base.reason).toContain('CCN-HLA-BASE does not cover divers.dieteticien');
    // 12 on the date of care (born 2013-03-10) → the condition fails at Option 2
    const twelve = settle(invoice({ actCode: 'DIET', expense: '45.00' }), person({ role: 'E', birthDate: '2013-03-10', contracts: [OPT2] }));
    expect(twelve.status).toBe('zero');
    expect(twelve.reason).toBe('CCN-HLA-OPT2, divers.dieteticien: the guarantee is for beneficiaries under 12, this one is 12');
  });
});

describe('dépistage ostéoporose, 45 à 59 ans: – · 50 € a year · 50 € a year', () => {
  const test = (n = 1, date = '2025-03-10') => invoice({ actCode: 'DOST', decompteId: `O${n}`, careStart: date, careEnd: date, expense: '80.00' });

  it('aged 50: Base 0, Options 50.00; a second test the same year gets nothing', () => {
    expectLevels(test(), { base: '0.00', opt1: ['0.00', '50.00'], opt2: ['0.00', '50.00'] }, { birthDate: '1975-01-01' });
    const { settlements } = settleAll([test(1), test(2, '2025-09-10')], person({ birthDate: '1975-01-01', contracts: [OPT1] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['50.00', '0.00']);
    expect(settlements[1]!.reason).toContain('yearly forfait divers.depistage_osteoporose already used up');
  });

  it('the band is 45 to 59 inclusive on the date of care', () => {
    const at = (birthDate: string) => settle(test(), person({ birthDate, contracts: [OPT2] })).amcAmount;
    expect(at('1980-03-10')).toBe('50.00'); // 45 on the day
    expect(at('1980-03-11')).toBe('0.00'); // 44
    expect(at('1965-03-11')).toBe('50.00'); // 59
    expect(at('1965-03-10')).toBe('0.00'); // 60
  });
});

describe('médecine préventive: 30 € (max 4) · 50 € (max 4) · 60 € (max 5) per session', () => {
  // one count for the five practitioners (our reading)
  const codes = ['OSTEO', 'ETIO', 'CHIRO', 'PSYT', 'ACUP', 'OSTEO'];
  const session = (n: number) => invoice({ actCode: codes[n - 1]!, decompteId: `S${n}`, careStart: `2025-0${n}-12`, careEnd: `2025-0${n}-12`, expense: '70.00' });

  it('one session, FR 70: Base 30.00; Opt1 50.00 (surco 20.00); Opt2 60.00 (surco 30.00)', () => {
    expectLevels(session(1), { base: '30.00', opt1: ['30.00', '20.00'], opt2: ['30.00', '30.00'] });
  });

  it('Base: the 5th session of the year → zero with the reason', () => {
    const { settlements } = settleAll([1, 2, 3, 4, 5].map(session));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['30.00', '30.00', '30.00', '30.00', '0.00']);
    expect(settlements[4]!.status).toBe('zero');
    expect(settlements[4]!.reason).toContain('yearly limit of 4 sessions reached for divers.medecine_preventive (4 before this line)');
  });

  it('Option 2 alone: five sessions at 60, the 6th → zero', () => {
    const { settlements } = settleAll([1, 2, 3, 4, 5, 6].map(session), person({ contracts: [OPT2] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['60.00', '60.00', '60.00', '60.00', '60.00', '0.00']);
    expect(settlements[5]!.reason).toContain('yearly limit of 5 sessions reached');
  });

  it('Base + Option 1 (both max 4): the 5th → zero at both levels', () => {
    const { settlements } = settleAll([1, 2, 3, 4, 5].map(session), person({ contracts: [BASE, OPT1] }));
    expect(partsOf(settlements[3]!)).toEqual(['CCN-HLA-BASE=30.00', 'CCN-HLA-OPT1=20.00']);
    expect(partsOf(settlements[4]!)).toEqual(['CCN-HLA-BASE=0.00', 'CCN-HLA-OPT1=0.00']);
    expect(settlements[4]!.status).toBe('zero');
  });

  it('a session cheaper than the forfait: FR 40 → 40.00 at Option 2 (socle 30, surco 10)', () => {
    expectLevels({ ...session(1), expense: '40.00' }, { base: '30.00', opt1: ['30.00', '10.00'], opt2: ['30.00', '10.00'] });
  });
});

describe('RELAXEO-F1 médecine préventive: 25 € a session on top of the RO, 3 per insurance year', () => {
  it('the count restarts on the anniversary of the effective date (2025-06-15), not on 1 January', () => {
    const member = person({ contracts: [RELAXEO], start: '2025-06-15' });
    const at = (n: number, date: string) => invoice({ actCode: 'CHIRO', decompteId: `R${n}`, careStart: date, careEnd: date, expense: '60.00' });
    // year 1 = 2025-06-15 … 2026-06-14: 3 × 25; 2026-03-01 (4th, still year 1) → 0; 2026-06-15 (year 2) → 25
    const { settlements } = settleAll(
      [at(1, '2025-07-01'), at(2, '2025-09-01'), at(3, '2025-12-20'), at(4, '2026-03-01'), at(5, '2026-06-15')],
      member, { ctx: { asOf: '2026-07-01' } },
    );
    expect(settlements.map((s) => s.amcAmount)).toEqual(['25.00', '25.00', '25.00', '0.00', '25.00']);
    expect(settlements[4]!.counters[0]!.key).toBe('RELAXEO-F1|1850375123456-1|divers.medecine_preventive|count|2026-06-15');
  });

  it('acts the RELAXEO table does not list → zero with the reason (cures thermales "–", prime de naissance)', () => {
    const b = person({ contracts: [RELAXEO] });
    expect(settle(invoice({ actCode: 'NAIS', expense: '500.00' }), b).reason).toBe('RELAXEO-F1 has no guarantee for divers.prime_naissance (act NAIS)');
    const cure = settle(line({ actCode: 'STH', br: '100.00', expense: '600.00', roRate: '65', roAmount: '65.00' }), b);
    expect(cure.status).toBe('zero');
    expect(cure.reason).toContain('RELAXEO-F1 does not cover soins.cures_thermales');
  });
});
