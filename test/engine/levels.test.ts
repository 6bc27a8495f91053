import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActLine } from '../../src/model/act-line.js';
import { addDays } from '../../src/model/dates.js';
import { roundCents } from '../../src/model/money.js';
import type { Settlement } from '../../src/model/settlement.js';
import { BeneficiarySchema, type Beneficiary } from '../../src/model/reference.js';
import type { Grid } from '../../src/model/grid.js';
import { BASE, GRIDS, NOMENCLATURE, OPT1, OPT2, RELAXEO, RELAXEO2, line, partsOf, person, settle, settleAll } from './helpers.js';

/**
 * Contract levels over time (Beneficiary.contractPeriods) and the RELAXEO §2.4.1 prorating of
 * ceilings on a change of level: "Les changements de garanties (à la hausse ou à la baisse)
 * entraineront un recalcul des plafonds (proratisation). Pour les équipements en optique le plafond
 * sera recalculé en tenant compte de la période des deux ans."
 * Reading (src/engine/levels.ts, src/engine/README.md): ceiling in force on D =
 *   Σ ceiling(level) × days under that level in the window / days covered in the window,
 * the window being the year of the limits containing D (yearly ceilings) or the renewal period
 * ending on D (optics forfaits); days after D count under the level in force on D; consumption
 * carries over. RELAXEO amounts are invented (seed table was an image): F1 dental ceiling 1 000 €,
 * frame 60 €, simple lens 60 €; F2 1 500 €, 100 €, 90 €.
 */

const withPeriods = (periods: NonNullable<Beneficiary['contractPeriods']>, over: Partial<Beneficiary> = {}): Beneficiary =>
  person({ contracts: [...periods[periods.length - 1]!.contracts], contractPeriods: periods, ...over });

// Crown (PAL, tarifs libres): BR 120, RO 70 % = 84, FR 500. RELAXEO 200 % BR → G = 240,
// AMC = min(240 − 84, 500 − 84) = 156.00; past the ceiling the TM: 100 % BR − 84 = 36.00.
const crown = (n: number, date: string): ActLine =>
  line({ actCode: 'PAL', decompteId: `C${n}`, psSpecialty: '19', careStart: date, br: '120.00', expense: '500.00', roRate: '70', roAmount: '84.00' });

describe('the level in force on the date of care', () => {
  it('given periods, when a line is liquidated, then the contracts of the period containing its date apply (not `contracts`)', () => {
    const b = withPeriods([{ from: '2024-01-01', to: '2025-06-30', contracts: [RELAXEO] }, { from: '2025-07-01', to: null, contracts: [BASE] }]);
    // GP G: BR 30, RO 21, FR 30. RELAXEO 120 % DPTM: G = 36 → AMC = min(36 − 21, 30 − 21) = 9.00
    const march = settle(line({ careStart: '2025-03-10' }), b);
    expect(partsOf(march)).toEqual([`${RELAXEO}=9.00`]);
    expect(march.parts[0]!.formula).toContain(`level in force on 2025-03-10: ${RELAXEO} (period 2024-01-01 to 2025-06-30)`);
    const july = settle(line({ careStart: '2025-07-01' }), b);
    expect(partsOf(july)).toEqual([`${BASE}=9.00`]);
    expect(july.parts[0]!.formula).toContain(`level in force on 2025-07-01: ${BASE} (period from 2025-07-01)`);
    // the last day of a period is covered by it
    expect(partsOf(settle(line({ careStart: '2025-06-30' }), b))).toEqual([`${RELAXEO}=9.00`]);
  });

  it('given a gap between two periods, when the care date falls in it, then the line is rejected for no cover that date', () => {
    const b = withPeriods([{ from: '2025-01-01', to: '2025-03-31', contracts: [RELAXEO] }, { from: '2025-06-01', to: null, contracts: [RELAXEO] }], { start: '2025-01-01' });
    const gap = settle(line({ careStart: '2025-04-15' }), b);
    expect(gap.status).toBe('rejected');
    expect(gap.amcAmount).toBe('0.00');
    expect(gap.reason).toBe('no cover on 2025-04-15: no contract period of the beneficiary contains that date (periods: 2025-01-01 to 2025-03-31, from 2025-06-01)');
    // after the gap: covered again, 9.00 as above
    expect(settle(line({ careStart: '2025-06-10' }), b).amcAmount).toBe('9.00');
    // before the affiliation start the affiliation's own reason is kept
    expect(settle(line({ careStart: '2024-12-20' }), b).reason).toBe('care on 2024-12-20 is before the affiliation start 2025-01-01');
  });

  it('without periods, `contracts` applies on every date (today\'s behaviour)', () => {
    const s = settle(line({ careStart: '2025-03-10' }), person({ contracts: [OPT2] }));
    expect(partsOf(s)).toEqual([`${OPT2}=9.00`]);
    expect(s.parts[0]!.formula).not.toContain('level in force');
  });
});

