import { describe, expect, it } from 'vitest';
import { emptyState, lineRecord, liquidate } from '../../src/engine/index.js';
import { BASE, OPT1, OPT2, RELAXEO, context, line, partsOf, person, settle } from './helpers.js';

/** Each exclusion of domain.md §2 and its plain-words reason. */

describe('what a responsible contract never covers', () => {
  it('the participation forfaitaire stays on the patient even when the guarantee could pay it', () => {
    // Given G billed at the BR: BR = FR = 30, RO 70 % = 21, PF 2 → RO net 19. Option 2 220 %: G = 66
    // AMC = min(66 − 21, 30 − 21) = 9 → rest = 30 − 19 − 9 = 2 = the PF
    const s = settle(line({ pf: '2.00' }), person({ contracts: [OPT2] }));
    expect(s.amcAmount).toBe('9.00');
    expect(s.restToPay).toBe('2.00');
    expect(s.reason).toBe('participation forfaitaire 2.00 is never covered (contrat responsable)');
  });

  it('the franchise médicale on a drug box is never covered', () => {
    // Given PH7: BR = FR = 10.00, RO 65 % = 6.50, franchise 1.00 → RO net 5.50
    // Base 100 % BR: AMC = min(10 − 6.50, 10 − 6.50) = 3.50 → rest = 10 − 5.50 − 3.50 = 1.00
    const s = settle(line({ actCode: 'PH7', psSpecialty: '50', br: '10.00', expense: '10.00', roRate: '65', roAmount: '6.50', franchise: '1.00' }));
    expect(s.amcAmount).toBe('3.50');
    expect(s.restToPay).toBe('1.00');
    expect(s.reason).toBe('franchise médicale 1.00 is never covered (contrat responsable)');
  });

  it('the majoration hors parcours de soins is never covered: MRn uses the normal rate', () => {
    // Given G outside the parcours: RO 30 % instead of 70 % → RO pays 9.00; BR = FR = 30
    // MRn = 30 × 70 % = 21 (normal rate, nomenclature) → Base AMC = min(30 − 21, 30 − 21) = 9
    // rest = 30 − 9 − 9 = 12 = the majoration (21 − 9)
    const s = settle(line({ pathway: 'H', roRate: '30', roAmount: '9.00' }));
    expect(s.amcAmount).toBe('9.00');
    expect(s.restToPay).toBe('12.00');
    expect(s.reason).toBe('majoration du ticket modérateur hors parcours de soins 12.00 (RO at 30% instead of 70%) is never covered');
  });

  it('a higher RO rate than normal (ALD at 100 %) counts as the RO part: no double payment', () => {
    // Given G at 100 % RO (ALD): RO 30; FR 40. MRn = 30 × max(70, 100) % = 30
    // Option 2: G = 66 → AMC = min(66 − 30, 40 − 30) = 10 → RO + AMC = 40 = FR
    const s = settle(line({ expense: '40.00', roRate: '100', roAmount: '30.00' }), person({ contracts: [OPT2] }));
    expect(s.amcAmount).toBe('10.00');
    expect(s.restToPay).toBe('0.00');
    expect(s.reason).toBeNull();
  });
});

