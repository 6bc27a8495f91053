import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyState, estimate, liquidate, liquidateAll, stateKeyOf, type EngineState, type LiquidationRequest } from '../../src/engine/index.js';
import type { ActLine } from '../../src/model/act-line.js';
import { addDays } from '../../src/model/dates.js';
import { centsToMoney, roundCents } from '../../src/model/money.js';
import type { Beneficiary } from '../../src/model/reference.js';
import type { Settlement } from '../../src/model/settlement.js';
import { BASE, NOMENCLATURE, OPT1, OPT2, RELAXEO, context, line, person } from './helpers.js';

/**
 * Properties of the engine over the real grids and nomenclature (domain.md §2, issue 3 "Done when"):
 * AMC ≥ 0; RO + AMC ≤ FR; PF and franchise never covered; one batch or any split with the ledgers
 * carried over gives the same result; an estimate consumes nothing; an annulation gives back what
 * the line consumed. Amounts are generated as integer cents turned into 2-decimal strings (never
 * floats); the RO part is BR × the line's rate rounded half up with decimal.js, as a caisse does.
 */

const CODES = Object.keys(NOMENCLATURE).sort();
const entryOf = (code: string) => NOMENCLATURE[code]!;

/** A small portfolio: two families, every contract shape, a child under 16, a RELAXEO member in their waiting period. */
const PEOPLE: readonly Beneficiary[] = [
  person({ adherentId: 'A001', contracts: [BASE] }),
  person({ adherentId: 'A001', nir: '2870699123789', birthDate: '1987-06-30', role: 'C', contracts: [BASE, OPT2] }),
  person({ adherentId: 'A001', nir: '1150175123111', birthDate: '2015-01-20', role: 'E', contracts: [BASE, OPT1] }),
  person({ adherentId: 'A002', nir: '1720175123222', birthDate: '1972-01-01', contracts: [OPT2] }),
  person({ adherentId: 'A002', nir: '2740175123333', birthDate: '1974-05-05', role: 'C', contracts: [OPT1] }),
  person({ adherentId: 'A003', nir: '1600175123444', birthDate: '1960-02-02', contracts: [RELAXEO], start: '2025-01-10' }),
];

interface Draft {
  code: string;
  who: number;
  day: number;
  quantity: number;
  brCents: number;
  overCents: number;
  horsParcours: boolean;
  pfCents: number;
  franchiseCents: number;
  hospital: boolean;
  dptm: boolean;
  side: 'R' | 'L' | null;
  accident: boolean;
}

const draftArb: fc.Arbitrary<Draft> = fc.record({
  code: fc.constantFrom(...CODES),
  who: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
  day: fc.integer({ min: 0, max: 570 }),
  quantity: fc.integer({ min: 1, max: 3 }),
  brCents: fc.integer({ min: 0, max: 150_000 }),
  overCents: fc.integer({ min: 0, max: 200_000 }),
  horsParcours: fc.boolean(),
  pfCents: fc.constantFrom(0, 100, 200),
  franchiseCents: fc.integer({ min: 0, max: 400 }),
  hospital: fc.boolean(),
  dptm: fc.boolean(),
  side: fc.constantFrom('R' as const, 'L' as const, null),
  accident: fc.boolean(),
});

/** A realistic line: FR = BR + dépassement; RO = BR × rate (lower hors parcours); PF + franchise ≤ RO. */
function toLine(d: Draft, n: number): ActLine {
  const e = entryOf(d.code);
  const reimbursed = e.roReimbursed;
  const br = reimbursed ? new Decimal(d.brCents).dividedBy(100) : new Decimal(0);
  const rate = !reimbursed ? '0' : d.horsParcours && Number(e.roRate) > 30 ? '30' : e.roRate;
  const ro = roundCents(br.times(rate).dividedBy(100));
  const roCents = ro.times(100).toNumber();
  const pf = Math.min(d.pfCents, roCents);
  const franchise = Math.min(d.franchiseCents, roCents - pf);
  const careStart = addDays('2024-06-01', d.day);
  return line({
    decompteId: `P${n}`,
    nir: PEOPLE[d.who]!.nir,
    amcMemberId: PEOPLE[d.who]!.adherentId,
    actCode: d.code,
    psSpecialty: d.hospital ? null : '01',
    psDptm: d.dptm,
    careStart,
    careEnd: careStart,
    quantity: d.quantity,
    side: d.side,
    br: br.toFixed(2),
    expense: br.plus(new Decimal(d.overCents).dividedBy(100)).toFixed(2),
    roRate: rate,
    roAmount: ro.toFixed(2),
    pf: centsToMoney(String(pf)),
    franchise: centsToMoney(String(franchise)),
    pathway: d.horsParcours ? 'H' : 'I',
    accident: d.accident,
  });
}

