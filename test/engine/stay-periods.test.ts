import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyState, lineRecord, liquidate, type EngineState } from '../../src/engine/index.js';
import { addDays, daysBetween } from '../../src/model/dates.js';
import { BASE, NOMENCLATURE, OPT1, OPT2, RELAXEO, context, line, partsOf, person, settle, settleAll } from './helpers.js';

/**
 * A stay across a period boundary is counted day by day in the period each day falls in
 * (src/engine/stay.ts): each period's counter, each year's PMSS (2025: 3 925 €, 2026: 4 005 €).
 * Days: care start to care end inclusive (the day of discharge is a day of forfait journalier).
 * Nights: care start to the day before the care end (a night belongs to the date it begins).
 */

const stay = (over: Parameters<typeof line>[0]) =>
  line({ psSpecialty: null, careStart: '2025-12-30', careEnd: '2026-01-03', roRate: '0', roAmount: '0.00', br: '0.00', ...over });

const withCounters = (counters: Record<string, string>): EngineState => ({ ...emptyState(), counters });

const PSY_2025 = 'CCN-HLA-OPT1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2025';
const PSY_2026 = 'CCN-HLA-OPT1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2026';

describe('a stay from 30 December to 3 January, calendar years', () => {
  it('forfait journalier: 5 days (discharge day included), 2 in 2025 and 3 in 2026, each period named on the part', () => {
    // Given FJ 20 € a day, 30 Dec → 3 Jan = 5 days, BR = FR = 100.00 at RO 0 %, Base "100 % du forfait"
    // When liquidated
    const s = settle(stay({ actCode: 'FJ', quantity: 5, br: '100.00', expense: '100.00' }), person({ contracts: [BASE] }), { ctx: { asOf: '2026-02-01' } });
    // Then 2025: 2 days, FR 100 × 2/5 = 40.00 → 100 % FR = 40.00; 2026: 3 days, FR 60.00 → 60.00; total 100.00
    expect([s.status, s.amcAmount, s.restToPay]).toEqual(['paid', '100.00', '0.00']);
    const part = s.parts[0]!;
    expect(part.slices?.map((x) => [x.from, x.to, x.units, x.period, x.amount, x.rule])).toEqual([
      ['2025-12-30', '2025-12-31', 2, '2025', '40.00', 'hospi.forfait_journalier'],
      ['2026-01-01', '2026-01-03', 3, '2026', '60.00', 'hospi.forfait_journalier'],
    ]);
    expect(part.formula).toContain('total 40.00 + 60.00 = 100.00');
  });

  it('single room, Option 1 2.40 % PMSS a night: 2 nights at the 2025 PMSS, 2 at the 2026 PMSS', () => {
    // Given CHP 120 € a night, nights of 30, 31 Dec, 1, 2 Jan (none begins on the 3rd, the discharge day): 4 nights, FR 480
    // 2025: 2.40 % × 3 925 = 94.20 a night × 2 = 188.40 (FR share 240.00) → 188.40
    // 2026: 2.40 % × 4 005 = 96.12 a night × 2 = 192.24 (FR share 240.00) → 192.24
    // total 188.40 + 192.24 = 380.64 (the whole line at the 2025 PMSS would be 4 × 94.20 = 376.80)
    const s = settle(stay({ actCode: 'CHP', quantity: 4, expense: '480.00' }), person({ contracts: [OPT1] }), { ctx: { asOf: '2026-02-01' } });
    expect([s.amcAmount, s.restToPay]).toEqual(['380.64', '99.36']);
    expect(s.parts[0]!.slices?.map((x) => [x.period, x.units, x.amount])).toEqual([['2025', 2, '188.40'], ['2026', 2, '192.24']]);
    expect(s.parts[0]!.slices?.[0]!.formula).toContain('2.40% PMSS 3925.00 = 94.20');
    expect(s.parts[0]!.slices?.[1]!.formula).toContain('2.40% PMSS 4005.00 = 96.12');
  });

  it("psychiatry room, 90 days a year: each night consumes its own year's counter", () => {
    // Given 89 days already used in 2025, Option 1 CHPSY 2.40 % PMSS a night, 4 nights at 120 € (FR 480)
    // When liquidated: 2025 has 1 day left → 1 night × 94.20 = 94.20, the 2nd 2025 night beyond the
    // limit gets nothing; 2026 starts at 0 → 2 × 96.12 = 192.24. Total 94.20 + 192.24 = 286.44.
    // (Attributed wholly to 2025, as before: 1 night × 94.20 only.)
    const b = person({ contracts: [OPT1] });
    const room = stay({ actCode: 'CHPSY', quantity: 4, expense: '480.00', decompteId: 'PSY1' });
    const { settlements, state } = settleAll([room, { line: { ...room, operation: 'A' }, beneficiary: b }], b, { state: withCounters({ [PSY_2025]: '89' }), ctx: { asOf: '2026-02-01' } });
    const [paid, annulled] = settlements as [(typeof settlements)[0], (typeof settlements)[0]];
    expect([paid.amcAmount, paid.restToPay]).toEqual(['286.44', '193.56']);
    expect(paid.parts[0]!.slices?.map((x) => [x.period, x.amount])).toEqual([['2025', '94.20'], ['2026', '192.24']]);
    // each year's counter moved: 2025 89 → 90, 2026 0 → 2
    expect(paid.counters).toEqual([
      { key: PSY_2025, before: '89', after: '90' },
      { key: PSY_2026, before: '0', after: '2' },
    ]);
    expect(paid.reason).toContain('2025-12-30 to 2025-12-31, 2 nights (period 2025): yearly limit of 90 days reached');
    // Then its annulation gives back exactly what each year took: −286.44, 2025 90 → 89, 2026 2 → 0
    expect([annulled.amcAmount, annulled.version]).toEqual(['-286.44', 2]);
    expect(annulled.parts[0]!.slices?.map((x) => [x.period, x.amount])).toEqual([['2025', '-94.20'], ['2026', '-192.24']]);
    expect(annulled.counters).toEqual([
      { key: PSY_2025, before: '90', after: '89' },
      { key: PSY_2026, before: '2', after: '0' },
    ]);
    expect([state.counters[PSY_2025], state.counters[PSY_2026]]).toEqual(['89', '0']);
    expect(lineRecord(state, 'noemie-011751001:PSY1:1')).toMatchObject({ operation: 'A', consumed: [] });
  });

  it('a quantity the dates cannot hold across the boundary goes to review', () => {
    // 30 Dec → 3 Jan holds 5 days; 6 forfaits cannot be placed in their years
    const s = settle(stay({ actCode: 'FJ', quantity: 6, br: '120.00', expense: '120.00' }), person(), { ctx: { asOf: '2026-02-01' } });
    expect(s.status).toBe('review');
    expect(s.reason).toContain('quantity 6 is more than the 5 day(s) from 2025-12-30 to 2026-01-03 inclusive');
  });

  it('a résiliation on 31 December: the days of the new year are not covered, those of the old one are paid', () => {
    // Given an affiliation ending 2025-12-31 (the end day is covered) and FJ 30 Dec → 3 Jan, 5 days at 20 €
    const b = person({ contracts: [BASE], end: '2025-12-31' });
    const s = settle(stay({ actCode: 'FJ', quantity: 5, br: '100.00', expense: '100.00' }), b, { ctx: { asOf: '2026-02-01' } });
    // Then 2025: 2 days × 20 = 40.00 paid; 2026: 3 days not covered → 0.00; rest 60.00
    // (judged on the first day alone, the whole 100.00 was paid)
    expect([s.status, s.amcAmount, s.restToPay]).toEqual(['paid', '40.00', '60.00']);
    expect(s.parts[0]!.slices?.map((x) => [x.period, x.amount])).toEqual([['2025', '40.00'], ['2026', '0.00']]);
    expect(s.reason).toBe('2026-01-01 to 2026-01-03, 3 days (period 2026): care on 2026-01-01 is after the affiliation end 2025-12-31');
  });

  it("a night in a year whose PMSS is not known yet sends the stay to review, naming that night's period", () => {
    // 30 Dec 2026 → 2 Jan 2027: nights of 30, 31 Dec (PMSS 2026 = 4 005) and 1 Jan 2027 (no PMSS in the table):
    // the % PMSS of 2027 cannot be computed, so nothing is paid on a guess (as one line it was 3 × 96.12)
    const s = settle(stay({ actCode: 'CHP', careStart: '2026-12-30', careEnd: '2027-01-02', quantity: 3, expense: '360.00' }), person({ contracts: [OPT1] }), { ctx: { asOf: '2027-02-01' } });
    expect(s.status).toBe('review');
    expect(s.reason).toBe('2027-01-01, 1 night (period 2027): no PMSS for 2027 in pmss.csv: a % PMSS guarantee cannot be computed');
  });

  it('a stay within one year is one computation, as before (no slices)', () => {
    const s = settle(stay({ actCode: 'CHP', careStart: '2025-05-12', careEnd: '2025-05-14', quantity: 2, expense: '240.00' }), person({ contracts: [OPT1] }));
    // 2 × 94.20 = 188.40
    expect(partsOf(s)).toEqual(['CCN-HLA-OPT1=188.40']);
    expect(s.parts[0]!.slices).toBeUndefined();
  });
});

