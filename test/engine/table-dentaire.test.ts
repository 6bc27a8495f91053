import { describe, expect, it } from 'vitest';
import { BASE, OPT1, OPT2, RELAXEO, line, partsOf, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Dentaire", one test per table line, each level (options alone and layered
 * on the Base). Dentist (specialty 19), RO 70 % unless said. The nomenclature gives no HLF, so
 * "dans la limite des HLF" takes the FR as within it. Prostheses: max 3 a year per tooth group,
 * beyond at 125 % BR. Then the RELAXEO-F1 dental ceiling (1 000 €, invented) then the TM only.
 */

const dentist = (over: Parameters<typeof line>[0]) => line({ psSpecialty: '19', roRate: '70', ...over });

describe('soins et prothèses 100 % Santé: no rest to pay within the HLF', () => {
  it('BR 100, RO 70 → MRn 70, FR 300 → AMC 230.00 at every level, rest 0', () => {
    const s = expectLevels(dentist({ actCode: 'D100S', br: '100.00', expense: '300.00', roAmount: '70.00' }), {
      base: '230.00', opt1: ['230.00', '0.00'], opt2: ['230.00', '0.00'],
    });
    expect(s.base.restToPay).toBe('0.00');
  });
});

describe('tarifs modérés: 280 · 380 · 480 % BR within the HLF', () => {
  it('inlay-onlay, inlay core', () => {
    // INM: BR 100, MRn 70, FR 600. Base 280 − 70 = 210.00; Opt1 380 − 70 = 310.00 (surco 100.00); Opt2 480 − 70 = 410.00 (surco 200.00)
    expectLevels(dentist({ actCode: 'INM', br: '100.00', expense: '600.00', roAmount: '70.00' }), {
      base: '210.00', opt1: ['210.00', '100.00'], opt2: ['210.00', '200.00'],
    });
  });

  it('prothèse incisive / canine / 1re prémolaire', () => {
    // PAM: BR 120, MRn 84, FR 700. Base 336 − 84 = 252.00; Opt1 456 − 84 = 372.00 (surco 120.00); Opt2 576 − 84 = 492.00 (surco 240.00)
    expectLevels(dentist({ actCode: 'PAM', br: '120.00', expense: '700.00', roAmount: '84.00' }), {
      base: '252.00', opt1: ['252.00', '120.00'], opt2: ['252.00', '240.00'],
    });
  });

  it('prothèse 2e prémolaire et molaire', () => {
    // PPM: BR 107.50, MRn 75.25, FR 700. Base 280 % = 301.00 → 225.75; Opt1 380 % = 408.50 → 333.25 (surco 107.50);
    // Opt2 480 % = 516.00 → 440.75 (surco 215.00)
    expectLevels(dentist({ actCode: 'PPM', br: '107.50', expense: '700.00', roAmount: '75.25' }), {
      base: '225.75', opt1: ['225.75', '107.50'], opt2: ['225.75', '215.00'],
    });
  });
});

describe('tarifs libres: 280 · 380 · 480 % BR (no HLF)', () => {
  it('inlay / onlay, inlay core', () => {
    // INL: BR 100, MRn 70, FR 900 → 210.00 / 310.00 / 410.00
    expectLevels(dentist({ actCode: 'INL', br: '100.00', expense: '900.00', roAmount: '70.00' }), {
      base: '210.00', opt1: ['210.00', '100.00'], opt2: ['210.00', '200.00'],
    });
  });

  it('prothèse incisive / canine / 1re prémolaire', () => {
    // PAL: BR 120, MRn 84, FR 900 → 252.00 / 372.00 / 492.00; rest with Option 2: 900 − 84 − 492 = 324.00
    const s = expectLevels(dentist({ actCode: 'PAL', br: '120.00', expense: '900.00', roAmount: '84.00' }), {
      base: '252.00', opt1: ['252.00', '120.00'], opt2: ['252.00', '240.00'],
    });
    expect(s.opt2.restToPay).toBe('324.00');
  });

  it('prothèse 2e prémolaire et molaire', () => {
    // PPL: BR 107.50, MRn 75.25, FR 900 → 225.75 / 333.25 / 440.75
    expectLevels(dentist({ actCode: 'PPL', br: '107.50', expense: '900.00', roAmount: '75.25' }), {
      base: '225.75', opt1: ['225.75', '107.50'], opt2: ['225.75', '215.00'],
    });
  });
});

