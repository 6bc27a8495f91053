import { describe, expect, it } from 'vitest';
import { BASE, OPT1, OPT2, line, partsOf, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Soins courants", one test per table line, each level (options alone and
 * layered on the Base), DPTM and hors DPTM where the cell has two values. Care in town
 * (NOEMIE line with a specialty), 2025, PMSS 3 925 €.
 *   MRn = BR × normal RO rate; AMC = max(0, min(G − MRn, FR − MRn))
 */

describe('généralistes: 100/100 · 170/150 · 220/200 % BR', () => {
  // G: BR 30, RO 70 % → MRn 21, FR 70 (FR − MRn = 49)
  const g = (dptm: boolean) => line({ actCode: 'G', psDptm: dptm, br: '30.00', expense: '70.00', roAmount: '21.00' });

  it('DPTM', () => {
    // Base 100 %: 30 − 21 = 9.00; Opt1 170 %: 51 − 21 = 30.00 (surco 21.00); Opt2 220 %: 66 − 21 = 45.00 (surco 36.00)
    const s = expectLevels(g(true), { base: '9.00', opt1: ['9.00', '21.00'], opt2: ['9.00', '36.00'] });
    // rest with Option 2: 70 − 21 − 45 = 4.00, above 220 % BR
    expect(s.opt2.restToPay).toBe('4.00');
  });

  it('hors DPTM', () => {
    // Base 9.00; Opt1 150 %: 45 − 21 = 24.00 (surco 15.00); Opt2 200 %: 60 − 21 = 39.00 (surco 30.00)
    expectLevels(g(false), { base: '9.00', opt1: ['9.00', '15.00'], opt2: ['9.00', '30.00'] });
  });

  it('a visit (VG) is the same poste', () => {
    // VG BR 40, RO 28, FR 40, Opt2 DPTM: G = 88 → AMC = min(60, 12) = 12.00
    expect(settle(line({ actCode: 'VG', br: '40.00', expense: '40.00', roAmount: '28.00' }), person({ contracts: [OPT2] })).amcAmount).toBe('12.00');
  });
});

describe('spécialistes: 100/100 · 170/150 · 220/200 % BR', () => {
  // CS: BR 31.50, RO 70 % → MRn 22.05, FR 100 (FR − MRn = 77.95)
  const cs = (dptm: boolean) => line({ actCode: 'CS', psSpecialty: '03', psDptm: dptm, br: '31.50', expense: '100.00', roAmount: '22.05' });

  it('DPTM', () => {
    // Base 9.45; Opt1 170 % = 53.55 → 31.50 (surco 22.05); Opt2 220 % = 69.30 → 47.25 (surco 37.80)
    expectLevels(cs(true), { base: '9.45', opt1: ['9.45', '22.05'], opt2: ['9.45', '37.80'] });
  });

  it('hors DPTM', () => {
    // Opt1 150 % = 47.25 → 25.20 (surco 15.75); Opt2 200 % = 63.00 → 40.95 (surco 31.50)
    expectLevels(cs(false), { base: '9.45', opt1: ['9.45', '15.75'], opt2: ['9.45', '31.50'] });
  });
});

describe('actes de chirurgie, actes techniques médicaux (town): 100/100 · 170/150 · 220/200 % BR', () => {
  // ATM: BR 50, RO 70 % → MRn 35, FR 150
  const atm = (dptm: boolean) => line({ actCode: 'ATM', psSpecialty: '07', psDptm: dptm, br: '50.00', expense: '150.00', roAmount: '35.00' });

  it('DPTM', () => {
    // Base 15.00; Opt1 85 → 50.00 (surco 35.00); Opt2 110 → 75.00 (surco 60.00)
    const s = expectLevels(atm(true), { base: '15.00', opt1: ['15.00', '35.00'], opt2: ['15.00', '60.00'] });
    expect(s.base.poste).toBe('soins.actes_techniques');
  });

  it('hors DPTM', () => {
    // Opt1 150 % = 75 → 40.00 (surco 25.00); Opt2 200 % = 100 → 65.00 (surco 50.00)
    expectLevels(atm(false), { base: '15.00', opt1: ['15.00', '25.00'], opt2: ['15.00', '50.00'] });
  });
});

describe('imagerie médicale, échographie: 100/100 · 170/150 · 220/200 % BR', () => {
  // ADI: BR 40, RO 70 % → MRn 28, FR 120
  const adi = (dptm: boolean, code = 'ADI') => line({ actCode: code, psSpecialty: '06', psDptm: dptm, br: '40.00', expense: '120.00', roAmount: '28.00' });

  it('DPTM (imagerie and échographie alike)', () => {
    // Base 12.00; Opt1 68 → 40.00 (surco 28.00); Opt2 88 → 60.00 (surco 48.00)
    expectLevels(adi(true), { base: '12.00', opt1: ['12.00', '28.00'], opt2: ['12.00', '48.00'] });
    expectLevels(adi(true, 'ADE'), { base: '12.00', opt1: ['12.00', '28.00'], opt2: ['12.00', '48.00'] });
  });

  it('hors DPTM', () => {
    // Opt1 60 → 32.00 (surco 20.00); Opt2 80 → 52.00 (surco 40.00)
    expectLevels(adi(false), { base: '12.00', opt1: ['12.00', '20.00'], opt2: ['12.00', '40.00'] });
  });
});

