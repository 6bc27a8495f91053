import { describe, expect, it } from 'vitest';
import { SettlementSchema } from '../../src/model/settlement.js';
import { BASE, OPT1, OPT2, line, partsOf, person, settle, settleAll } from './helpers.js';

/** domain.md §3: the four worked examples of the CCN seed, care in 2025, PMSS 3 925 €. */

describe('domain.md §3 example 1 — GP, OPTAM, G', () => {
  // Given BR 30, FR 40, RO 70 % → MRn = 30 × 70 % = 21.00, PF 2 (the RO pays 19).
  const g = line({ actCode: 'G', psDptm: true, br: '30.00', expense: '40.00', roRate: '70', roAmount: '21.00', pf: '2.00' });

  it('Base "Généralistes 100 % BR" pays 9', () => {
    // G = 100 % × 30 = 30 → AMC = min(30 − 21, 40 − 21) = min(9, 19) = 9.00
    const s = settle(g, person({ contracts: [BASE] }));
    expect(s.status).toBe('paid');
    expect(s.amcAmount).toBe('9.00');
    expect(partsOf(s)).toEqual(['CCN-HLA-BASE=9.00']);
    expect(s.parts[0]!.rule).toBe('soins.generalistes');
    expect(s.parts[0]!.formula).toContain('min(30.00 − 21.00, 40.00 − 21.00) = 9.00');
    // RO net 21 − 2 = 19; rest = 40 − 19 − 9 = 12 (10 of dépassement + the 2 € PF)
    expect(s.roAmount).toBe('19.00');
    expect(s.restToPay).toBe('12.00');
    expect(s.reason).toContain('participation forfaitaire 2.00');
    expect(s.reason).toContain('10.00 of the expense is above the guarantee');
    expect(() => SettlementSchema.parse(s)).not.toThrow();
  });

  it('Base + Option 2 DPTM 220 %: 19 in total, socle 9 + surco 10, rest = the PF', () => {
    // Option 2: G = 220 % × 30 = 66 → AMC = min(66 − 21, 40 − 21) = min(45, 19) = 19
    // Socle 9 (above); surco = 19 − 9 = 10. Rest = 40 − 19 (RO net) − 19 = 2, the PF.
    const s = settle(g, person({ contracts: [BASE, OPT2] }));
    expect(s.amcAmount).toBe('19.00');
    expect(partsOf(s)).toEqual(['CCN-HLA-BASE=9.00', 'CCN-HLA-OPT2=10.00']);
    expect(s.parts[1]!.formula).toContain('AMC(CCN-HLA-OPT2) 19.00 − AMC of the levels below 9.00 = 10.00');
    expect(s.restToPay).toBe('2.00');
    expect(s.reason).toBe('participation forfaitaire 2.00 is never covered (contrat responsable)');
  });
});

describe('domain.md §3 example 2 — specialist sector 2, not OPTAM', () => {
  it('Base + Option 1 hors DPTM 150 %: 25.20 = socle 9.45 + surco 15.75', () => {
    // Given BR 31.50, FR 80, RO 70 % → MRn = 22.05.
    // Base 100 %: G = 31.50 → AMC = min(31.50 − 22.05, 80 − 22.05) = 9.45
    // Option 1 hors DPTM 150 %: G = 47.25 → AMC = min(25.20, 57.95) = 25.20; surco = 25.20 − 9.45 = 15.75
    const cs = line({ actCode: 'CS', psSpecialty: '03', psDptm: false, br: '31.50', expense: '80.00', roAmount: '22.05' });
    const s = settle(cs, person({ contracts: [BASE, OPT1] }));
    expect(s.amcAmount).toBe('25.20');
    expect(partsOf(s)).toEqual(['CCN-HLA-BASE=9.45', 'CCN-HLA-OPT1=15.75']);
    expect(s.parts[1]!.formula).toContain('150% × BR 31.50 = 47.25');
    // rest = 80 − 22.05 − 25.20 = 32.75, all of it dépassement above 150 % BR
    expect(s.restToPay).toBe('32.75');
    expect(s.reason).toBe('32.75 of the expense is above the guarantee soins.specialistes of CCN-HLA-OPT1');
  });

  it('the same doctor with OPTAM gets the DPTM column (170 %)', () => {
    // Option 1 DPTM 170 %: G = 53.55 → AMC = min(53.55 − 22.05, 57.95) = 31.50
    const cs = line({ actCode: 'CS', psSpecialty: '03', psDptm: true, br: '31.50', expense: '80.00', roAmount: '22.05' });
    expect(settle(cs, person({ contracts: [OPT1] })).amcAmount).toBe('31.50');
  });
});

