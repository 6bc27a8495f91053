import { describe, expect, it } from 'vitest';
import type { Nomenclature } from '../../src/model/nomenclature.js';
import { parseNomenclature } from '../../src/ingest/reference/nomenclature.js';
import { NOMENCLATURE, line, person, settle } from './helpers.js';

/**
 * Money safety (audit): a well-formed line with an absurd figure is settled `review`, never paid,
 * and the reason names the field and the bound. And a "no rest to pay within PLV/HLF" guarantee
 * whose limit is unknown is `review`, not "pay the expense".
 */

const dentist = (over: Parameters<typeof line>[0]) => line({ psSpecialty: '19', ...over });

/** The fixture nomenclature with one row replaced (same header). */
function nomenclatureWith(row: string): Nomenclature {
  const header = 'act_code;label;poste;hospital_poste;ro_reimbursed;ro_rate;unit;attributes;max_unit_expense;max_unit_br;max_quantity;max_coefficient';
  return { ...NOMENCLATURE, ...parseNomenclature(`${header}\n${row}\n`) };
}

describe('the audit line: 999 999 999 999.99 on a 100 % Santé code', () => {
  it('is review with AMC 0.00, naming expense and its bound', () => {
    // D100S, BR 100.00 at 70 % = RO 70.00 (consistent); the expense is the absurd figure.
    // Dental default: 3 000.00 per act; the fixture row sets none → "default of dentaire".
    const s = settle(dentist({ actCode: 'D100S', br: '100.00', expense: '999999999999.99', roAmount: '70.00' }));
    expect(s.status).toBe('review');
    expect(s.amcAmount).toBe('0.00');
    expect(s.parts).toEqual([]);
    expect(s.reason).toContain('expense 999999999999.99 is above 1 × 3000.00 = 3000.00, the max_unit_expense of act D100S (default of dentaire) per act');
  });

  it('as the audit sent it: a CSV record, well-formed, decoded then liquidated', async () => {
    const { csvCodec, encodeCsv } = await import('../../src/ingest/csv/index.js');
    const { Readable } = await import('node:stream');
    const text = [...encodeCsv([dentist({ actCode: 'D100S', br: '100.00', expense: '999999999999.99', roAmount: '70.00' })])].join('');
    const events = [];
    for await (const e of csvCodec.decode({ file: 'audit.csv', open: async () => Readable.from([Buffer.from(text)]) })) events.push(e);
    expect(events.map((e) => e.kind)).toEqual(['line']);
    const decoded = events[0]!.kind === 'line' ? events[0]!.line : line();
    expect(settle(decoded)).toMatchObject({ status: 'review', amcAmount: '0.00', expense: '999999999999.99' });
  });

  it('even with the row\'s price limit removed, as in the audited table', () => {
    const nomenclature = nomenclatureWith('D100S;Soins et prothèses dentaires 100 % Santé;dentaire.panier_100s;;Y;70;act;dental_basket=100S;;;;');
    const s = settle(dentist({ actCode: 'D100S', br: '100.00', expense: '999999999999.99', roAmount: '70.00' }), person(), { ctx: { nomenclature } });
    expect(s).toMatchObject({ status: 'review', amcAmount: '0.00' });
  });
});

describe('100 % Santé without its PLV/HLF', () => {
  it('is review with the reason, not the expense paid', () => {
    // Plausible figures (FR 300, BR 100, RO 70): yesterday AMC = FR − RO = 230.00 "within the HLF".
    const nomenclature = nomenclatureWith('D100S;Soins et prothèses dentaires 100 % Santé;dentaire.panier_100s;;Y;70;act;dental_basket=100S;;;;');
    const s = settle(dentist({ actCode: 'D100S', br: '100.00', expense: '300.00', roAmount: '70.00' }), person(), { ctx: { nomenclature } });
    expect(s).toMatchObject({ status: 'review', amcAmount: '0.00' });
    expect(s.reason).toContain('the HLF of act D100S is unknown (no price_limit in the nomenclature)');
  });

  it('with the limit, pays FR within it (the fixture row has price_limit=500.00)', () => {
    // AMC = min(FR 300, HLF 500) − RO 70 = 230.00
    expect(settle(dentist({ actCode: 'D100S', br: '100.00', expense: '300.00', roAmount: '70.00' })).amcAmount).toBe('230.00');
  });
});

