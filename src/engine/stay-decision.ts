import { Decimal } from 'decimal.js';
import type { Grid } from '../model/grid.js';
import { ageOn, type IsoDate } from '../model/dates.js';
import { formatMoney as money } from '../model/money.js';
import type { PmssTable } from '../model/reference.js';
import type { PartSlice, SettlementPart } from '../model/settlement.js';
import type { Decision } from './decide.js';
import { checkEligibility } from './eligibility.js';
import { explain } from './explain.js';
import type { LineFacts } from './facts.js';
import { liquidateGrid, type GridOutcome } from './grid-liquidation.js';
import { hashInputs } from './hash.js';
import { layer, unique } from './layering.js';
import { counterKind, moveCounters } from './state.js';
import { sliceFacts, sliceLabel, type StaySlice } from './stay.js';
import type { Consumption, EngineState } from './types.js';

/**
 * The decision for a stay split into period slices (stay.ts): each slice is liquidated like a line
 * of its own — every grid against the counters of its period, then layered and held to RO + AMC ≤ FR
 * on its share of the figures — in date order, each slice seeing what the earlier ones consumed (two
 * slices may share a counter: a RELAXEO insurance year holds a 1 January). The settlement is the
 * sum: one part per contract whose `slices` say what each period paid under which rule, and whose
 * formula shows each period's computation. What the line consumed lists each period's counter, so
 * an annulation or a replay gives back exactly what each period took.
 */
export interface StayInput {
  shell: Decision['settlement'];
  facts: LineFacts;
  grids: readonly Grid[];
  slices: readonly StaySlice[];
  pmss: PmssTable;
  /** when the claim reached the AMC (eligibility of each later slice) */
  claimedOn: IsoDate;
  state: EngineState;
  lineKey: string;
  lineHash: string;
}

interface SliceResult {
  slice: StaySlice;
  facts: LineFacts;
  outcomes: GridOutcome[];
  parts: SettlementPart[];
  total: Decimal;
  rest: Decimal;
  decisive: GridOutcome;
}

export function decideStay(input: StayInput): Decision {
  const { shell: s, facts, grids, slices, state, lineKey, lineHash } = input;
  const b = facts.beneficiary;
  const unit = facts.entry.unit;
  const perSlice = sliceFacts(facts, slices, input.pmss, (date) => ageOn(b.birthDate, date));
  const results: SliceResult[] = [];
  let running = state;
  for (const [i, slice] of slices.entries()) {
    const f = perSlice[i]!;
    // The line's first day was judged by decide(); a later period may fall after the affiliation
    // end (a résiliation on 31 December) or in a suspension: its days are not covered.
    const refused = i > 0 ? checkEligibility(b, grids[0]!, slice.from, input.claimedOn) : null;
    const outcomes = refused?.status === 'rejected' ? grids.map((g) => notCovered(g.id, refused.reason)) : grids.map((g) => liquidateGrid(g, f, running, lineKey));
    const review = outcomes.find((o) => o.review !== null);
    if (review) {
      const reason = `${sliceLabel(slice, unit)}: ${review.review!}`;
      const inputHash = hashInputs({ hashed: { line: lineHash, b, entry: facts.entry, slice, grids: outcomes.map((o) => o.reads) }, status: 'review', reason });
      return { settlement: { ...s, status: 'review', reason, inputHash }, effects: { consumed: [], renewals: [] }, renewalMoves: [] };
    }
    results.push({ slice, facts: f, outcomes, ...layer(outcomes, f) });
    running = { ...running, counters: moveCounters(running.counters, outcomes.flatMap((o) => o.consumed), 1).counters };
  }

  const inputHash = hashInputs({
    line: lineHash,
    b,
    entry: facts.entry,
    slices: results.map((r) => ({ from: r.slice.from, to: r.slice.to, units: r.slice.units, pmss: r.facts.pmss?.toFixed(2) ?? null, grids: r.outcomes.map((o) => o.reads) })),
  });
  const parts = grids.map((g, c) => sumPart(g.id, results, c, unit));
  const total = results.reduce((t, r) => t.plus(r.total), new Decimal(0));
  const rest = results.reduce((t, r) => t.plus(r.rest), new Decimal(0));
  const outcomes = results.flatMap((r) => r.outcomes);
  return {
    settlement: {
      ...s,
      status: total.gt(0) ? 'paid' : 'zero',
      reason: rest.gt(0) ? reasonOf(results, unit) : null,
      amcAmount: money(total),
      parts,
      restToPay: money(rest),
      inputHash,
    },
    effects: { consumed: mergeConsumed(outcomes.flatMap((o) => o.consumed)), renewals: unique(outcomes.flatMap((o) => o.renewals)) },
    renewalMoves: unique(outcomes.flatMap((o) => o.renewalMoves)),
  };
}

function notCovered(contract: string, reason: string): GridOutcome {
  return {
    contract, amc: new Decimal(0), rule: null, formula: `not covered: ${reason}`, reasons: [reason], capped: false,
    consumed: [], renewals: [], renewalMoves: [], review: null, reads: { notCovered: reason },
  };
}

/** Contract `c`'s part: the sum of its slices, each slice naming its days, period, rule and computation. */
function sumPart(contract: string, results: readonly SliceResult[], c: number, unit: string): SettlementPart {
  const slices: PartSlice[] = results.map((r) => {
    const p = r.parts[c]!;
    return { from: r.slice.from, to: r.slice.to, units: r.slice.units, period: r.slice.period, amount: p.amount, ...(p.rule ? { rule: p.rule } : {}), formula: p.formula ?? '' };
  });
  const amount = slices.reduce((t, x) => t.plus(x.amount), new Decimal(0));
  const rules = [...new Set(slices.flatMap((x) => (x.rule ? [x.rule] : [])))];
  const formula = `${results.map((r, k) => `[${sliceLabel(r.slice, unit)}] ${slices[k]!.formula} → ${slices[k]!.amount}`).join(' | ')}; total ${slices.map((x) => x.amount).join(' + ')} = ${money(amount)}`;
  return { contract, amount: money(amount), ...(rules.length > 0 ? { rule: rules.join(' + ') } : {}), formula, slices };
}

/** Why the rest to pay: each period's own reason, named by its period when they differ. */
function reasonOf(results: readonly SliceResult[], unit: string): string | null {
  const each = results.map((r) => ({ label: sliceLabel(r.slice, unit), reason: explain(r.facts, r.decisive, r.rest) }));
  const reasons = each.filter((e) => e.reason !== null);
  if (reasons.length === 0) return null;
  const distinct = new Set(reasons.map((e) => e.reason));
  if (distinct.size === 1 && reasons.length === results.length) return reasons[0]!.reason;
  return reasons.map((e) => `${e.label}: ${e.reason}`).join('; ');
}

/** One consumption per counter: two slices in the same period of a grid (a stay over 1 January in an insurance year) add up. */
function mergeConsumed(consumed: readonly Consumption[]): Consumption[] {
  const byKey = new Map<string, Decimal>();
  for (const c of consumed) byKey.set(c.key, (byKey.get(c.key) ?? new Decimal(0)).plus(c.amount));
  return [...byKey].map(([key, v]) => {
    const kind = counterKind(key);
    return { key, amount: kind === 'amount' || kind === 'budget' ? v.toFixed(2) : v.toFixed(0) };
  });
}