describe('eligibility on the date of care', () => {
  it('care before the affiliation start is rejected', () => {
    const s = settle(line({ careStart: '2025-03-10' }), person({ start: '2025-06-01' }));
    expect(s.status).toBe('rejected');
    expect(s.amcAmount).toBe('0.00');
    expect(s.parts).toEqual([]);
    expect(s.reason).toBe('care on 2025-03-10 is before the affiliation start 2025-06-01');
    // nothing paid by the AMC: the member keeps FR − RO net = 30 − 21 = 9
    expect(s.restToPay).toBe('9.00');
  });

  it('care after the affiliation end is rejected; care on the end day is covered', () => {
    expect(settle(line({ careStart: '2025-03-10' }), person({ end: '2025-03-09' }))).toMatchObject({
      status: 'rejected', reason: 'care on 2025-03-10 is after the affiliation end 2025-03-09',
    });
    expect(settle(line({ careStart: '2025-03-10' }), person({ end: '2025-03-10' })).amcAmount).toBe('9.00');
  });

  it('care during a suspension (unpaid contributions) is rejected', () => {
    const s = settle(line({ careStart: '2025-03-10' }), person({ suspended: [{ from: '2025-03-01', to: '2025-03-31' }] }));
    expect(s.status).toBe('rejected');
    expect(s.reason).toContain('falls in a suspension of the guarantees (2025-03-01 to 2025-03-31');
    // the day after the suspension is covered again
    expect(settle(line({ careStart: '2025-04-01' }), person({ suspended: [{ from: '2025-03-01', to: '2025-03-31' }] })).amcAmount).toBe('9.00');
  });

  it('a claim more than 2 years old is time-barred (prescription), judged against asOf, not a clock', () => {
    const b = person({ start: '2022-01-01' });
    const old = settle(line({ careStart: '2023-12-30' }), b, { ctx: { asOf: '2025-12-31' } });
    expect(old.status).toBe('rejected');
    expect(old.reason).toBe('claim time-barred: care on 2023-12-30 is more than 2 years before 2025-12-31 (prescription biennale)');
    // exactly two years: still due (G in 2023 was 26.50; any amounts do here)
    expect(settle(line({ careStart: '2023-12-31' }), b, { ctx: { asOf: '2025-12-31' } }).status).toBe('paid');
  });

  it('a NOEMIE line is judged on the day the RO paid it, so a later replay does not time-bar it', () => {
    const b = person({ start: '2022-01-01' });
    // care 2023-12-30, RO paid 2024-01-15 (claimed in time), liquidated or replayed on 2026-11-23 → still due
    const inTime = settle(line({ careStart: '2023-12-30', roPaymentDate: '2024-01-15' }), b, { ctx: { asOf: '2026-11-23' } });
    expect(inTime.status).toBe('paid');
    // care 2023-12-30, RO paid 2026-01-05: more than 2 years after the care → time-barred whatever asOf
    const late = settle(line({ careStart: '2023-12-30', roPaymentDate: '2026-01-05' }), b, { ctx: { asOf: '2026-01-06' } });
    expect(late).toMatchObject({ status: 'rejected', reason: 'claim time-barred: care on 2023-12-30 is more than 2 years before 2026-01-05 (prescription biennale)' });
  });

  it('children: covered to 26 (CCN, proof assumed on file), to 26 inclusive (RELAXEO); beyond → review', () => {
    // born 1999-01-01: 26 on 2025-03-10
    const child = person({ role: 'E', birthDate: '1999-01-01', nir: '1990175123456', rang: 1 });
    const l = line({ nir: '1990175123456' });
    const ccn = settle(l, child);
    expect(ccn.status).toBe('review');
    expect(ccn.reason).toContain('child aged 26 on 2025-03-10: covered beyond 25 only when disabled');
    expect(settle(l, { ...child, birthDate: '1999-06-01' }).status).toBe('paid'); // 25
    expect(settle(l, { ...child, contracts: [RELAXEO] }).status).toBe('paid'); // "18 à 26 ans inclus"
    expect(settle(l, { ...child, contracts: [RELAXEO], birthDate: '1998-01-01' }).status).toBe('review'); // 27
  });

  it('RELAXEO formule 1 age limit at joining (90, by millésime) → review', () => {
    // start 2024 − birth 1933 = 91 > 90
    const s = settle(line(), person({ contracts: [RELAXEO], birthDate: '1933-12-31', start: '2024-01-01' }));
    expect(s.status).toBe('review');
    expect(s.reason).toContain('joined RELAXEO-F1 at 91 (by millésime), above its age limit of 90');
  });
});