const requestOf = (d: Draft, n: number): LiquidationRequest => ({ line: toLine(d, n), beneficiary: PEOPLE[d.who] });

/** A history: initial lines, with some annulations (same lineKey, operation A) and replays mixed in. */
const historyArb = fc
  .tuple(fc.array(draftArb, { minLength: 1, maxLength: 25 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom<'A' | 'I'>('A', 'I')), { maxLength: 6 }))
  .map(([drafts, extra]) => {
    const requests = drafts.map(requestOf);
    for (const [at, op] of extra) {
      const target = requests[at % requests.length]!;
      requests.push({ ...target, line: { ...target.line, operation: op } });
    }
    return requests;
  });

const CTX = context();

describe('per line', () => {
  it('AMC ≥ 0, RO + AMC ≤ FR, expense = RO + AMC + rest, and PF + franchise stay on the patient', () => {
    fc.assert(
      fc.property(historyArb, (requests) => {
        const initials = requests.filter((r) => r.line.operation === 'I');
        const { settlements } = liquidateAll(initials, CTX);
        for (const [i, s] of settlements.entries()) {
          const l = initials[i]!.line;
          const amc = new Decimal(s.amcAmount);
          expect(amc.gte(0)).toBe(true);
          for (const p of s.parts) expect(new Decimal(p.amount).gte(0)).toBe(true);
          expect(new Decimal(s.roAmount).plus(amc).lte(s.expense)).toBe(true);
          expect(new Decimal(s.roAmount).plus(amc).plus(s.restToPay).toFixed(2)).toBe(s.expense);
          // PF and franchise are deducted by the RO and never covered: the rest includes them
          expect(new Decimal(s.restToPay).gte(new Decimal(l.pf).plus(l.franchise))).toBe(true);
          // the majoration hors parcours is never covered either: AMC ≤ FR − BR × normal rate
          const normal = Decimal.max(entryOf(l.actCode).roRate, l.roRate);
          expect(amc.lte(new Decimal(l.expense).minus(roundCents(new Decimal(l.br).times(normal).dividedBy(100))))).toBe(true);
          // a plain-words reason whenever something is left to pay (a zero line with nothing left needs none)
          if (new Decimal(s.restToPay).gt(0) || s.status === 'rejected' || s.status === 'review') expect(s.reason).not.toBeNull();
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('consumption', () => {
  it('no euro counter (yearly budget or ceiling) grows by more than the line paid', () => {
    // A yearly forfait or ceiling records what the AMC paid out of it: a counter that grew by more
    // would take from the member's next care euros they were never paid. Counter keys end in
    // `|<kind>|<period>`; counts and days (`count`, `days`) are units, not euros.
    const euroKind = (key: string) => /\|(budget|amount)\|[^|]*$/.test(key);
    fc.assert(
      fc.property(fc.array(draftArb, { minLength: 1, maxLength: 25 }), (drafts) => {
        const ledgers = new Map<string, EngineState>();
        for (const [n, d] of drafts.entries()) {
          const request = requestOf(d, n);
          const family = stateKeyOf(request);
          const state = ledgers.get(family) ?? emptyState();
          const { settlement, state: next } = liquidate(request, CTX, state);
          for (const [key, after] of Object.entries(next.counters)) {
            if (!euroKind(key)) continue;
            const grew = new Decimal(after).minus(state.counters[key] ?? '0');
            expect(grew.lte(settlement.amcAmount), `${key} grew by ${grew.toFixed(2)} for a line paying ${settlement.amcAmount}`).toBe(true);
          }
          ledgers.set(family, next);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('layering (socle + surcomplémentaire)', () => {
  it('on a fresh ledger, Base + Option x pays in total what Option x alone pays, and the socle what the Base alone pays', () => {
    // CCN option cells are totals including the Base and never below it, so AMC(option) − AMC(Base) ≥ 0 is the surco
    fc.assert(
      fc.property(draftArb, fc.constantFrom(OPT1, OPT2), (d, option) => {
        const l = toLine({ ...d, who: 0 }, 1);
        const at = (contracts: string[]) => liquidate({ line: l, beneficiary: { ...PEOPLE[0]!, contracts } }, CTX, emptyState()).settlement;
        const layered = at([BASE, option]);
        expect(layered.amcAmount).toBe(at([option]).amcAmount);
        if (layered.status !== 'rejected' && layered.status !== 'review') expect(layered.parts[0]!.amount).toBe(at([BASE]).amcAmount);
      }),
      { numRuns: 300 },
    );
  });
});

describe('state', () => {
  it('one batch or any split with the ledgers carried over gives identical settlements and ledgers', () => {
    fc.assert(
      fc.property(historyArb, fc.array(fc.nat(), { maxLength: 5 }), (requests, cuts) => {
        const whole = liquidateAll(requests, CTX);
        const points = [...new Set(cuts.map((c) => c % (requests.length + 1)))].sort((a, b) => a - b);
        let ledgers = {};
        const settlements: Settlement[] = [];
        let from = 0;
        for (const to of [...points, requests.length]) {
          const out = liquidateAll(requests.slice(from, to), CTX, ledgers);
          settlements.push(...out.settlements);
          ledgers = out.ledgers;
          from = to;
        }
        expect(settlements).toEqual(whole.settlements);
        expect(ledgers).toEqual(whole.ledgers);
      }),
      { numRuns: 100 },
    );
  });

  it('an estimate never changes the state, and tells what liquidating would pay', () => {
    fc.assert(
      fc.property(historyArb, draftArb, (requests, d) => {
        const b = PEOPLE[d.who]!;
        const { ledgers } = liquidateAll(requests, CTX);
        const state: EngineState = ledgers[b.adherentId] ?? emptyState();
        const snapshot = structuredClone(state);
        const request = requestOf(d, 999);
        const quote = estimate(request, CTX, state);
        expect(state).toEqual(snapshot);
        expect(quote).toEqual(liquidate(request, CTX, state).settlement);
      }),
      { numRuns: 100 },
    );
  });

  it('an annulation right after the initial line gives back its counters and renewals, and the next line is paid as if it never happened', () => {
    // drop zero counters and empty renewal lists: "never consumed" and "released to 0" are the same state
    const normalized = (s: EngineState) => ({
      counters: Object.fromEntries(Object.entries(s.counters).filter(([, v]) => !new Decimal(v).isZero())),
      renewals: Object.fromEntries(Object.entries(s.renewals).filter(([, v]) => v.length > 0)),
    });
    fc.assert(
      fc.property(fc.array(draftArb, { maxLength: 12 }), draftArb, draftArb, (before, d, after) => {
        // PEOPLE 0–2 are family A001 (Base; Base + Option 2; a child on Base + Option 1)
        const who = { ...d, who: d.who % 3 };
        const next = { ...after, who: after.who % 3 };
        const history = liquidateAll(before.map(requestOf), CTX).ledgers['A001'] ?? emptyState();
        const initial = requestOf(who, 500);
        const i = liquidate(initial, CTX, history);
        const a = liquidate({ ...initial, line: { ...initial.line, operation: 'A' } }, CTX, i.state);
        expect(normalized(a.state)).toEqual(normalized(history));
        expect(new Decimal(a.settlement.amcAmount).plus(i.settlement.amcAmount).isZero()).toBe(true);
        const without = liquidate(requestOf(next, 501), CTX, history).settlement;
        const withAnnulled = liquidate(requestOf(next, 501), CTX, a.state).settlement;
        expect([withAnnulled.status, withAnnulled.amcAmount, withAnnulled.parts]).toEqual([without.status, without.amcAmount, without.parts]);
      }),
      { numRuns: 150 },
    );
  });
});