describe('100 % BR rows', () => {
  it('analyses et examens de laboratoire', () => {
    // B: BR 25, RO 60 % → MRn 15, FR 25, PF 1 (RO net 14) → AMC 10.00 everywhere; rest 1.00 = the PF
    const s = expectLevels(line({ actCode: 'B', psSpecialty: '30', br: '25.00', expense: '25.00', roRate: '60', roAmount: '15.00', pf: '1.00' }), {
      base: '10.00', opt1: ['10.00', '0.00'], opt2: ['10.00', '0.00'],
    });
    expect(s.opt2.restToPay).toBe('1.00');
    expect(s.opt2.reason).toBe('participation forfaitaire 1.00 is never covered (contrat responsable)');
  });

  it('auxiliaires médicaux: 100 · 100 · 150 % BR', () => {
    // AMK: BR 20, RO 60 % → MRn 12, franchise 1 (RO net 11), FR 30
    // Base/Opt1: G = 20 → 8.00; Opt2 150 %: G = 30 → min(18, 18) = 18.00 (surco 10.00)
    const s = expectLevels(line({ actCode: 'AMK', psSpecialty: '26', br: '20.00', expense: '30.00', roRate: '60', roAmount: '12.00', franchise: '1.00' }), {
      base: '8.00', opt1: ['8.00', '0.00'], opt2: ['8.00', '10.00'],
    });
    // rest with Option 2: 30 − 11 − 18 = 1.00, the franchise
    expect(s.opt2.restToPay).toBe('1.00');
    expect(s.opt2.reason).toBe('franchise médicale 1.00 is never covered (contrat responsable)');
    // AMI (nurse) is the same row: BR 15, MRn 9, FR 15 → 6.00; Opt2 150 % = 22.50 → min(13.50, 6) = 6.00
    expectLevels(line({ actCode: 'AMI', psSpecialty: '24', br: '15.00', expense: '15.00', roRate: '60', roAmount: '9.00' }), {
      base: '6.00', opt1: ['6.00', '0.00'], opt2: ['6.00', '0.00'],
    });
  });

  it('sage-femme', () => {
    // SF: BR 25, RO 70 % → MRn 17.50, FR 25 → 7.50
    expectLevels(line({ actCode: 'SF', psSpecialty: '21', br: '25.00', expense: '25.00', roAmount: '17.50' }), {
      base: '7.50', opt1: ['7.50', '0.00'], opt2: ['7.50', '0.00'],
    });
  });

  it('médicaments remboursés (65 %, 30 %, 15 %)', () => {
    // BR = FR = 10 per box. PH7: MRn 6.50 → 3.50; PH4: MRn 3.00 → 7.00; PH2: MRn 1.50 → 8.50
    const box = (code: string, rate: string, ro: string) => line({ actCode: code, psSpecialty: '50', br: '10.00', expense: '10.00', roRate: rate, roAmount: ro });
    expectLevels(box('PH7', '65', '6.50'), { base: '3.50', opt1: ['3.50', '0.00'], opt2: ['3.50', '0.00'] });
    expectLevels(box('PH4', '30', '3.00'), { base: '7.00', opt1: ['7.00', '0.00'], opt2: ['7.00', '0.00'] });
    expectLevels(box('PH2', '15', '1.50'), { base: '8.50', opt1: ['8.50', '0.00'], opt2: ['8.50', '0.00'] });
  });

  it('traitement anti-tabac prescrit', () => {
    // TAB: BR 20, RO 65 % → MRn 13, FR 20 → 7.00
    expectLevels(line({ actCode: 'TAB', psSpecialty: '50', br: '20.00', expense: '20.00', roRate: '65', roAmount: '13.00' }), {
      base: '7.00', opt1: ['7.00', '0.00'], opt2: ['7.00', '0.00'],
    });
  });

  it('vaccins prescrits remboursés', () => {
    // VAC: BR 12, RO 65 % → MRn 7.80, FR 12 → 4.20
    expectLevels(line({ actCode: 'VAC', psSpecialty: '50', br: '12.00', expense: '12.00', roRate: '65', roAmount: '7.80' }), {
      base: '4.20', opt1: ['4.20', '0.00'], opt2: ['4.20', '0.00'],
    });
  });
});

