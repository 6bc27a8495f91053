import { Decimal } from 'decimal.js';
import type { Settlement, SettlementPart, SettlementStatus } from '../../model/settlement.js';
import { payeeOf } from '../decide.js';
import { posteOf, settingOf } from '../facts.js';
import { implausibility } from '../plausibility.js';
import type { CounterMove, Effects } from '../state.js';
import type { LiquidationRequest } from '../types.js';
import type { EngineState } from '../types.js';
import { cents, flat, money, divHalfUp, ratioLt, type Ratio } from './cents.js';
import type { CompiledReference } from './compile.js';
import { splitStay } from '../stay.js';
import { FALLBACK, liquidateGridCents, type CentsFacts, type CentsOutcome, type Fallback } from './grid.js';
import { hashOfTokens, nested, str } from './digest.js';
import { Fnv } from '../hash.js';

/**
 * decide.ts in integer cents: the decision for one initial line against the family's state before
 * it, with the same settlement (every field, every text) and the same effects, or FALLBACK when a
 * step needs decimal.js. Nothing here changes the state: the caller commits the effects.
 */
export interface CentsDecision {
  /** the settlement itself, in liquidate.ts's key order; the caller sets `counters` when it commits */
  settlement: Settlement;
  effects: Effects;
  renewalMoves: CounterMove[];
}

const NO_EFFECTS: Effects = { consumed: [], renewals: [] };
// Replaced by the caller's moves before the settlement leaves the kernel; never pushed to.
const NO_MOVES: CounterMove[] = [];

/** `hashed`: the token of decide.ts's `hashed` (an object's as `#digest`, the input hash's as a string). */
function only(s: Settlement, status: SettlementStatus, reason: string, hashed: string): CentsDecision {
  // decide.ts only(): hashInputs({ hashed, status, reason })
  s.status = status;
  s.reason = reason;
  s.inputHash = hashOfTokens(`{hashed:${hashed},reason:${str(reason)},status:${str(status)},}`);
  return { settlement: s, effects: NO_EFFECTS, renewalMoves: [] };
}

/** The line's token in the hash of a decision that stopped early (built only then). */
function lineToken(lineHash: string): string {
  return `line:${str(lineHash)},`;
}

/** The winner of max(entry rate, line rate), as decide.ts's Decimal.max keeps it. */
function normalRateOf(entryRate: Ratio, lineRate: Ratio): Ratio {
  return ratioLt(entryRate, lineRate) ? lineRate : entryRate;
}

