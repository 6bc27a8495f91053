import { Decimal } from 'decimal.js';
import { lineKeyOf } from '../model/act-line.js';
import type { Settlement, SettlementPart } from '../model/settlement.js';
import { decide, payeeOf } from './decide.js';
import { hashInputs, lineHashOf, namesLine } from './hash.js';
import { applyEffects, lineRecord, releaseLine, withLine, type CounterMove } from './state.js';
import type { EngineState, LineRecord, Liquidation, LiquidationContext, LiquidationRequest } from './types.js';

/**
 * The decider: `liquidate(request, context, state) → { settlement, state }`, pure and
 * deterministic (same inputs, same outputs; the given state is never changed).
 * - operation I: a line seen before (replay, correction) first gives back what its previous
 *   version consumed, then is decided afresh; the version increments.
 * - operation A: reverses the last version of the same lineKey (amounts negated, counters and
 *   renewals released); the payee is the one paid originally (an indu to recover when > 0).
 * Versions: (lineKey, version) names one settlement content. Every decision that differs from the
 * recorded one is recorded with the next version — reviews, rejections and unknown beneficiaries
 * included (stateKeyOf gives the latter a ledger) — and a record seen again that changes nothing
 * returns the recorded version with the ledger untouched (nothing to publish: same inputHash, or
 * the same outcome).
 * A line once annulled stays annulled: its initial record seen again (same content hash) is a
 * no-op; any other initial under that lineKey is `review`, never paid (an annulation that came
 * before its initial, or a décompte number reused: a person decides).
 */
export function liquidate(request: LiquidationRequest, context: LiquidationContext, state: EngineState): Liquidation {
  const lineKey = lineKeyOf(request.line);
  const previous = lineRecord(state, lineKey);
  const version = request.version ?? (previous ? previous.version + 1 : 1);
  // What this record says, whatever the reference data: recognises the same record seen again
  // (hash.ts lineHashOf; a ledger's older `fnv1a64:` hashes are matched by `namesLine`).
  const lineHash = lineHashOf(request.line);
  if (request.line.operation === 'A') return annul(request, state, lineKey, previous, version, lineHash);
  if (previous?.operation === 'A') return afterAnnulation(request, state, lineKey, previous, version, lineHash);

  const released = previous ? releaseLine(state, lineKey, previous) : { state, moves: [] };
  const d = decide(request, context, released.state, lineKey, lineHash);
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
    parts: d.settlement.parts.map(ledgerPart),
    consumed: d.effects.consumed,
    renewals: d.effects.renewals,
    inputHash: d.settlement.inputHash ?? '',
    lineHash,
  };
  // A line seen again that decides exactly as before (a replay, a redelivery) is nothing new: same
  // version, ledger untouched, so downstream stages see a duplicate they already dedupe on.
  if (previous && request.version === undefined && sameOutcome(previous, record)) {
    return { settlement: { ...d.settlement, version: previous.version, counters: [] }, state };
  }
  // An unknown beneficiary consumes nothing (decide returns no effects), but its version is recorded.
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

function shellOf(request: LiquidationRequest, lineKey: string, version: number): Settlement {
  const { line } = request;
  return {
    lineKey, beneficiary: { nir: line.nir, rang: line.rang }, adherentId: request.beneficiary?.adherentId ?? null,
    careDate: line.careStart, actCode: line.actCode, poste: null, status: 'zero', reason: null,
    expense: '0.00', roAmount: '0.00', amcAmount: '0.00', parts: [], restToPay: '0.00',
    payee: payeeOf(line), counters: [], version, operation: line.operation, tp: line.tp, psId: line.psId, inputHash: '',
  };
}

/** The recorded version of a line, returned when a record seen again changes nothing (not to publish). */
function unchanged(request: LiquidationRequest, state: EngineState, lineKey: string, previous: LineRecord, reason: string): Liquidation {
  const settlement: Settlement = {
    ...shellOf(request, lineKey, previous.version),
    operation: previous.operation, status: previous.status, reason,
    expense: previous.expense, roAmount: previous.roAmount, amcAmount: previous.amcAmount, restToPay: previous.restToPay,
    parts: previous.parts, payee: previous.payee, inputHash: previous.inputHash,
  };
  return { settlement, state };
}