describe('plausibility bounds per act code', () => {
  it('quantity above max_quantity (G: 2 in the row)', () => {
    // 3 consultations at BR 30 = 90.00, RO 70 % = 63.00: consistent amounts, too many units for one line
    const s = settle(line({ quantity: 3, br: '90.00', expense: '90.00', roAmount: '63.00' }));
    expect(s).toMatchObject({ status: 'review', amcAmount: '0.00' });
    expect(s.reason).toContain('quantity 3 is above 2, the max_quantity of act G');
    expect(settle(line({ quantity: 2, br: '60.00', expense: '60.00', roAmount: '42.00' })).status).toBe('paid');
  });

  it('coefficient above max_coefficient (K: the soins default 1 000)', () => {
    const k = (coefficient: string) => line({ actCode: 'K', coefficient, br: '19.20', expense: '19.20', roAmount: '13.44' });
    const s = settle(k('5000'));
    expect(s.status).toBe('review');
    expect(s.reason).toContain('coefficient 5000 is above 1000, the max_coefficient of act K (default of soins)');
    expect(settle(k('10')).status).toBe('paid');
  });

  it('expense per unit above max_unit_expense, scaled by the quantity (GHS: 30 000.00 a day)', () => {
    const ghs = (quantity: number, amount: string, ro: string) =>
      settle(line({ actCode: 'GHS', psSpecialty: null, quantity, careStart: '2025-05-12', careEnd: '2025-05-14', br: amount, expense: amount, roRate: '80', roAmount: ro }));
    // 50 000 over 2 days = 25 000 a day: plausible (RO 80 % = 40 000.00)
    expect(ghs(2, '50000.00', '40000.00').status).not.toBe('review');
    // the same over 1 day: 50 000 > 1 × 30 000
    const s = ghs(1, '50000.00', '40000.00');
    expect(s.status).toBe('review');
    expect(s.reason).toContain('expense 50000.00 is above 1 × 30000.00 = 30000.00, the max_unit_expense of act GHS (default of hospi) per day');
    expect(s.reason).toContain('br 50000.00 is above 1 × 30000.00');
  });

  it('G above 500.00 (the row\'s own bound, no default named)', () => {
    const s = settle(line({ expense: '600.00' }));
    expect(s.status).toBe('review');
    expect(s.reason).toContain('expense 600.00 is above 1 × 500.00 = 500.00, the max_unit_expense of act G per act');
  });

  it('br per unit above max_unit_br (PAV: 24.00, the participation actes lourds)', () => {
    const s = settle(line({ actCode: 'PAV', br: '30.00', expense: '30.00', roRate: '0', roAmount: '0.00' }));
    expect(s.status).toBe('review');
    expect(s.reason).toContain('br 30.00 is above 1 × 24.00 = 24.00, the max_unit_br of act PAV');
    expect(settle(line({ actCode: 'PAV', br: '24.00', expense: '24.00', roRate: '0', roAmount: '0.00' })).status).toBe('paid');
  });

  it('ro_amount inconsistent with br × ro_rate', () => {
    // BR 30.00 × 70 % = 21.00; 25.00 is 4 € off: review. 21.01 is within the cent: liquidated.
    const s = settle(line({ roAmount: '25.00' }));
    expect(s.status).toBe('review');
    expect(s.reason).toContain('ro_amount 25.00 is not br 30.00 × ro_rate 70 % = 21.00 (tolerance 0.01: one cent per unit of rounding)');
    expect(settle(line({ roAmount: '21.01' })).status).toBe('paid');
    expect(settle(line({ roAmount: '21.02' })).status).toBe('review');
  });

  it('tolerates the per-unit rounding of the RO, one cent per unit, and decimal rates', () => {
    // 3 boxes at BR 2.35 = 7.05 × 65 % = 4.5825 → 4.58 on the line; per box 1.5275 → 1.53 × 3 = 4.59
    const box = (roAmount: string) => line({ actCode: 'PH7', psSpecialty: '50', quantity: 3, br: '7.05', expense: '7.05', roRate: '65', roAmount });
    expect(settle(box('4.58')).status).not.toBe('review');
    expect(settle(box('4.59')).status).not.toBe('review');
    // 4.62 − 4.5825 = 0.0375 > 3 × 0.01
    expect(settle(box('4.62')).reason).toContain('ro_amount 4.62 is not br 7.05 × ro_rate 65 % = 4.58 (tolerance 0.03');
    // a decimal rate: BR 10.00 × 82.5 % = 8.25
    expect(settle(line({ br: '10.00', expense: '10.00', roRate: '82.5', roAmount: '8.25' })).status).not.toBe('review');
    expect(settle(line({ br: '10.00', expense: '10.00', roRate: '82.5', roAmount: '8.40' })).status).toBe('review');
  });

  it('names every failed check in one reason', () => {
    const s = settle(line({ quantity: 3, expense: '999999999999.99', br: '90.00', roAmount: '1.00' }));
    expect(s.reason).toMatch(/quantity 3 .*; expense 999999999999\.99 .*; ro_amount 1\.00 is not br 90\.00 × ro_rate 70 % = 63\.00/);
  });
});

describe('nomenclature bound columns', () => {
  it('are optional: a table without them takes the family defaults', () => {
    const n = parseNomenclature('act_code;label;poste;hospital_poste;ro_reimbursed;ro_rate;unit;attributes\nCS;Consultation spécialiste;soins.specialistes;;Y;70;act;\n');
    expect(n.CS!.bounds).toEqual({ unitExpenseCents: 2_000_000, unitBrCents: 2_000_000, quantity: 100, coefficient: 1000, family: 'soins' });
  });

  it('a row\'s own bounds win; max_unit_br defaults to max_unit_expense', () => {
    expect(NOMENCLATURE.G!.bounds).toEqual({ unitExpenseCents: 50_000, unitBrCents: 50_000, quantity: 2, coefficient: 1, family: 'soins' });
    expect(NOMENCLATURE.PAV!.bounds).toMatchObject({ unitExpenseCents: 10_000, unitBrCents: 2_400 });
  });

  it('a bad bound cell refuses the table naming the column', () => {
    const header = 'act_code;label;poste;hospital_poste;ro_reimbursed;ro_rate;unit;attributes;max_unit_expense;max_unit_br;max_quantity;max_coefficient';
    expect(() => parseNomenclature(`${header}\nG;Consultation;soins.generalistes;;Y;70;act;;500;;x;\n`)).toThrow(/line 2, field max_unit_expense: a bound is an amount with two decimals[\s\S]*line 2, field max_quantity/);
  });
});