export function decideCents(
  request: LiquidationRequest,
  ref: CompiledReference,
  asOf: string,
  state: EngineState,
  lineKey: string,
  lineHash: string,
  beneficiaryToken: (b: NonNullable<LiquidationRequest['beneficiary']>) => string,
): CentsDecision | Fallback {
  const { line, beneficiary: b } = request;
  const expense = cents(line.expense);
  const roGross = cents(line.roAmount);
  const pf = cents(line.pf);
  const franchise = cents(line.franchise);
  const br = cents(line.br);
  if (Number.isNaN(expense + roGross + pf + franchise + br) || expense < 0 || roGross < 0 || pf < 0 || franchise < 0 || br < 0) return FALLBACK;
  const roNet = roGross - pf - franchise;
  // One object for the whole decision, with every key in liquidate.ts's order ({ ...settlement,
  // version, counters }): filled in as the decision goes, never copied.
  const s: Settlement = {
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
    restToPay: money(expense - roNet),
    payee: payeeOf(line),
    operation: line.operation,
    tp: line.tp,
    psId: line.psId,
    inputHash: '',
    version: request.version ?? 1,
    counters: NO_MOVES,
  };
  if (!b) return only(s, 'review', `unknown beneficiary: nobody with this NIR and rang ${line.rang} (member number ${line.amcMemberId}); the line waits for the membership file`, nested(`{${lineToken(lineHash)}}`));
  if (line.amcMemberId !== b.adherentId) return only(s, 'review', `member number ${line.amcMemberId} on the line disagrees with the membership file, where this beneficiary (rang ${line.rang}) belongs to adhérent ${b.adherentId}: check the membership before paying`, nested(`{b:${str(b.adherentId)},${lineToken(lineHash)}}`));
  const bToken = beneficiaryToken(b);
  const ce = ref.entry(line.actCode);
  if (!ce) return only(s, 'review', `act code ${line.actCode} is not in the nomenclature: no poste to apply; map it, then replay the line`, nested(`{b:${bToken},${lineToken(lineHash)}}`));
  const entry = ce.entry;
  const setting = settingOf(line);
  const poste = posteOf(entry, setting);
  s.poste = poste;
  const implausible = implausibility(line, entry);
  if (implausible) return only(s, 'review', implausible, nested(`{b:${bToken},entry:${ce.token},${lineToken(lineHash)}}`));
  // A dated level history (levels.ts: level in force, carried counters, prorated ceilings) is the
  // decimal path's: rare, and its rules are not ported.
  if (b.contractPeriods !== undefined) return FALLBACK;
  const grids = ref.gridsOf(b.contracts);
  if (typeof grids === 'string') return only(s, 'review', `the beneficiary's contract ${grids} has no guarantee grid loaded`, nested(`{b:${bToken},${lineToken(lineHash)}}`));
  const claimedOn = line.roPaymentDate ?? asOf;
  const age = ageOn(b.birthDate, line.careStart);
  const verdict = ref.eligibility.check(b, grids[0]!.grid, line.careStart, claimedOn, age);
  if (verdict) return only(s, verdict.status, verdict.reason, nested(`{b:${bToken},${lineToken(lineHash)}socle:${grids[0]!.eligibilityToken},}`));
  // A stay across a period boundary is sliced day by day (stay.ts): the decimal path's too.
  // (splitStay's own first test, before it is called: most lines are one day.)
  if (line.careEnd > line.careStart && (entry.unit === 'day' || entry.unit === 'night') && splitStay(line, entry, grids.map((g) => g.grid), b).kind !== 'whole') return FALLBACK;

  if (!ce.exact || !ce.roRate) return FALLBACK;
  const lineRate = ref.rate(line.roRate);
  if (!lineRate) return FALLBACK;
  const normalRate = normalRateOf(ce.roRate, lineRate);
  const mrnProduct = br * normalRate.num;
  if (!Number.isSafeInteger(mrnProduct)) return FALLBACK;
  const pmss = ref.pmssOf(digits(line.careStart, 0, 4));
  if (pmss && Number.isNaN(pmss.cents)) return FALLBACK;
  const f: CentsFacts = {
    line,
    beneficiary: b,
    entry,
    poste,
    setting,
    careDate: line.careStart,
    age,
    quantity: line.quantity,
    br,
    fr: expense,
    mrn: divHalfUp(mrnProduct, normalRate.den * 100),
    roGross,
    pf,
    franchise,
    pmss: pmss?.cents,
    pmssText: pmss?.text,
    priceLimit: ce.priceLimit,
  };
  // Lists of their final length (one or two grids): a first push would reserve 17 slots.
  const outcomes: CentsOutcome[] = new Array(grids.length);
  for (let i = 0; i < grids.length; i++) {
    const o = liquidateGridCents(grids[i]!, f, state, lineKey, ref.digester);
    if (o === FALLBACK) return FALLBACK;
    outcomes[i] = o;
  }
  // hashOfTokens(`{b:…,entry:…,grids:${nested(`[${reads},…]`)},line:"…",pmss:…,}`), the pieces fed
  // to the lanes one after another: no token text built, then flattened, per line.
  const readsHash = new Fnv();
  readsHash.text('[');
  for (let i = 0; i < outcomes.length; i++) {
    readsHash.text(outcomes[i]!.reads);
    readsHash.text(',');
  }
  readsHash.text(']');
  const h = new Fnv();
  h.text('{b:');
  h.text(bToken);
  h.text(',entry:');
  h.text(ce.token);
  h.text(',grids:#');
  h.text(readsHash.hex());
  h.text(',line:"');
  h.text(lineHash);
  h.text('",pmss:');
  if (f.pmss === undefined) h.text('n');
  else {
    h.text('"');
    h.text(money(f.pmss));
    h.text('"');
  }
  h.text(',}');
  const inputHash = h.prefixedHex();
  for (let i = 0; i < outcomes.length; i++) {
    const review = outcomes[i]!.review;
    if (review !== null) return only(s, 'review', review, str(inputHash));
  }

  // Of its final length: the settlement keeps this list, and `[]` grown by a push keeps 17 slots.
  const parts: SettlementPart[] = new Array(outcomes.length);
  let paid = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i]!;
    const amount = i === 0 ? o.amc : Math.max(0, o.amc - paid);
    const formula = i === 0 ? o.formula : `AMC(${o.contract}) ${money(o.amc)} − AMC of the levels below ${money(paid)} = ${money(amount)}; ${o.formula}`;
    parts[i] = o.rule ? { contract: o.contract, amount: money(amount), rule: o.rule, formula: flat(formula) } : { contract: o.contract, amount: money(amount), formula: flat(formula) };
    paid += amount;
  }
  const ceiling = Math.max(0, f.fr - f.roGross);
  if (paid > ceiling) {
    let left = paid - ceiling;
    for (let i = parts.length - 1; i >= 0 && left > 0; i--) {
      const p = parts[i]!;
      const amount = cents(p.amount);
      const cut = Math.min(left, amount);
      parts[i] = { ...p, amount: money(amount - cut), formula: `${p.formula}; less ${money(cut)} so that RO + AMC ≤ FR` };
      left -= cut;
    }
  }
  const total = Math.min(paid, ceiling);
  const rest = f.fr - roNet - total;
  let best = outcomes[0]!.amc;
  for (let i = 1; i < outcomes.length; i++) if (outcomes[i]!.amc > best) best = outcomes[i]!.amc;
  let decisive = outcomes[0]!;
  for (let i = outcomes.length - 1; i >= 0; i--) {
    if (outcomes[i]!.amc === best) {
      decisive = outcomes[i]!;
      break;
    }
  }
  const reason = explainCents(f, decisive, rest, lineRate, normalRate, entry.roRate);
  s.status = total > 0 ? 'paid' : 'zero';
  s.reason = reason === null ? null : flat(reason);
  s.amcAmount = money(total);
  s.parts = parts;
  s.restToPay = money(rest);
  s.inputHash = inputHash;
  let consumed = outcomes[0]!.consumed;
  let renewals = outcomes[0]!.renewals;
  let renewalMoves = outcomes[0]!.renewalMoves;
  if (outcomes.length > 1) {
    // Most layered lines consume under one grid at most: keep that grid's list rather than a flatMap.
    let consuming = 0;
    for (const o of outcomes) if (o.consumed.length > 0) consuming += 1;
    if (consuming > 1) consumed = outcomes.flatMap((o) => o.consumed);
    else for (const o of outcomes) if (o.consumed.length > 0) consumed = o.consumed;
    if (outcomes.some((o) => o.renewals.length > 0)) {
      renewals = unique(outcomes.flatMap((o) => o.renewals));
      renewalMoves = unique(outcomes.flatMap((o) => o.renewalMoves));
    }
  }
  return { settlement: s, effects: { consumed, renewals }, renewalMoves };
}

