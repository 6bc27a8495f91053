import { Decimal } from 'decimal.js';
import type { ActLine } from '../model/act-line.js';
import { gridById, type Grid } from '../model/grid.js';
import { nomenclatureEntry } from '../model/nomenclature.js';
import type { Beneficiary } from '../model/reference.js';
import type { Settlement, SettlementStatus } from '../model/settlement.js';
import { checkAffiliation, checkEligibility } from './eligibility.js';
import { describePeriod, levelOn } from './levels.js';
import { explain } from './explain.js';
import { lineFacts, posteOf, settingOf } from './facts.js';
import { liquidateGrid } from './grid-liquidation.js';
import { layer, unique } from './layering.js';
import { splitStay } from './stay.js';
import { decideStay } from './stay-decision.js';
import { implausibility } from './plausibility.js';
import { hashInputs } from './hash.js';
import type { CounterMove, Effects } from './state.js';
import type { EngineState, LiquidationContext, LiquidationRequest } from './types.js';
import { formatMoney as money } from '../model/money.js';


/**
 * The decision for one initial line (operation I) against the state before it: the settlement
 * (without version and counters, which the caller completes) and the effects on the state.
 * Order: beneficiary known → member number agrees with the membership → act code mapped → grids exist → eligibility → each grid → layering.
 */
export interface Decision {
  settlement: Omit<Settlement, 'version' | 'counters'>;
  effects: Effects;
  renewalMoves: CounterMove[];
}


/** tp 15 (RO + AMC) and 25 (AMC only) pay the professional; 00 and 05 (RO part only in TP) pay the member. */
export function payeeOf(line: Pick<ActLine, 'tp' | 'psId'>): string {
  return line.tp === '15' || line.tp === '25' ? `ps:${line.psId}` : 'member';
}

function shell(line: ActLine, lineKey: string, b: Beneficiary | undefined): Decision['settlement'] {
  const roNet = new Decimal(line.roAmount).minus(line.pf).minus(line.franchise);
  return {
    lineKey,
    beneficiary: { nir: line.nir, rang: line.rang },
    adherentId: b?.adherentId ?? null,
    careDate: line.careStart,
    actCode: line.actCode,
    poste: null,
    status: 'zero',
    reason: null,
    expense: line.expense,
    roAmount: money(roNet),
    amcAmount: '0.00',
    parts: [],
    restToPay: money(new Decimal(line.expense).minus(roNet)),
    payee: payeeOf(line),
    operation: line.operation,
    tp: line.tp,
    psId: line.psId,
    inputHash: '',
  };
}

const NO_EFFECTS: Effects = { consumed: [], renewals: [] };

function only(s: Decision['settlement'], status: SettlementStatus, reason: string, hashed: unknown): Decision {
  return { settlement: { ...s, status, reason, inputHash: hashInputs({ hashed, status, reason }) }, effects: NO_EFFECTS, renewalMoves: [] };
}

/** `lineHash` is hashInputs(line), computed once by the caller: the hashes below read it instead of walking the line again. */
export function decide(request: LiquidationRequest, ctx: LiquidationContext, state: EngineState, lineKey: string, lineHash: string): Decision {
  const { line, beneficiary: b } = request;
  const s = shell(line, lineKey, b);
  if (!b) return only(s, 'review', `unknown beneficiary: nobody with this NIR and rang ${line.rang} (member number ${line.amcMemberId}); the line waits for the membership file`, { line: lineHash });
  // The family (ledger, partition) is the membership's; a line claiming another adhérent is a
  // data error upstream (caisse file or membership out of date) that a person must settle.
  if (line.amcMemberId !== b.adherentId) return only(s, 'review', `member number ${line.amcMemberId} on the line disagrees with the membership file, where this beneficiary (rang ${line.rang}) belongs to adhérent ${b.adherentId}: check the membership before paying`, { line: lineHash, b: b.adherentId });
  const entry = nomenclatureEntry(ctx.nomenclature, line.actCode);
  if (!entry) return only(s, 'review', `act code ${line.actCode} is not in the nomenclature: no poste to apply; map it, then replay the line`, { line: lineHash, b });
  s.poste = posteOf(entry, settingOf(line));
  // Before anything reads the amounts: an absurd figure is never liquidated, whoever the person.
  const implausible = implausibility(line, entry);
  if (implausible) return only(s, 'review', implausible, { line: lineHash, b, entry });
  // The level in force on the date of care (the period containing it when the membership gives a
  // history); no period → no cover that day, unless the affiliation itself says why more precisely.
  const level = levelOn(b, line.careStart);
  if (!level) {
    const why = checkAffiliation(b, line.careStart)?.reason
      ?? `no cover on ${line.careStart}: no contract period of the beneficiary contains that date (periods: ${(b.contractPeriods ?? []).map(describePeriod).join(', ') || 'none'})`;
    return only(s, 'rejected', why, { line: lineHash, b });
  }
  const grids: Grid[] = [];
  for (const id of level.contracts) {
    const g = gridById(ctx.grids, id);
    if (!g) return only(s, 'review', `the beneficiary's contract ${id} has no guarantee grid loaded`, { line: lineHash, b });
    grids.push(g);
  }
  // The claim is made when it reaches the AMC: for a NOEMIE line, the day the RO paid it (the
  // décompte follows); for an invoice, the liquidation date. Judging NOEMIE lines on their own date
  // keeps a replay next year from time-barring what was claimed in time.
  const claimedOn = line.roPaymentDate ?? ctx.asOf;
  const verdict = checkEligibility(b, grids[0]!, line.careStart, claimedOn);
  if (verdict) return only(s, verdict.status, verdict.reason, { line: lineHash, b, socle: grids[0]!.eligibility ?? null });

  const facts = lineFacts(line, b, entry, ctx.pmss[Number(line.careStart.slice(0, 4))]);
  // A stay across a period boundary: each day in its own period (stay.ts).
  const split = splitStay(line, entry, grids, b);
  if (split.kind === 'review') return only(s, 'review', split.reason, { line: lineHash, b, entry });
  if (split.kind === 'slices') return decideStay({ shell: s, facts, grids, slices: split.slices, pmss: ctx.pmss, claimedOn, state, lineKey, lineHash });

  const outcomes = grids.map((g, layer) => liquidateGrid(g, facts, state, lineKey, level.period ? { layer, grids: ctx.grids } : undefined));
  const inputHash = hashInputs({ line: lineHash, b, entry, pmss: facts.pmss?.toFixed(2) ?? null, grids: outcomes.map((o) => o.reads) });
  const review = outcomes.find((o) => o.review !== null);
  if (review) return only(s, 'review', review.review!, inputHash);

  // Which period (level) produced the amounts, when the membership gives a history.
  const inForce = level.period ? `level in force on ${line.careStart}: ${level.contracts.join(' + ')} (period ${describePeriod(level.period)}); ` : '';
  const { parts, total, rest, decisive } = layer(outcomes, facts, inForce);
  return {
    settlement: {
      ...s,
      status: total.gt(0) ? 'paid' : 'zero',
      reason: explain(facts, decisive, rest),
      amcAmount: money(total),
      parts,
      restToPay: money(rest),
      inputHash,
    },
    effects: { consumed: outcomes.flatMap((o) => o.consumed), renewals: unique(outcomes.flatMap((o) => o.renewals)) },
    renewalMoves: unique(outcomes.flatMap((o) => o.renewalMoves)),
  };
}