/** An annulled line's record, one more content settled against it: a new version, nothing consumed, zero amounts. */
function annulledRecord(previous: LineRecord | undefined, settlement: Settlement, lineHash: string, reversed: string | undefined): LineRecord {
  return {
    version: settlement.version, operation: 'A', status: settlement.status, payee: settlement.payee,
    expense: settlement.expense, roAmount: settlement.roAmount, amcAmount: settlement.amcAmount, restToPay: settlement.restToPay,
    parts: settlement.parts.map(ledgerPart), consumed: [], renewals: [], inputHash: settlement.inputHash ?? '',
    ...(reversed !== undefined ? { reversed } : {}),
    seen: [...(previous?.seen ?? []), lineHash],
  };
}

/**
 * An initial record for a line the RO annulled. Its own initial seen again (the reversed hash, or a
 * record already settled here) is nothing new; anything else is review: nothing is reopened or paid
 * on a line the RO annulled without a person deciding.
 */
function afterAnnulation(request: LiquidationRequest, state: EngineState, lineKey: string, previous: LineRecord, version: number, lineHash: string): Liquidation {
  if (request.version === undefined && namesLine([previous.reversed, ...(previous.seen ?? [])], lineHash, request.line)) {
    return unchanged(request, state, lineKey, previous, `line annulled by the RO (version ${previous.version}): this record was already settled; seen again, it changes nothing`);
  }
  const why = previous.reversed === ''
    ? `line annulled by the RO (version ${previous.version}) before this initial record arrived: not paid; check with the caisse which of the two stands`
    : previous.reversed === undefined
      ? `line annulled by the RO (version ${previous.version}); whether this initial record is the one annulled is not known: not paid, check with the caisse`
      : `line annulled by the RO (version ${previous.version}); this initial record differs from the one annulled (same décompte and line number): not paid, check with the caisse`;
  const settlement: Settlement = { ...shellOf(request, lineKey, version), status: 'review', reason: why, inputHash: hashInputs({ lineHash, previous: previous.inputHash, version: previous.version }) };
  const record = annulledRecord(previous, settlement, lineHash, previous.reversed);
  return { settlement, state: { ...state, lines: withLine(state.lines, lineKey, record) } };
}

function annul(request: LiquidationRequest, state: EngineState, lineKey: string, previous: LineRecord | undefined, version: number, lineHash: string): Liquidation {
  const base = shellOf(request, lineKey, version);
  if (previous?.operation === 'A' && request.version === undefined && namesLine(previous.seen ?? [], lineHash, request.line)) {
    return unchanged(request, state, lineKey, previous, `annulation already settled (version ${previous.version}): seen again, it changes nothing`);
  }
  if (!previous || previous.operation === 'A') {
    const reason = previous
      ? `annulation of a line already annulled (version ${previous.version}): nothing left to reverse`
      : 'annulation of a line never liquidated: nothing to reverse; check the original décompte';
    const settlement = { ...base, status: previous ? 'zero' : 'review', reason, inputHash: hashInputs({ line: lineHash, previous: previous?.inputHash ?? null }) } satisfies Settlement;
    // Recorded: the initial that may follow must get the next version, and must not be paid.
    const record = annulledRecord(previous, settlement, lineHash, previous ? previous.reversed : '');
    return { settlement, state: { ...state, lines: withLine(state.lines, lineKey, record) } };
  }
  const neg = (m: string) => new Decimal(m).negated().toFixed(2);
  // A stay's part reverses period by period: each slice's amount is given back to its period.
  const parts: SettlementPart[] = previous.parts.map((p) => ({
    ...p,
    amount: neg(p.amount),
    formula: `reverses version ${previous.version}: −${p.amount}`,
    ...(p.slices ? { slices: p.slices.map((x) => ({ ...x, amount: neg(x.amount), formula: `reverses ${x.period}: −${x.amount}` })) } : {}),
  }));
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
    inputHash: hashInputs({ line: lineHash, previous: previous.inputHash, version: previous.version }),
  };
  const record: LineRecord = { ...annulledRecord(undefined, settlement, lineHash, previous.lineHash), parts };
  return { settlement, state: { ...released.state, lines: withLine(released.state.lines, lineKey, record) } };
}

/** The formulas stay in the settlement; the ledger keeps what an annulation needs (memory). */
function ledgerPart({ formula: _formula, ...p }: SettlementPart): SettlementPart {
  return p.slices ? { ...p, slices: p.slices.map(({ formula: _f, ...x }) => x) } : p;
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


/** Same decision, same consumption: what a replay must not publish again (the line's own hash aside: an equivalent record changes nothing). */
function sameOutcome(previous: LineRecord, next: LineRecord): boolean {
  const { version: _pv, inputHash: _ph, lineHash: _pl, ...a } = previous;
  const { version: _nv, inputHash: _nh, lineHash: _nl, ...b } = next;
  return previous.operation === 'I' && JSON.stringify(a) === JSON.stringify(b);
}