/** dates.ts ageOn without the split arrays (whole years on `at`, the birthday counted on the day). */
function ageOn(birthDate: string, at: string): number {
  const by = digits(birthDate, 0, 4);
  const md = digits(birthDate, 5, 7) * 100 + digits(birthDate, 8, 10);
  const ay = digits(at, 0, 4);
  const amd = digits(at, 5, 7) * 100 + digits(at, 8, 10);
  return ay - by - (amd < md ? 1 : 0);
}

/** Number(text.slice(from, to)) for the digits of an ISO date, read in place (no sliced string per field); Number(slice) when they are not all digits. */
function digits(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return Number(text.slice(from, to));
    n = n * 10 + d;
  }
  return n;
}

/**
 * explain.ts in cents. The items joined by '; ' as they come (explain.ts: a copy of the outcome's
 * reasons, pushes, then `join`): no list per line, the same text.
 */
function explainCents(f: CentsFacts, decisive: CentsOutcome, rest: number, lineRate: Ratio, normalRate: Ratio, entryRateText: string): string | null {
  if (rest <= 0) return null;
  const reasons = decisive.reasons;
  let text = '';
  let count = 0;
  for (let i = 0; i < reasons.length; i++) text = count++ === 0 ? reasons[i]! : `${text}; ${reasons[i]!}`;
  if (f.pf > 0) {
    const item = `participation forfaitaire ${money(f.pf)} is never covered (contrat responsable)`;
    text = count++ === 0 ? item : `${text}; ${item}`;
  }
  if (f.franchise > 0) {
    const item = `franchise médicale ${money(f.franchise)} is never covered (contrat responsable)`;
    text = count++ === 0 ? item : `${text}; ${item}`;
  }
  const majoration = f.mrn - f.roGross;
  if (majoration > 0 && ratioLt(lineRate, normalRate)) {
    // The rate as decimal.js prints it (no trailing zeros): the line's rate lost, so the entry's won.
    const item = `majoration du ticket modérateur hors parcours de soins ${money(majoration)} (RO at ${f.line.roRate}% instead of ${new Decimal(entryRateText).toFixed()}%) is never covered`;
    text = count++ === 0 ? item : `${text}; ${item}`;
  }
  const overGuarantee = f.fr - f.mrn - decisive.amc;
  if (decisive.capped && reasons.length === 0 && overGuarantee > 0) {
    const item = `${money(overGuarantee)} of the expense is above the guarantee ${decisive.rule ?? ''} of ${decisive.contract}`.replace('  ', ' ');
    text = count++ === 0 ? item : `${text}; ${item}`;
  }
  if (count === 0) return `${money(rest)} left to pay is not covered`;
  return text;
}

function unique<T extends { key: string }>(items: T[]): T[] {
  const seen = new Map<string, T>();
  for (const it of items) if (!seen.has(it.key)) seen.set(it.key, it);
  return [...seen.values()];
}
