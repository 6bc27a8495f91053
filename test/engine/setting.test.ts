import { describe, expect, it } from 'vitest';
import { BASE, OPT1, OPT2, line, partsOf, person, settle } from './helpers.js';

/**
 * Hospital or town: a NOEMIE line billed by an establishment has no specialty, and acts with a
 * hospital poste fall under it (nomenclature hospital_poste). Invoices are always in town.
 */

describe('hospital setting', () => {
  // CCAM surgery: BR 200, RO 70 % → MRn 140, FR 500, surgeon not OPTAM (hors DPTM)
  const surgery = { actCode: 'ADC', psDptm: false, br: '200.00', expense: '500.00', roAmount: '140.00' } as const;

  it('billed by the establishment: hospi.honoraires_actes, 200 % BR hors DPTM at every level', () => {
    // G = 200 % × 200 = 400 → AMC = min(400 − 140, 500 − 140) = 260.00, Base as well as Option 2
    const s = settle(line({ ...surgery, psSpecialty: null }), person({ contracts: [BASE, OPT2] }));
    expect(s.poste).toBe('hospi.honoraires_actes');
    expect(partsOf(s)).toEqual(['CCN-HLA-BASE=260.00', 'CCN-HLA-OPT2=0.00']);
  });

  it('billed by the surgeon in town: soins.actes_techniques, 100 / 150 / 200 % BR hors DPTM', () => {
    // Base 100 %: min(200 − 140, 360) = 60; Option 1 150 %: min(300 − 140, 360) = 160; Option 2 200 %: min(260, 360) = 260
    const l = line({ ...surgery, psSpecialty: '04' });
    expect(settle(l).poste).toBe('soins.actes_techniques');
    expect(settle(l, person({ contracts: [BASE] })).amcAmount).toBe('60.00');
    expect(settle(l, person({ contracts: [OPT1] })).amcAmount).toBe('160.00');
    expect(settle(l, person({ contracts: [OPT2] })).amcAmount).toBe('260.00');
  });

  it('an invoice line (no specialty code by nature) stays in town', () => {
    const l = line({ ...surgery, source: 'invoice', caisse: null, psSpecialty: null });
    expect(settle(l).poste).toBe('soins.actes_techniques');
  });

  it('forfait journalier: "100 % du forfait"', () => {
    // FJ 20 € × 5 days, RO 0 % → AMC = 100.00, rest 0
    const s = settle(line({ actCode: 'FJ', psSpecialty: null, quantity: 5, br: '100.00', expense: '100.00', roRate: '0', roAmount: '0.00' }));
    expect([s.amcAmount, s.restToPay]).toEqual(['100.00', '0.00']);
  });

  it('participation actes lourds: 100 % FR limited to the 24 € participation', () => {
    // FR 24 → 24.00; a billed 30 → still 24.00 (6.00 left to pay)
    const pav = (fr: string) => line({ actCode: 'PAV', psSpecialty: null, br: '0.00', expense: fr, roRate: '0', roAmount: '0.00' });
    expect(settle(pav('24.00')).amcAmount).toBe('24.00');
    expect(settle(pav('24.00')).poste).toBe('hospi.participation_actes_lourds');
    const over = settle(pav('30.00'));
    expect([over.amcAmount, over.restToPay]).toEqual(['24.00', '6.00']);
  });
});

describe('the FINESS of the establishment on the line (issue 10): a fee billed during a stay', () => {
  // CCAM surgery ADC billed by the surgeon himself (specialty 04, OPTAM): BR 100, RO 70 % → MRn 70, FR 250
  const fee = { actCode: 'ADC', psSpecialty: '04', psDptm: true, br: '100.00', expense: '250.00', roAmount: '70.00' } as const;

  it('with a FINESS: hospital row "Honoraires: actes de chirurgie, d\'anesthésie…", 220 % BR DPTM even in Base', () => {
    // Given the surgeon's fee carrying the clinic's FINESS, When liquidated under Base,
    // Then G = 220 % × 100 = 220.00 → AMC = min(220 − 70, 250 − 70) = 150.00
    const s = settle(line({ ...fee, finess: '750300360' }), person({ contracts: [BASE] }));
    expect([s.poste, s.parts[0]!.rule, s.amcAmount]).toEqual(['hospi.honoraires_actes', 'hospi.honoraires_actes', '150.00']);
  });

  it('the same act without a FINESS stays in town: soins.actes_techniques, Base 100 % BR', () => {
    // G = 100 % × 100 = 100.00 → AMC = min(100 − 70, 180) = 30.00
    const s = settle(line(fee), person({ contracts: [BASE] }));
    expect([s.poste, s.amcAmount]).toEqual(['soins.actes_techniques', '30.00']);
  });

  it("an anaesthetist not OPTAM with a Corsican FINESS: 200 % BR hors DPTM", () => {
    // ADA, BR 100, RO 70 → MRn 70, FR 250: G = 200 % × 100 = 200 → AMC = min(130, 180) = 130.00
    const s = settle(line({ ...fee, actCode: 'ADA', psSpecialty: '02', psDptm: false, finess: '2A0000014' }), person({ contracts: [BASE] }));
    expect([s.poste, s.amcAmount]).toEqual(['hospi.honoraires_actes', '130.00']);
  });

  it('a line without the field hashes as before the field existed (replays of old lines change nothing)', () => {
    const l = line(fee);
    expect('finess' in l).toBe(false);
  });
});