describe('domain.md §3 example 3 — single room, Option 1, 3 nights at 120 €', () => {
  it('2.40 % PMSS = 94.20 €/night → 282.60', () => {
    // 2.40 % × 3 925 = 94.20 per night; G = 3 × 94.20 = 282.60; MRn = 0 (not reimbursed)
    // AMC = min(282.60, 360) = 282.60
    const room = line({ actCode: 'CHP', psSpecialty: null, psDptm: false, careStart: '2025-04-01', careEnd: '2025-04-04', quantity: 3, br: '0.00', expense: '360.00', roRate: '0', roAmount: '0.00' });
    const s = settle(room, person({ contracts: [OPT1] }));
    expect(s.amcAmount).toBe('282.60');
    expect(s.parts[0]!.formula).toContain('2.40% PMSS 3925.00 = 94.20 per night × 3 = 282.60');
    expect(s.restToPay).toBe('77.40');
  });

  it('layered on the Base (1.46 % PMSS = 57.31/night): socle 171.93 + surco 110.67', () => {
    // Base: 1.46 % × 3 925 = 57.305 → 57.31 per night (half up), × 3 = 171.93
    // surco = 282.60 − 171.93 = 110.67
    const room = line({ actCode: 'CHP', psSpecialty: null, quantity: 3, careEnd: '2025-03-13', br: '0.00', expense: '360.00', roRate: '0', roAmount: '0.00' });
    expect(partsOf(settle(room, person({ contracts: [BASE, OPT1] })))).toEqual(['CCN-HLA-BASE=171.93', 'CCN-HLA-OPT1=110.67']);
  });
});

describe('domain.md §3 example 4 — osteopath, Option 1 "50 € par séance (max 4 / an)"', () => {
  const session = (n: number) => line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `INV${n}`, psSpecialty: null, psDptm: false, careStart: `2025-0${n}-15`, br: '0.00', expense: '60.00', roRate: '0', roAmount: '0.00' });

  it('pays 50 for each of the first four sessions of the year and 0 for the fifth', () => {
    // FR 60, no RO: G = 50 → AMC = min(50, 60) = 50, four times; the fifth: count 4/4 reached → 0
    const { settlements } = settleAll([1, 2, 3, 4, 5].map(session), person({ contracts: [OPT1] }));
    expect(settlements.map((s) => s.amcAmount)).toEqual(['50.00', '50.00', '50.00', '50.00', '0.00']);
    const fifth = settlements[4]!;
    expect(fifth.status).toBe('zero');
    expect(fifth.reason).toContain('yearly limit of 4 sessions reached for divers.medecine_preventive (4 before this line)');
    expect(settlements[3]!.counters).toEqual([{ key: 'CCN-HLA-OPT1|1850375123456-1|divers.medecine_preventive|count|2025', before: '3', after: '4' }]);
  });

  it('a new calendar year starts a new count', () => {
    // CCN counts per calendar year: a session on 2026-01-05 is the first of 2026 → 50
    const lines = [1, 2, 3, 4, 5].map(session);
    const nextYear = line({ ...session(6), decompteId: 'INV6', careStart: '2026-01-05', careEnd: '2026-01-05' });
    const { settlements } = settleAll([...lines, nextYear], person({ contracts: [OPT1] }), { ctx: { asOf: '2026-02-01' } });
    expect(settlements[5]!.amcAmount).toBe('50.00');
  });

  it('layered Base (30 €, max 4) + Option 2 (60 €, max 5): the fifth session is paid by the surco alone', () => {
    // sessions 1–4: socle 30, surco 60 − 30 = 30; session 5: socle 0 (its 4 are used), surco 60 − 0 = 60
    const { settlements } = settleAll([1, 2, 3, 4, 5].map(session), person({ contracts: [BASE, OPT2] }));
    expect(settlements.map(partsOf)).toEqual([
      ...Array(4).fill(['CCN-HLA-BASE=30.00', 'CCN-HLA-OPT2=30.00']),
      ['CCN-HLA-BASE=0.00', 'CCN-HLA-OPT2=60.00'],
    ]);
  });
});
