import { describe, expect, it } from 'vitest';
import { OPT1, OPT2, RELAXEO, line, person, settle, settleAll } from './helpers.js';
import { expectLevels } from './table-levels.js';

/**
 * shared/ccn-table.md "Audiologie" (renewal per aid every 4 years), one test per table line, each
 * level (options alone and layered on the Base). Hearing aid BR 400 per ear, RO 60 % → MRn 240.
 * Class II ≤ 1 700 € per aid INCLUDING the SS part: G = min(G, 1 700) before subtracting MRn.
 */

const aid = (over: Parameters<typeof line>[0] = {}) =>
  line({ actCode: '2355002', psSpecialty: '29', side: 'R', br: '400.00', expense: '2000.00', roRate: '60', roAmount: '240.00', ...over });

describe('équipement 100 % Santé (classe I): no rest to pay within the PLV (950 € per ear)', () => {
  it('FR at the PLV: AMC = 950 − 240 = 710.00 at every level, rest 0', () => {
    const s = expectLevels(aid({ actCode: '2355001', expense: '950.00' }), { base: '710.00', opt1: ['710.00', '0.00'], opt2: ['710.00', '0.00'] });
    expect(s.opt2.restToPay).toBe('0.00');
    expect(s.opt2.reason).toBeNull();
  });

  it('two ears in one line (quantity 2, no side): PLV 1 900', () => {
    // BR 800, MRn 480, FR 1 900 → AMC = min(1 900, 1 900) − 480 = 1 420.00
    expect(settle(aid({ actCode: '2355001', side: null, quantity: 2, br: '800.00', expense: '1900.00', roAmount: '480.00' })).amcAmount).toBe('1420.00');
  });
});

describe('équipement libre (classe II): 100 % BR · 100 % BR + 300 € · 100 % BR + 300 €, ≤ 1 700 € incl. RO', () => {
  it('BR 400, FR 2 000', () => {
    // Base: G = 400 → 400 − 240 = 160.00; Opt1/Opt2: G = 400 + 300 = 700 → 460.00 (surco 300.00)
    // rest with Option 2: 2 000 − 240 − 460 = 1 300.00
    const s = expectLevels(aid(), { base: '160.00', opt1: ['160.00', '300.00'], opt2: ['160.00', '300.00'] });
    expect(s.opt2.restToPay).toBe('1300.00');
  });

  it('the 1 700 € cap includes the RO part (BR 1 450, an unusually high base, to reach it with the real grid)', () => {
    // MRn = 1 450 × 60 % = 870; Option 1: G = 1 450 + 300 = 1 750 → capped at 1 700 → AMC = min(1 700 − 870, 2 000 − 870) = 830.00
    // Base: G = 1 450 → AMC = 580.00 (under the cap); surco = 830 − 580 = 250.00
    const s = expectLevels(aid({ br: '1450.00', roAmount: '870.00' }), { base: '580.00', opt1: ['580.00', '250.00'], opt2: ['580.00', '250.00'] });
    expect(s.opt1Alone.parts[0]!.formula).toContain('capped at 1700.00 incl. RO');
  });

  it('one aid per ear per 4 years: a second right aid 3 years later → 0; the left ear is separate', () => {
    // Option 2: R 2025-03-10 → 460; L 2025-03-10 → 460; R 2028-03-09 → 0; R 2029-03-10 → 460
    const at = (n: number, side: 'R' | 'L', date: string) => aid({ decompteId: `A${n}`, side, careStart: date, careEnd: date });
    const { settlements } = settleAll(
      [at(1, 'R', '2025-03-10'), at(2, 'L', '2025-03-10'), at(3, 'R', '2028-03-09'), at(4, 'R', '2029-03-10')],
      person({ contracts: [OPT2] }), { liquidatedOnCareDate: true },
    );
    expect(settlements.map((s) => s.amcAmount)).toEqual(['460.00', '460.00', '0.00', '460.00']);
    expect(settlements[2]!.status).toBe('zero');
    expect(settlements[2]!.reason).toContain('ear (R) already reimbursed on 2025-03-10; next one from 2029-03-10');
  });

  it('RELAXEO-F1 (note b: forfait incl. RO, 400 € invented): G = 400 + 400 = 800 → 560.00', () => {
    expect(settle(aid(), person({ contracts: [RELAXEO] })).amcAmount).toBe('560.00');
  });
});

describe('entretien, réparation, piles: 100 % BR', () => {
  it('batteries: BR 50, RO 60 % → MRn 30, FR 50 → 20.00 at every level', () => {
    expectLevels(aid({ actCode: '2355010', side: null, br: '50.00', expense: '50.00', roAmount: '30.00' }), {
      base: '20.00', opt1: ['20.00', '0.00'], opt2: ['20.00', '0.00'],
    });
    // not a hearing aid: no renewal period, a second purchase the same month is paid again
    const batteries = (n: number) => aid({ actCode: '2355010', decompteId: `B${n}`, side: null, br: '50.00', expense: '50.00', roAmount: '30.00' });
    expect(settleAll([batteries(1), batteries(2)], person({ contracts: [OPT1] })).settlements.map((s) => s.amcAmount)).toEqual(['20.00', '20.00']);
  });
});