describe('RELAXEO change of level in the middle of the insurance year: the dental ceiling is prorated (§2.4.1)', () => {
  // Effective date 2025-01-01: insurance year 2025-01-01..2025-12-31, 365 days;
  // 2025-01-01..2025-06-30 = 31+28+31+30+31+30 = 181 days, 2025-07-01..2025-12-31 = 184 days.
  const start = '2025-01-01';

  it('given formule 1 then formule 2 from 1 July, when crowns follow, then the ceiling is 1 252.05 and the 936.00 used under F1 carries over', () => {
    const b = withPeriods([{ from: start, to: '2025-06-30', contracts: [RELAXEO] }, { from: '2025-07-01', to: null, contracts: [RELAXEO2] }], { start });
    const h1 = ['2025-01-15', '2025-02-15', '2025-03-15', '2025-04-15', '2025-05-15', '2025-06-15'].map((d, i) => crown(i + 1, d));
    const h2 = ['2025-07-15', '2025-08-15', '2025-09-15'].map((d, i) => crown(i + 7, d));
    const { settlements } = settleAll([...h1, ...h2], b, { liquidatedOnCareDate: true });
    // H1 under F1 alone (days after the care date count under the level in force): ceiling 1 000,
    // six crowns 6 × 156 = 936.00 used.
    // From 1 July, F2: ceiling = (1 000.00 × 181 + 1 500.00 × 184) / 365 = 457 000 / 365 = 1 252.0547… → 1 252.05
    //   7th: left 1 252.05 − 936.00 = 316.05 ≥ 156 → 156.00
    //   8th: left 1 252.05 − 1 092.00 = 160.05 ≥ 156 → 156.00
    //   9th: left 1 252.05 − 1 248.00 = 4.05; TM 36.00 > 4.05 → max(4.05, 36.00) = 36.00
    // (F2's own 1 500 would have paid the 9th 156.00; without the carried 936.00 too.)
    expect(settlements.map((s) => s.amcAmount)).toEqual(['156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '36.00']);
    expect(settlements.slice(0, 6).every((s) => s.parts[0]!.contract === RELAXEO)).toBe(true);
    const ninth = settlements[8]!;
    expect(partsOf(ninth)).toEqual([`${RELAXEO2}=36.00`]);
    const f = ninth.parts[0]!.formula;
    expect(f).toContain(`level in force on 2025-09-15: ${RELAXEO2} (period from 2025-07-01)`);
    expect(f).toContain('dentaire.plafond: 936.00 used under RELAXEO-F1 carried over (level change)');
    expect(f).toContain('ceiling dentaire.plafond prorated over 2025-01-01..2025-12-31 (level change, §2.4.1): (RELAXEO-F1 1000.00 × 181 d + RELAXEO-F2 1500.00 × 184 d) / 365 d = 1252.05');
    expect(ninth.reason).toContain('yearly ceiling dentaire.plafond of 1252.05 reached (1248.00 used), paid at the rate beyond the ceiling (36.00)');
  });

  it('a line before the change keeps the ceiling of the level then in force: the later change does not reach back', () => {
    const b = withPeriods([{ from: start, to: '2025-06-30', contracts: [RELAXEO] }, { from: '2025-07-01', to: null, contracts: [RELAXEO2] }], { start });
    const h1 = ['2025-01-15', '2025-02-15', '2025-03-15', '2025-04-15', '2025-05-15', '2025-06-10', '2025-06-20'].map((d, i) => crown(i + 1, d));
    const { settlements } = settleAll(h1, b, { liquidatedOnCareDate: true });
    // Days after 2025-06-20 count under the level in force on that date (F1): ceiling 1 000, 936.00 used
    // → the 7th gets the 64.00 left (a whole-year proration with F2's half would have paid 156.00).
    expect(settlements[6]!.amcAmount).toBe('64.00');
    expect(settlements[6]!.parts[0]!.formula).not.toContain('prorated');
  });

  it('given formule 2 then formule 1 from 1 July (level down), when crowns follow, then the ceiling is 1 247.95, not F1\'s 1 000', () => {
    const b = withPeriods([{ from: start, to: '2025-06-30', contracts: [RELAXEO2] }, { from: '2025-07-01', to: null, contracts: [RELAXEO] }], { start });
    const h1 = ['2025-01-15', '2025-02-15', '2025-03-15', '2025-04-15', '2025-05-15', '2025-06-10', '2025-06-20'].map((d, i) => crown(i + 1, d));
    const h2 = ['2025-07-15', '2025-08-15'].map((d, i) => crown(i + 8, d));
    const { settlements } = settleAll([...h1, ...h2], b, { liquidatedOnCareDate: true });
    // H1 under F2 (ceiling 1 500): 7 × 156 = 1 092.00 used, all paid.
    // From 1 July, F1: ceiling = (1 500.00 × 181 + 1 000.00 × 184) / 365 = 455 500 / 365 = 1 247.9452… → 1 247.95
    //   8th: left 1 247.95 − 1 092.00 = 155.95; TM 36 < 155.95 → min(156.00, 155.95) = 155.95
    //     (F1's own 1 000 would have been exceeded already: TM 36.00)
    //   9th: left 0 → the TM, 36.00
    expect(settlements.map((s) => s.amcAmount)).toEqual(['156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '156.00', '155.95', '36.00']);
    expect(settlements[7]!.parts[0]!.formula).toContain('(RELAXEO-F2 1500.00 × 181 d + RELAXEO-F1 1000.00 × 184 d) / 365 d = 1247.95');
    expect(settlements[7]!.counters).toContainEqual({ key: `${RELAXEO}|1850375123456-1|dentaire.plafond|amount|2025-01-01`, before: '0.00', after: '155.95' });
  });
});

describe('RELAXEO change of level: a level without the ceiling', () => {
  it('given a previous level whose grid has no dental ceiling, then the ceiling in force is not prorated and the formula says why', () => {
    // A formule with the F2 rules but no dental ceiling (no such grid in the seed: built here).
    const noCeiling: Grid = { ...GRIDS[RELAXEO2]!, id: 'RELAXEO-NOCAP', rules: GRIDS[RELAXEO2]!.rules.map((r) => ({ ...r, limits: (r.limits ?? []).filter((l) => l.kind !== 'amount') })) };
    const grids = { ...GRIDS, [noCeiling.id]: noCeiling };
    const b = withPeriods([{ from: '2025-01-01', to: '2025-06-30', contracts: [noCeiling.id] }, { from: '2025-07-01', to: null, contracts: [RELAXEO] }], { start: '2025-01-01' });
    // 7 crowns under the level without ceiling: 7 × 156 = 1 092 consumed (no ceiling counter written: nothing carried)
    // then under F1 in July: F1's own 1 000, 0 used → 156.00
    const h1 = ['2025-01-15', '2025-02-15', '2025-03-15', '2025-04-15', '2025-05-15', '2025-06-10', '2025-06-20'].map((d, i) => crown(i + 1, d));
    const { settlements } = settleAll([...h1, crown(8, '2025-07-15')], b, { ctx: { grids }, liquidatedOnCareDate: true });
    expect(settlements[7]!.amcAmount).toBe('156.00');
    expect(settlements[7]!.parts[0]!.formula).toContain("ceiling dentaire.plafond not prorated: RELAXEO-NOCAP has no such ceiling, the level in force's applies");
  });
});

describe('RELAXEO change of level: yearly forfaits are prorated too', () => {
  it('given F1 (100 €) then F2 (150 €) from 1 July, when non-reimbursed lenses are bought in August, then the forfait is 125.21', () => {
    // insurance year 2025-01-01..2025-12-31: (100.00 × 181 + 150.00 × 184) / 365 = 45 700 / 365 = 125.2054… → 125.21
    // RO 0; € on top of the RO part (none) → G = 125.21, FR 300 → AMC 125.21
    const b = withPeriods([{ from: '2025-01-01', to: '2025-06-30', contracts: [RELAXEO] }, { from: '2025-07-01', to: null, contracts: [RELAXEO2] }], { start: '2025-01-01' });
    const box = line({ actCode: '2202060', source: 'invoice', caisse: null, decompteId: 'L1', psSpecialty: null, careStart: '2025-08-05', br: '0.00', expense: '300.00', roRate: '0', roAmount: '0.00' });
    const s = settle(box, b);
    expect(s.amcAmount).toBe('125.21');
    expect(s.parts[0]!.formula).toContain('yearly forfait optique.lentilles prorated over 2025-01-01..2025-12-31 (level change, §2.4.1): (RELAXEO-F1 100.00 × 181 d + RELAXEO-F2 150.00 × 184 d) / 365 d = 125.21');
  });
});

describe('RELAXEO change of level: optics forfaits prorated over the 2-year renewal period (§2.4.1)', () => {
  // Class B frame (2202001): BR 0.05, RO 60 % → MRn 0.03, FR 150. Forfaits include the RO (note b).
  const frame = (date: string) => line({ actCode: '2202001', decompteId: 'O1', psSpecialty: '28', careStart: date, br: '0.05', expense: '150.00', roRate: '60', roAmount: '0.03' });
  const lenses = (date: string) => line({ actCode: '2202011', decompteId: 'O2', psSpecialty: '28', careStart: date, quantity: 2, br: '0.10', expense: '300.00', roRate: '60', roAmount: '0.06' });
  const b = withPeriods([{ from: '2023-01-01', to: '2025-06-30', contracts: [RELAXEO] }, { from: '2025-07-01', to: null, contracts: [RELAXEO2] }], { start: '2023-01-01' });

  it('given F1 then F2 from 1 July 2025, when a frame is bought on 1 September 2025, then its forfait is (60 × 668 + 100 × 63) / 731 = 63.45', () => {
    // Window: the 24 months ending on the care date, 2023-09-02..2025-09-01 = 366 + 365 = 731 days.
    // F1 2023-09-02..2025-06-30: 366 (to 2024-09-01) + 302 (2024-09-02..2025-06-30: 29+31+30+31+31+28+31+30+31+30) = 668
    // F2 2025-07-01..2025-09-01: 31 + 31 + 1 = 63
    // forfait = (60.00 × 668 + 100.00 × 63) / 731 = 46 380 / 731 = 63.4473… → 63.45
    // AMC = min(63.45 − 0.03, 150 − 0.03) = 63.42 (F2's own 100 would give 99.97)
    const s = settle(frame('2025-09-01'), b);
    expect(partsOf(s)).toEqual([`${RELAXEO2}=63.42`]);
    expect(s.parts[0]!.formula).toContain('forfait optique.monture_b per frame prorated over 2023-09-02..2025-09-01 (level change, §2.4.1): (RELAXEO-F1 60.00 × 668 d + RELAXEO-F2 100.00 × 63 d) / 731 d = 63.45');
  });

  it('a pair of simple lenses: (60 × 668 + 90 × 63) / 731 = 62.59 per lens', () => {
    // 45 750 / 731 = 62.5855… → 62.59 per lens; G = 2 × 62.59 = 125.18; AMC = min(125.18 − 0.06, 300 − 0.06) = 125.12
    expect(settle(lenses('2025-09-01'), b).amcAmount).toBe('125.12');
  });

  it('two years after the change the window is all F2: the forfait is F2\'s 100 (99.97)', () => {
    // window 2025-07-02..2027-07-01, all under F2 → nominal
    const s = settle(frame('2027-07-01'), b, { ctx: { asOf: '2027-07-01' } });
    expect(s.amcAmount).toBe('99.97');
    expect(s.parts[0]!.formula).not.toContain('prorated');
  });
});

describe('CCN change of level: the new level\'s ceilings, consumption kept (no prorating clause in seed 001)', () => {
  // Surcomplémentaire Option 1 until 30 June 2025, Option 2 from 1 July; socle Base throughout.
  const b = withPeriods([{ from: '2024-01-01', to: '2025-06-30', contracts: [BASE, OPT1] }, { from: '2025-07-01', to: null, contracts: [BASE, OPT2] }]);
  const osteo = (n: number, date: string) => line({ actCode: 'OSTEO', source: 'invoice', caisse: null, decompteId: `S${n}`, psSpecialty: null, careStart: date, br: '0.00', expense: '70.00', roRate: '0', roAmount: '0.00' });

  it('given 5 osteopathy sessions under Option 1 (max 4), when sessions follow under Option 2 (max 5), then the 4 counted carry over: one more session', () => {
    // Base 30 €/session max 4; Option 1 50 € max 4; Option 2 60 € max 5. FR 70, no RO.
    // 1–4: Base 30.00, Option 1 50 − 30 = 20.00 → 50.00. 5th: both counts reached → 0.00.
    // 6th (July, Option 2): Base still at 4 → 0; Option 2 used 4 (carried from Option 1) → 1 left → 60.00 (surco 60 − 0)
    // 7th: Option 2 used 5 → 0.00 (without the carry-over it would pay 60.00 again)
    const dates = ['2025-02-10', '2025-03-10', '2025-04-10', '2025-05-10', '2025-06-10', '2025-07-10', '2025-08-10'];
    const { settlements } = settleAll(dates.map((d, i) => osteo(i + 1, d)), b);
    expect(settlements.map((s) => s.amcAmount)).toEqual(['50.00', '50.00', '50.00', '50.00', '0.00', '60.00', '0.00']);
    expect(partsOf(settlements[5]!)).toEqual([`${BASE}=0.00`, `${OPT2}=60.00`]);
    expect(settlements[5]!.parts[1]!.formula).toContain('divers.medecine_preventive: 4 used under CCN-HLA-OPT1 carried over (level change)');
    expect(settlements[6]!.reason).toContain('yearly limit of 5 sessions reached for divers.medecine_preventive (5 before this line)');
  });

  it('given lenses under Option 1, when lenses follow under Option 2, then Option 2\'s 10 % PMSS budget applies, less what Option 1 paid (not prorated)', () => {
    // Non-reimbursed lenses (RO 0), PMSS 2025 3 925. Base 5 % = 196.25; Option 1 7.5 % = 294.375 → 294.38; Option 2 10 % = 392.50.
    // March, FR 250: Base 196.25; Option 1 min(294.38, 250) = 250 → surco 250 − 196.25 = 53.75; budgets used: Base 196.25, Option 1 250.00
    // July, FR 200: Base left 0 → 0; Option 2 left 392.50 − 250.00 (carried) = 142.50 → surco 142.50
    // (prorated it would be (294.38 × 181 + 392.50 × 184) / 365; Option 1's 294.38 would leave 44.38; no carry-over: 200.00)
    const box = (n: number, date: string, fr: string) => line({ actCode: '2202060', source: 'invoice', caisse: null, decompteId: `L${n}`, psSpecialty: null, careStart: date, br: '0.00', expense: fr, roRate: '0', roAmount: '0.00' });
    const { settlements } = settleAll([box(1, '2025-03-01', '250.00'), box(2, '2025-07-20', '200.00')], b);
    expect(partsOf(settlements[0]!)).toEqual([`${BASE}=196.25`, `${OPT1}=53.75`]);
    expect(partsOf(settlements[1]!)).toEqual([`${BASE}=0.00`, `${OPT2}=142.50`]);
    expect(settlements[1]!.parts[1]!.formula).not.toContain('prorated');
    expect(settlements[1]!.parts[1]!.formula).toContain('optique.lentilles_non_remboursees: 250.00 used under CCN-HLA-OPT1 carried over (level change)');
  });
});

describe("children's proofs (Beneficiary.proofs)", () => {
  // GP G on the care date: Base 100 % BR → AMC = 30 − 21 = 9.00.
  const child = (birthDate: string, proofs: Beneficiary['proofs'], contracts = [BASE]) =>
    person({ rang: 3, role: 'E', birthDate, contracts, ...(proofs !== undefined ? { proofs } : {}) });
  const visit = (date: string) => line({ rang: 3, careStart: date });

  it('given a child of 19 with a studies proof covering the date, then covered', () => {
    const s = settle(visit('2025-09-10'), child('2006-05-01', [{ kind: 'studies', from: '2025-09-01', to: '2026-08-31' }]));
    expect(s.status).toBe('paid');
    expect(s.amcAmount).toBe('9.00');
  });

  it('given a child of 19 without a studies proof covering the date, then rejected naming the missing proof', () => {
    const none = settle(visit('2025-09-10'), child('2006-05-01', []));
    expect(none.status).toBe('rejected');
    expect(none.reason).toBe("no cover on 2025-09-10: child aged 19, covered from 18 to 25 only with a proof of studies (or apprenticeship, first job search) covering that date; missing 'studies' proof (no proof on file)");
    // last year's proof ended on 2025-08-31
    const expired = settle(visit('2025-09-10'), child('2006-05-01', [{ kind: 'studies', from: '2024-09-01', to: '2025-08-31' }]));
    expect(expired.status).toBe('rejected');
    expect(expired.reason).toContain("missing 'studies' proof (proofs on file: studies 2024-09-01 to 2025-08-31)");
    // under 18 no proof is needed, even with `proofs` present
    expect(settle(visit('2024-04-30'), child('2006-05-01', [])).amcAmount).toBe('9.00');
  });

  it('given proofs absent, then today\'s reading: proof assumed on file to 25, review beyond', () => {
    expect(settle(visit('2025-09-10'), child('2006-05-01', undefined)).amcAmount).toBe('9.00');
    expect(settle(visit('2025-03-10'), child('1998-01-15', undefined)).status).toBe('review');
  });

  it('given a child of 27 with a disability proof, then covered; with only a studies proof, rejected naming the disability proof', () => {
    const disabled = settle(visit('2025-03-10'), child('1998-01-15', [{ kind: 'disability', from: '2015-06-01', to: null }]));
    expect(disabled.status).toBe('paid');
    expect(disabled.amcAmount).toBe('9.00');
    const student = settle(visit('2025-03-10'), child('1998-01-15', [{ kind: 'studies', from: '2024-09-01', to: '2025-08-31' }]));
    expect(student.status).toBe('rejected');
    expect(student.reason).toBe("no cover on 2025-03-10: child aged 27, covered beyond 25 only when disabled; missing 'disability' proof covering that date (proofs on file: studies 2024-09-01 to 2025-08-31)");
  });

  it('the limits are the socle grid\'s: at 26 RELAXEO still covers with a studies proof (to 26 inclusive), the CCN needs a disability proof', () => {
    // RELAXEO 120 % DPTM: G = 36 → AMC = min(15, 9) = 9.00
    const proofs: Beneficiary['proofs'] = [{ kind: 'studies', from: '2024-09-01', to: '2025-08-31' }];
    expect(settle(visit('2025-03-10'), child('1998-06-15', proofs, [RELAXEO])).amcAmount).toBe('9.00');
    expect(settle(visit('2025-03-10'), child('1998-06-15', proofs, [BASE])).reason).toContain("child aged 26, covered beyond 25 only when disabled; missing 'disability' proof");
  });
});

describe('Beneficiary.contractPeriods shape', () => {
  it('oldest first and not overlapping; absent fields keep a beneficiary valid', () => {
    const ok = person({ contractPeriods: [{ from: '2024-01-01', to: '2024-12-31', contracts: [BASE] }, { from: '2025-01-01', to: null, contracts: [BASE, OPT1] }], proofs: [] });
    expect(BeneficiarySchema.safeParse(ok).success).toBe(true);
    expect(BeneficiarySchema.safeParse(person()).success).toBe(true);
    const overlap = person({ contractPeriods: [{ from: '2024-01-01', to: null, contracts: [BASE] }, { from: '2025-01-01', to: null, contracts: [OPT1] }] });
    const r = BeneficiarySchema.safeParse(overlap);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['contractPeriods', 1, 'from'], message: 'period from 2025-01-01 overlaps the previous one (2024-01-01 to open): periods are oldest first and do not overlap' });
  });
});

describe('property: a history that never changes level decides like no history', () => {
  // Given random lines over 2024–2025 for every contract shape, when the beneficiary's contracts are
  // given as two periods of the same contracts (split on a random day) instead of `contracts` alone,
  // then every settlement has the same status, amounts, parts' amounts and counters, and the same
  // reason: the level in force is the same every day, nothing is carried twice, nothing prorated.
  const CODES = Object.keys(NOMENCLATURE).sort();
  const shapes = [[BASE], [BASE, OPT1], [BASE, OPT2], [OPT2], [RELAXEO], [RELAXEO2]];
  const lineArb = fc.record({
    code: fc.constantFrom(...CODES),
    day: fc.integer({ min: 0, max: 700 }),
    quantity: fc.integer({ min: 1, max: 3 }),
    brCents: fc.integer({ min: 0, max: 60_000 }),
    overCents: fc.integer({ min: 0, max: 80_000 }),
    hospital: fc.boolean(),
  });
  const toLine = (d: { code: string; day: number; quantity: number; brCents: number; overCents: number; hospital: boolean }, n: number): ActLine => {
    const e = NOMENCLATURE[d.code]!;
    const br = e.roReimbursed ? new Decimal(d.brCents).dividedBy(100) : new Decimal(0);
    const rate = e.roReimbursed ? e.roRate : '0';
    const careStart = addDays('2024-01-01', d.day);
    return line({
      decompteId: `Q${n}`, actCode: d.code, careStart, careEnd: careStart, quantity: d.quantity, psSpecialty: d.hospital ? null : '01',
      br: br.toFixed(2), expense: br.plus(new Decimal(d.overCents).dividedBy(100)).toFixed(2), roRate: rate,
      roAmount: roundCents(br.times(rate).dividedBy(100)).toFixed(2),
    });
  };
  const essentials = (s: Settlement) => ({ status: s.status, reason: s.reason, amc: s.amcAmount, rest: s.restToPay, parts: partsOf(s), counters: s.counters });

  it('holds for 150 random histories', () => {
    fc.assert(
      fc.property(fc.constantFrom(...shapes), fc.integer({ min: 1, max: 700 }), fc.array(lineArb, { minLength: 1, maxLength: 15 }), (contracts, split, drafts) => {
        const plain = person({ contracts, start: '2024-01-01' });
        const cut = addDays('2024-01-01', split);
        const split2 = { ...plain, contractPeriods: [{ from: '2024-01-01', to: addDays(cut, -1), contracts }, { from: cut, to: null, contracts }] };
        const lines = drafts.map(toLine);
        const a = settleAll(lines, plain, { liquidatedOnCareDate: true }).settlements.map(essentials);
        const b = settleAll(lines, split2, { liquidatedOnCareDate: true }).settlements.map(essentials);
        expect(b).toEqual(a);
      }),
      { numRuns: 150 },
    );
  });
});