describe('a stay across the insurance-year anniversary (RELAXEO-F1: 12 months from the effective date)', () => {
  it('single room, 30 days per insurance year: the nights before the anniversary use the old year, the rest the new one', () => {
    // Given affiliation from 2025-03-15 (waiting period long over), 28 room days used in the year
    // from 2025-03-15; a stay 2026-03-12 → 2026-03-17: nights of 12, 13, 14 (year from 2025-03-15)
    // and of 15, 16 (year from 2026-03-15); 80 € a night, FR 400; RELAXEO 50 € a night on top of the RO part (none)
    const KEY_OLD = 'RELAXEO-F1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2025-03-15';
    const KEY_NEW = 'RELAXEO-F1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2026-03-15';
    const b = person({ contracts: [RELAXEO], start: '2025-03-15' });
    const l = stay({ actCode: 'CHP', careStart: '2026-03-12', careEnd: '2026-03-17', quantity: 5, expense: '400.00' });
    const s = settle(l, b, { state: withCounters({ [KEY_OLD]: '28' }), ctx: { asOf: '2026-04-01' } });
    // When: old year, 3 nights, 2 left → G = 2 × 50.00 = 100.00, FR share 3/5 × 400 = 240.00 counted
    //       pro rata for 2 of 3 nights = 160.00 → 100.00; the 3rd night beyond the 30 days: nothing.
    //       New year, 2 nights → 2 × 50.00 = 100.00 (FR 160.00) → 100.00. Total 200.00, rest 200.00.
    // (As one line in the old year: 2 nights within → 100.00.)
    expect([s.amcAmount, s.restToPay]).toEqual(['200.00', '200.00']);
    expect(s.parts[0]!.slices?.map((x) => [x.from, x.to, x.period, x.amount])).toEqual([
      ['2026-03-12', '2026-03-14', '2026; RELAXEO-F1 year from 2025-03-15', '100.00'],
      ['2026-03-15', '2026-03-16', '2026; RELAXEO-F1 year from 2026-03-15', '100.00'],
    ]);
    expect(s.counters).toEqual([
      { key: KEY_OLD, before: '28', after: '30' },
      { key: KEY_NEW, before: '0', after: '2' },
    ]);
  });

  it('a RELAXEO stay over 1 January stays in one insurance year: two calendar slices, one counter', () => {
    // Affiliation 2025-03-15; nights of 30, 31 Dec 2025 and 1 Jan 2026, all in the year from 2025-03-15;
    // 50 € a night × 3 = 150.00 (FR 3 × 80 = 240): the days counter takes 3, once
    const KEY = 'RELAXEO-F1|1850375123456-1|hospi.chambre_particuliere_nuit|days|2025-03-15';
    const b = person({ contracts: [RELAXEO], start: '2025-03-15' });
    const s = settle(stay({ actCode: 'CHP', careEnd: '2026-01-02', quantity: 3, expense: '240.00' }), b, { ctx: { asOf: '2026-02-01' } });
    expect(s.amcAmount).toBe('150.00');
    expect(s.parts[0]!.slices?.map((x) => [x.period, x.amount])).toEqual([
      ['2025; RELAXEO-F1 year from 2025-03-15', '100.00'],
      ['2026; RELAXEO-F1 year from 2025-03-15', '50.00'],
    ]);
    expect(s.counters).toEqual([{ key: KEY, before: '0', after: '3' }]);
  });
});