describe('max 3 prostheses a year per tooth group, the 4th at 125 % BR', () => {
  const crown = (n: number, code: string, br: string, ro: string) => dentist({ actCode: code, decompteId: `P${n}`, careStart: `2025-0${n}-03`, br, expense: '900.00', roAmount: ro });

  it('anterior, Option 2 alone: three at 480 %, the 4th at 125 %', () => {
    // PAL BR 120: 576 − 84 = 492.00 × 3; 4th: 125 % × 120 = 150 → 150 − 84 = 66.00
    const { settlements } = settleAll([1, 2, 3, 4].map((n) => crown(n, 'PAL', '120.00', '84.00')), person({ contracts: [OPT2] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['492.00', '492.00', '492.00', '66.00']);
    expect(settlements[3]!.reason).toContain('yearly limit of 3 acts reached for dentaire.protheses_anterieures (3 before this line), the rest is paid at the rate beyond the limit');
  });

  it('posterior, Base + Option 1: the 4th at 125 % BR rounded half up, split socle/surco', () => {
    // PPM BR 107.50, MRn 75.25. 1st–3rd: socle 225.75, surco 107.50.
    // 4th: 125 % × 107.50 = 134.375 → 134.38 → AMC = 134.38 − 75.25 = 59.13 at both levels → socle 59.13, surco 0.00
    const { settlements } = settleAll([1, 2, 3, 4].map((n) => crown(n, 'PPM', '107.50', '75.25')), person({ contracts: [BASE, OPT1] }));
    expect(settlements.map(partsOf)).toEqual([
      ...Array(3).fill(['CCN-HLA-BASE=225.75', 'CCN-HLA-OPT1=107.50']),
      ['CCN-HLA-BASE=59.13', 'CCN-HLA-OPT1=0.00'],
    ]);
  });

  it('a line split by the count limit never pays more than its FR − MRn: each unit rounded on its own paid a cent of the majoration hors parcours', () => {
    // Found by properties.test.ts (seed 1818357143). Two PPM lines of 2 units on the same day, Base.
    // The 1st (BR 0) takes 2 of the 3 acts of the year; the 2nd: 1 unit within, 1 beyond the limit.
    // 2nd: BR = FR 561.96, RO 30 % hors parcours (168.59), normal rate 70 % → MRn = 561.96 × 70 % = 393.372 → 393.37.
    // Per unit: FR 280.98, MRn share 393.37 / 2 = 196.685. Within: 280 % × 280.98 = 786.74; min(786.74 − 196.685, 280.98 − 196.685)
    // = 84.295; beyond: 125 % × 280.98 = 351.23 → the same min, 84.295. Each part rounded half up on its own: 84.30 + 84.30 = 168.60
    // (the bug). The 2 units as a whole: FR − MRn = 561.96 − 393.37 = 168.59 → AMC 168.59,
    // rest 561.96 − 168.59 (RO) − 168.59 = 224.78 = the majoration BR × (70 − 30) % = 224.784 → 224.78, left to the patient whole.
    const ppm = (n: number, amounts: Partial<Parameters<typeof line>[0]>) =>
      dentist({ decompteId: `P${n}`, actCode: 'PPM', side: 'R', quantity: 2, careStart: '2024-06-01', careEnd: '2024-06-01', pathway: n === 1 ? 'H' : 'I', pf: '0.00', franchise: '0.00', ...amounts });
    const { settlements } = settleAll(
      [ppm(0, { expense: '0.00', br: '0.00', roAmount: '0.00' }), ppm(1, { expense: '561.96', br: '561.96', roRate: '30', roAmount: '168.59' })],
      person({ contracts: [BASE], start: '2024-01-01' }),
      { ctx: { asOf: '2024-07-01' } },
    );
    const split = settlements[1]!;
    expect(split.amcAmount).toBe('168.59');
    expect(split.restToPay).toBe('224.78');
    expect(split.parts[0]!.formula).toContain('2 units at most FR − MRn = 168.59');
  });

  it('a new calendar year starts a new count', () => {
    // three PAL in 2025, the 4th on 2026-01-05 → the first of 2026 → Base 252.00
    const lines = [1, 2, 3].map((n) => crown(n, 'PAL', '120.00', '84.00'));
    const next = { ...crown(4, 'PAL', '120.00', '84.00'), careStart: '2026-01-05', careEnd: '2026-01-05' };
    const { settlements } = settleAll([...lines, next], person(), { ctx: { asOf: '2026-02-01' } });
    expect(settlements[3]!.amcAmount).toBe('252.00');
  });
});

describe('prothèses non remboursées: 226 · 276 · 326 € per act', () => {
  it('FR 1 000, no RO', () => {
    // Base 226.00; Opt1 276.00 (surco 50.00); Opt2 326.00 (surco 100.00)
    expectLevels(dentist({ actCode: 'PNR', br: '0.00', expense: '1000.00', roRate: '0', roAmount: '0.00' }), {
      base: '226.00', opt1: ['226.00', '50.00'], opt2: ['226.00', '100.00'],
    });
  });
});

describe('soins dentaires: 280 % BR at every level', () => {
  it('BR 40, MRn 28, FR 120: G = 112 → 84.00', () => {
    expectLevels(dentist({ actCode: 'SDE', br: '40.00', expense: '120.00', roAmount: '28.00' }), {
      base: '84.00', opt1: ['84.00', '0.00'], opt2: ['84.00', '0.00'],
    });
  });
});

describe('parodontologie', () => {
  it('remboursée: 280 · 380 · 480 % BR', () => {
    // TDS: BR 50, MRn 35, FR 400 → 140 − 35 = 105.00; 190 − 35 = 155.00 (surco 50.00); 240 − 35 = 205.00 (surco 100.00)
    expectLevels(dentist({ actCode: 'TDS', br: '50.00', expense: '400.00', roAmount: '35.00' }), {
      base: '105.00', opt1: ['105.00', '50.00'], opt2: ['105.00', '100.00'],
    });
  });

  it('non remboursée: 86 € per act', () => {
    // PDN FR 150 → 86.00 at every level; rest 64.00
    const s = expectLevels(dentist({ actCode: 'PDN', br: '0.00', expense: '150.00', roRate: '0', roAmount: '0.00' }), {
      base: '86.00', opt1: ['86.00', '0.00'], opt2: ['86.00', '0.00'],
    });
    expect(s.base.restToPay).toBe('64.00');
  });
});

describe('orthodontie', () => {
  it('remboursée (RO 100 %): 350 · 400 · 450 % BR', () => {
    // TO per semester: BR 193.50, RO 100 % → MRn 193.50, FR 1 000
    // Base 350 % = 677.25 → 483.75; Opt1 400 % = 774.00 → 580.50 (surco 96.75); Opt2 450 % = 870.75 → 677.25 (surco 193.50)
    expectLevels(dentist({ actCode: 'TO', br: '193.50', expense: '1000.00', roRate: '100', roAmount: '193.50' }, ), {
      base: '483.75', opt1: ['483.75', '96.75'], opt2: ['483.75', '193.50'],
    }, { role: 'E', birthDate: '2012-06-01' });
  });

  it('non remboursée: 406 € per semester', () => {
    // TON FR 600 → 406.00 at every level; 2 semesters in one line (FR 1 200) → 812.00
    expectLevels(dentist({ actCode: 'TON', br: '0.00', expense: '600.00', roRate: '0', roAmount: '0.00' }), {
      base: '406.00', opt1: ['406.00', '0.00'], opt2: ['406.00', '0.00'],
    });
    expect(settle(dentist({ actCode: 'TON', quantity: 2, br: '0.00', expense: '1200.00', roRate: '0', roAmount: '0.00' })).amcAmount).toBe('812.00');
  });
});

describe('implant dentaire: 452 · 617 · 800 € per implant', () => {
  it('one implant, FR 1 200', () => {
    // Base 452.00; Opt1 617.00 (surco 165.00); Opt2 800.00 (surco 348.00)
    expectLevels(dentist({ actCode: 'IMP', br: '0.00', expense: '1200.00', roRate: '0', roAmount: '0.00' }), {
      base: '452.00', opt1: ['452.00', '165.00'], opt2: ['452.00', '348.00'],
    });
  });

  it('two implants, FR 1 500: Option 2 2 × 800 = 1 600 is bounded by the FR → 1 500.00', () => {
    expect(settle(dentist({ actCode: 'IMP', quantity: 2, br: '0.00', expense: '1500.00', roRate: '0', roAmount: '0.00' }), person({ contracts: [OPT2] })).amcAmount).toBe('1500.00');
  });
});

describe('RELAXEO-F1 dental ceiling (1 000 € per insurance year, invented), then the TM only', () => {
  // effective date 2025-01-10: insurance year 1 = 2025-01-10 … 2026-01-09
  const member = person({ contracts: [RELAXEO], start: '2025-01-10' });
  const implant = (n: number) => dentist({ actCode: 'IMP', decompteId: `I${n}`, careStart: `2025-0${n + 1}-05`, br: '0.00', expense: '1200.00', roRate: '0', roAmount: '0.00' });
  const molar = (n: number, date: string) => dentist({ actCode: 'PPL', decompteId: `M${n}`, careStart: date, br: '107.50', expense: '900.00', roAmount: '75.25' });

  it('implants, then crowns: the ceiling, then the TM; an implant past the ceiling gets nothing', () => {
    // 4 implants: 200 € each on top of the RO (none) → 200.00 × 4 = 800 used
    // crown PPL: 200 % × 107.50 = 215 → 215 − 75.25 = 139.75 → 939.75 used
    // next crown: 60.25 left, TM = 107.50 − 75.25 = 32.25 → max(min(139.75, 60.25), 32.25) = 60.25 → 1 000 used
    // next crown: ceiling reached → the TM 32.25; a 5th implant: no rate beyond the ceiling → 0
    const lines = [implant(1), implant(2), implant(3), implant(4), molar(1, '2025-07-01'), molar(2, '2025-08-01'), molar(3, '2025-09-01'), { ...implant(5), careStart: '2025-10-01', careEnd: '2025-10-01' }];
    const { settlements } = settleAll(lines, member);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['200.00', '200.00', '200.00', '200.00', '139.75', '60.25', '32.25', '0.00']);
    expect(settlements[6]!.reason).toContain('yearly ceiling dentaire.plafond of 1000.00 reached');
    expect(settlements[7]!.status).toBe('zero');
  });

  it('the ceiling is per insurance year: 2026-01-10 starts afresh, 2026-01-09 does not', () => {
    const lines = [implant(1), implant(2), implant(3), implant(4), implant(5)];
    const { state } = settleAll(lines, member);
    const ctx = { asOf: '2026-02-01' };
    // 1 000 used in year 1: a crown on 2026-01-09 → TM 32.25; on 2026-01-10 → 139.75
    expect(settle(molar(9, '2026-01-09'), member, { state, ctx }).amcAmount).toBe('32.25');
    expect(settle(molar(9, '2026-01-10'), member, { state, ctx }).amcAmount).toBe('139.75');
  });
});