describe('acts the grid does not list, and lines nobody can place', () => {
  it('a poste the grid does not list → zero with the reason (RELAXEO pays no non-reimbursed prosthesis)', () => {
    const s = settle(line({ actCode: 'PNR', psSpecialty: '19', br: '0.00', expense: '500.00', roRate: '0', roAmount: '0.00' }), person({ contracts: [RELAXEO] }));
    expect(s.status).toBe('zero');
    expect(s.poste).toBe('dentaire.prothese_non_remboursee');
    expect(s.reason).toBe('RELAXEO-F1 has no guarantee for dentaire.prothese_non_remboursee (act PNR)');
  });

  it('a "–" cell → zero at that level; the surco that covers it pays it all', () => {
    // Chirurgie réfractive, 2 eyes, FR 2 000: Base "–" → 0; Option 2 13 % PMSS per eye = 510.25 × 2 = 1 020.50
    const l = line({ actCode: 'CRF', psSpecialty: '15', quantity: 2, br: '0.00', expense: '2000.00', roRate: '0', roAmount: '0.00' });
    const alone = settle(l, person({ contracts: [BASE] }));
    expect(alone.status).toBe('zero');
    expect(alone.reason).toBe('CCN-HLA-BASE does not cover optique.chirurgie_refractive (Chirurgie réfractive: – at this level)');
    expect(partsOf(settle(l, person({ contracts: [BASE, OPT2] })))).toEqual(['CCN-HLA-BASE=0.00', 'CCN-HLA-OPT2=1020.50']);
  });

  it('conditions not met (age band) → zero with the reason', () => {
    // Diététicien: Option 1 "enfant < 12 ans"; a 14-year-old gets nothing
    const kid = person({ role: 'E', birthDate: '2010-06-01', contracts: [OPT1] });
    const s = settle(line({ actCode: 'DIET', psSpecialty: null, source: 'invoice', caisse: null, br: '0.00', expense: '45.00', roRate: '0', roAmount: '0.00' }), kid);
    expect(s.status).toBe('zero');
    expect(s.reason).toBe('CCN-HLA-OPT1, divers.dieteticien: the guarantee is for beneficiaries under 12, this one is 14');
  });

  it('an unknown beneficiary → review, never dropped; the ledger records its version and nothing consumed', () => {
    const state = emptyState();
    const out = liquidate({ line: line(), beneficiary: undefined }, context(), state);
    expect(out.settlement.status).toBe('review');
    expect(out.settlement.reason).toContain('unknown beneficiary');
    expect(out.settlement.adherentId).toBeNull();
    expect(out.state.counters).toEqual({});
    expect(out.state.renewals).toEqual({});
    expect(lineRecord(out.state, out.settlement.lineKey)).toMatchObject({ version: 1, status: 'review', consumed: [] });
  });

  it('an act code missing from the nomenclature → review', () => {
    const s = settle(line({ actCode: 'XYZ99' }));
    expect(s.status).toBe('review');
    expect(s.reason).toBe('act code XYZ99 is not in the nomenclature: no poste to apply; map it, then replay the line');
    expect(s.poste).toBeNull();
  });

  it('"constructor" is not an act code (own keys only)', () => {
    expect(settle(line({ actCode: 'constructor' })).status).toBe('review');
  });

  it('a contract without a loaded grid → review', () => {
    expect(settle(line(), person({ contracts: ['CCN-HLA-OPT9'] })).reason).toBe("the beneficiary's contract CCN-HLA-OPT9 has no guarantee grid loaded");
  });

  it('a % PMSS guarantee in a year pmss.csv lacks → review', () => {
    const room = line({ actCode: 'CHP', psSpecialty: null, careStart: '2027-02-01', br: '0.00', expense: '100.00', roRate: '0', roAmount: '0.00' });
    const s = settle(room, person({ contracts: [OPT1] }), { ctx: { asOf: '2027-03-01' } });
    expect(s.status).toBe('review');
    expect(s.reason).toContain('no PMSS for 2027');
  });
});

describe('payee', () => {
  it('tp 15 and 25 pay the professional, 00 and 05 (RO part only in TP) the member', () => {
    expect(settle(line({ tp: '15' })).payee).toBe('ps:751234567');
    expect(settle(line({ tp: '25' })).payee).toBe('ps:751234567');
    expect(settle(line({ tp: '05' })).payee).toBe('member');
    expect(settle(line({ tp: '00' })).payee).toBe('member');
  });
});