describe('vaccins prescrits non remboursés: – · – · 3 % PMSS a year', () => {
  const vaccine = (n: number) => line({ actCode: 'VNR', decompteId: `V${n}`, psSpecialty: '50', careStart: `2025-0${n}-05`, br: '0.00', expense: '80.00', roRate: '0', roAmount: '0.00' });

  it('Base and Option 1 pay nothing, with the reason; Option 2 pays up to 117.75 a year', () => {
    // 3 % × 3 925 = 117.75 a year. First vaccine FR 80 → 80.00 (socle 0, surco 80)
    const s = expectLevels(vaccine(1), { base: '0.00', opt1: ['0.00', '0.00'], opt2: ['0.00', '80.00'] });
    expect(s.base.status).toBe('zero');
    expect(s.base.reason).toBe('CCN-HLA-BASE does not cover soins.vaccins_non_rembourses (Vaccins prescrits non remboursés: – at this level)');
    expect(s.opt1.status).toBe('zero');
    // second vaccine the same year: 117.75 − 80 = 37.75 left → 37.75; third → 0, forfait used up
    const { settlements } = settleAll([vaccine(1), vaccine(2), vaccine(3)], person({ contracts: [OPT2] }));
    expect(settlements.map((x) => x.amcAmount)).toEqual(['80.00', '37.75', '0.00']);
    expect(settlements[2]!.reason).toContain('yearly forfait soins.vaccins_non_rembourses already used up');
  });
});

describe('appareillage et prothèses médicales: 100 · 100 · 260 % BR', () => {
  it('LPP device', () => {
    // LPA: BR 100, RO 60 % → MRn 60, FR 300. Base/Opt1: 40.00; Opt2 260 %: G = 260 → min(200, 240) = 200.00 (surco 160.00)
    expectLevels(line({ actCode: 'LPA', psSpecialty: '50', br: '100.00', expense: '300.00', roRate: '60', roAmount: '60.00' }), {
      base: '40.00', opt1: ['40.00', '0.00'], opt2: ['40.00', '160.00'],
    });
  });
});

describe('participation forfaitaire actes lourds (town)', () => {
  it('100 % FR limited to 24 €', () => {
    // PAV billed by a professional (town poste): FR 24, RO 0 → 24.00 at every level
    const s = expectLevels(line({ actCode: 'PAV', br: '24.00', expense: '24.00', roRate: '0', roAmount: '0.00' }), {
      base: '24.00', opt1: ['24.00', '0.00'], opt2: ['24.00', '0.00'],
    });
    expect(s.base.poste).toBe('soins.participation_actes_lourds');
  });
});

describe('cures thermales: 100 % BR · 100 % BR · "10 % PMSS" read as 100 % BR + 10 % PMSS a year', () => {
  const cure = (n: number) => line({ actCode: 'STH', decompteId: `C${n}`, psSpecialty: '01', careStart: `2025-0${n}-02`, br: '100.00', expense: '600.00', roRate: '65', roAmount: '65.00' });

  it('the first cure of the year', () => {
    // BR 100, MRn 65, FR 600. Base/Opt1: 35.00. Opt2: G = 100 + 392.50 = 492.50 → 427.50 (surco 392.50)
    expectLevels(cure(1), { base: '35.00', opt1: ['35.00', '0.00'], opt2: ['35.00', '392.50'] });
  });

  it('a second cure the same year: the 10 % PMSS forfait is spent, 100 % BR remains', () => {
    // budget used by cure 1 = 65 + 427.50 − 100 = 392.50 (all of it) → cure 2: G = 100 → 35.00
    const { settlements } = settleAll([cure(1), cure(2)], person({ contracts: [BASE, OPT2] }));
    expect(settlements.map(partsOf)).toEqual([
      ['CCN-HLA-BASE=35.00', 'CCN-HLA-OPT2=392.50'],
      ['CCN-HLA-BASE=35.00', 'CCN-HLA-OPT2=0.00'],
    ]);
  });
});

describe('majoration hors parcours at every level', () => {
  it('the surco does not pay the majoration either', () => {
    // CS hors parcours: RO 30 % → RO pays 9.45 on BR 31.50; MRn at the normal 70 % = 22.05; FR 31.50
    // every level: AMC = min(G − 22.05, 31.50 − 22.05) = 9.45; rest = 31.50 − 9.45 − 9.45 = 12.60 (22.05 − 9.45)
    const s = settle(line({ actCode: 'CS', pathway: 'H', br: '31.50', expense: '31.50', roRate: '30', roAmount: '9.45' }), person({ contracts: [BASE, OPT2] }));
    expect(partsOf(s)).toEqual(['CCN-HLA-BASE=9.45', 'CCN-HLA-OPT2=0.00']);
    expect(s.restToPay).toBe('12.60');
    expect(s.reason).toContain('majoration du ticket modérateur hors parcours de soins 12.60');
    expect(settle(line({ actCode: 'CS', pathway: 'H', br: '31.50', expense: '31.50', roRate: '30', roAmount: '9.45' }), person({ contracts: [OPT1] })).amcAmount).toBe('9.45');
  });
});
