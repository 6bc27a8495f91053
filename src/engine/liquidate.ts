import { Decimal } from 'decimal.js';
import { lineKeyOf } from '../model/act-line.js';
import type { Settlement, SettlementPart } from '../model/settlement.js';
import { decide, payeeOf } from './decide.js';
import { hashInputs } from './hash.js';
import { applyEffects, lineRecord, releaseLine, withLine, type CounterMove } from './state.js';
import type { EngineState, LineRecord, Liquidation, LiquidationContext, LiquidationRequest } from './types.js';

/**
 * The decider: `liquidate(request, context, state) → { settlement, state }`, pure and
 * deterministic (same inputs, same outputs; the given state is never changed).
 * - operation I: a line seen before (replay, correction) first gives back what its previous
 *   version consumed, then is decided afresh; the version increments.
 * - operation A: reverses the last version of the same lineKey (amounts negated, counters and
 *   renewals released); the payee is the one paid originally (an indu to recover when > 0).
 */
export function liquidate(request: LiquidationRequest, context: LiquidationContext, state: EngineState): Liquidation {
  const lineKey = lineKeyOf(request.line);
  const previous = lineRecord(state, lineKey);
  const version = request.version ?? (previous ? previous.version + 1 : 1);
  if (request.line.operation === 'A') return annul(request, state, lineKey, previous, version);

  const released = previous ? releaseLine(state, lineKey, previous) : { state, moves: [] };
  const d = decide(request, context, released.state, lineKey);
  const record: LineRecord = {
    version,
    operation: 'I',
    status: d.settlement.status,
    payee: d.settlement.payee,
    expense: d.settlement.expense,
    roAmount: d.settlement.roAmount,
    amcAmount: d.settlement.amcAmount,
    restToPay: d.settlement.restToPay,
    // The formulas stay in the settlement; the ledger keeps what an annulation needs (memory).
    parts: d.settlement.parts.map(({ formula: _formula, ...p }) => p),
    consumed: d.effects.consumed,
    renewals: d.effects.renewals,
    inputHash: d.settlement.inputHash ?? '',
  };
  // An unknown beneficiary has no ledger: nothing to remember, nothing consumed.
  if (!request.beneficiary) return { settlement: { ...d.settlement, version, counters: [] }, state };
  // A line seen again that decides exactly as before (a replay, a redelivery) is nothing new: same
  // version, ledger untouched, so downstream stages see a duplicate they already dedupe on.
  if (previous && request.version === undefined && sameOutcome(previous, record)) {
    return { settlement: { ...d.settlement, version: previous.version, counters: [] }, state };
  }
  const applied = applyEffects(released.state, lineKey, d.effects, record);
  const renewed = new Set(d.renewalMoves.map((m) => m.key));
  const counters = [
    ...mergeMoves([...released.moves, ...applied.moves]),
    ...releasedRenewals(previous).filter((m) => !renewed.has(m.key)),
    ...d.renewalMoves,
  ];
  return { settlement: { ...d.settlement, version, counters }, state: applied.state };
}

/** Devis conseil: the same computation, nothing consumed (the counters show what it would consume). */
export function estimate(request: LiquidationRequest, context: LiquidationContext, state: EngineState): Settlement {
  return liquidate(request, context, state).settlement;
}

function annul(request: LiquidationRequest, state: EngineState, lineKey: string, previous: LineRecord | undefined, version: number): Liquidation {
  const { line } = request;
  const base: Settlement = {
    lineKey, beneficiary: { nir: line.nir, rang: line.rang }, adherentId: request.beneficiary?.adherentId ?? null,
    careDate: line.careStart, actCode: line.actCode, poste: null, status: 'zero', reason: null,
    expense: '0.00', roAmount: '0.00', amcAmount: '0.00', parts: [], restToPay: '0.00',
    payee: payeeOf(line), counters: [], version, operation: 'A', tp: line.tp, psId: line.psId, inputHash: '',
  };
  if (!previous || previous.operation === 'A') {
    const reason = previous
      ? `annulation of a line already annulled (version ${previous.version}): nothing left to reverse`
      : 'annulation of a line never liquidated: nothing to reverse; check the original décompte';
    const settlement = { ...base, status: previous ? 'zero' : 'review', reason, inputHash: hashInputs({ line, previous: previous?.inputHash ?? null }) } satisfies Settlement;
    return { settlement, state };
  }
  const neg = (m: string) => new Decimal(m).negated().toFixed(2);
  const parts: SettlementPart[] = previous.parts.map((p) => ({ ...p, amount: neg(p.amount), formula: `reverses version ${previous.version}: −${p.amount}` }));
  const amc = new Decimal(previous.amcAmount);
  const released = releaseLine(state, lineKey, previous);
  const settlement: Settlement = {
    ...base,
    status: amc.isZero() ? 'zero' : 'paid',
    reason: `annulled by the RO: reverses version ${previous.version}${amc.gt(0) ? `, ${previous.amcAmount} to recover (${previous.payee})` : ''}`,
    expense: neg(previous.expense),
    roAmount: neg(previous.roAmount),
    amcAmount: neg(previous.amcAmount),
    parts,
    restToPay: neg(previous.restToPay),
    payee: previous.payee,
    counters: mergeMoves([...released.moves, ...releasedRenewals(previous)]),
    inputHash: hashInputs({ line, previous: previous.inputHash, version: previous.version }),
  };
  const record: LineRecord = {
    ...previous, version, operation: 'A', status: settlement.status, amcAmount: settlement.amcAmount,
    expense: settlement.expense, roAmount: settlement.roAmount, restToPay: settlement.restToPay, parts,
    consumed: [], renewals: [], inputHash: settlement.inputHash ?? '',
  };
  return { settlement, state: { ...released.state, lines: withLine(released.state.lines, lineKey, record) } };
}

function releasedRenewals(previous: LineRecord | undefined): CounterMove[] {
  return (previous?.renewals ?? []).map((r) => ({ key: r.key, before: `${r.entry.date}:+${r.entry.units}`, after: 'released' }));
}

/** A key released then consumed again shows once: its value before the line, and after. */
function mergeMoves(moves: CounterMove[]): CounterMove[] {
  const byKey = new Map<string, CounterMove>();
  for (const m of moves) {
    const seen = byKey.get(m.key);
    byKey.set(m.key, seen ? { key: m.key, before: seen.before, after: m.after } : m);
  }
  return [...byKey.values()];
}


/** Same decision, same consumption: what a replay must not publish again. */
function sameOutcome(previous: LineRecord, next: LineRecord): boolean {
  const { version: _pv, inputHash: _ph, ...a } = previous;
  const { version: _nv, inputHash: _nh, ...b } = next;
  return previous.operation === 'I' && JSON.stringify(a) === JSON.stringify(b);
}