describe('properties of stays across 1 January (any day or night code, any contract, any length)', () => {
  const CODES = Object.keys(NOMENCLATURE).filter((c) => ['day', 'night'].includes(NOMENCLATURE[c]!.unit)).sort();
  const people = [person({ contracts: [BASE] }), person({ contracts: [BASE, OPT2] }), person({ contracts: [OPT1] }), person({ contracts: [RELAXEO], start: '2025-03-15' })];
  const arb = fc.record({
    code: fc.constantFrom(...CODES),
    who: fc.integer({ min: 0, max: people.length - 1 }),
    start: fc.integer({ min: 0, max: 8 }),
    length: fc.integer({ min: 1, max: 9 }),
    short: fc.integer({ min: 0, max: 2 }),
    unitCents: fc.integer({ min: 0, max: 30_000 }),
    usedBefore: fc.integer({ min: 0, max: 95 }),
  });

  it('RO + AMC ≤ FR, expense = RO + AMC + rest, slices add up to their part and their units to the quantity; an annulation gives every counter back', () => {
    fc.assert(
      fc.property(arb, (d) => {
        const e = NOMENCLATURE[d.code]!;
        const careStart = addDays('2025-12-24', d.start);
        const careEnd = addDays(careStart, d.length);
        const room = daysBetween(careStart, careEnd) + (e.unit === 'night' ? 0 : 1);
        const quantity = Math.max(1, room - d.short);
        const fr = new Decimal(d.unitCents).times(quantity).dividedBy(100);
        // a reimbursed day (FJ, GHS…) at its nomenclature rate; rooms and beds are not reimbursed (BR 0)
        const br = e.roReimbursed ? fr : new Decimal(0);
        const ro = br.times(e.roRate).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
        const b = people[d.who]!;
        const l = line({ actCode: d.code, psSpecialty: null, careStart, careEnd, quantity, expense: fr.toFixed(2), br: br.toFixed(2), roRate: e.roRate, roAmount: ro.toFixed(2) });
        // some days already used in each year (psychiatry 90 days, RELAXEO room 30 days)
        const state = withCounters({ [`${b.contracts[0]}|1850375123456-1|hospi.chambre_particuliere_nuit|days|2025`]: String(d.usedBefore) });
        const ctx = context({ asOf: '2026-03-01' });
        const first = liquidate({ line: l, beneficiary: b }, ctx, state);
        const s = first.settlement;
        if (s.status === 'review') return;
        const amc = new Decimal(s.amcAmount);
        expect(new Decimal(s.roAmount).plus(amc).lte(s.expense)).toBe(true);
        expect(new Decimal(s.roAmount).plus(amc).plus(s.restToPay).toFixed(2)).toBe(s.expense);
        expect(s.parts.reduce((t, p) => t.plus(p.amount), new Decimal(0)).toFixed(2)).toBe(s.amcAmount);
        for (const p of s.parts) {
          if (!p.slices) continue;
          expect(p.slices.reduce((t, x) => t.plus(x.amount), new Decimal(0)).toFixed(2)).toBe(p.amount);
          expect(p.slices.reduce((t, x) => t + x.units, 0)).toBe(quantity);
          expect(p.slices.map((x) => x.from)).toEqual([...p.slices.map((x) => x.from)].sort());
        }
        const annulled = liquidate({ line: { ...l, operation: 'A' }, beneficiary: b }, ctx, first.state);
        expect(annulled.settlement.amcAmount).toBe(amc.negated().toFixed(2));
        for (const [key, value] of Object.entries(annulled.state.counters)) expect(new Decimal(value).toString(), key).toBe(new Decimal(state.counters[key] ?? '0').toString());
      }),
      { numRuns: 200 },
    );
  });
});
