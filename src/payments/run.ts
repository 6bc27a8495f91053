import { centsOf, moneyOfCents } from '../model/cents.js';
import { MONEY_PATTERN } from '../model/money.js';
import type { PaymentKind, PaymentLine, PaymentOrder, PaymentOrderHead } from '../model/payment.js';
import { accountOf, accountProblem, normaliseAccount } from './accounts.js';
import { DEFAULT_LIMITS, RunGate } from './controls.js';
import { endToEndId } from './end-to-end.js';
import { entitledOf } from './entitlement.js';
import { PaymentsError } from './errors.js';
import { returnBlockProblem } from './returns.js';
import type { Approval, Blocked, Held, LineLedger, PaymentsLedger, Pending, ReturnBlock, RunInput, RunResult } from './types.js';

/**
 * A payment run (a cut-off): for every line whose facts changed, each payee gets
 * `entitled − already paid` (our runs' net, plus what the TP operator paid), grouped per payee into
 * one order. Net positive → a `payment` (a SEPA transfer); net negative → a `recovery`: the payee's
 * debt, carried to its next run and never sent as a transfer. The ledger records what was moved, so
 * the same run twice, or a replay of the same inputs, moves nothing.
 *
 * Every transfer passes the payment controls (controls.ts) before anything is recorded: an order
 * above a ceiling, or whose amount is not usable money, is held like a blocked one — its lines stay
 * due, nothing is paid — until `approvePayment` records an approval of exactly that order.
 */

export interface Movement {
  lineKey: string;
  version: number;
  /** signed, in cents (src/model/cents.ts: exact integers) */
  amount: number;
}

const payeeLine = (lineKey: string, payee: string) => `${lineKey}\u241f${payee}`;
const own = <T>(r: Readonly<Record<string, T>>, k: string): T | undefined => (Object.hasOwn(r, k) ? r[k] : undefined);

/**
 * Money of the ledger in cents: every amount here is Money (schemas; `movementsOf` turns a line
 * holding anything else into a pending one first), added and subtracted as exact integers — the
 * sums of a run stay far below 2^53 cents; `add` refuses rather than round if one ever did not.
 */
export function cents(money: string): number {
  const c = centsOf(money);
  if (c === null) throw new PaymentsError('PAYMENTS_BAD_RUN', `amount "${money}" is not an amount`);
  return c;
}
export function add(a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new PaymentsError('PAYMENTS_BAD_RUN', 'a sum of the run leaves the exact range of integer cents');
  return s;
}

/** lineKey → payee → what the operator paid for claims matched to that line (cents). */
function operatorPaidByLine(ledger: PaymentsLedger): Map<string, Map<string, number>> {
  const byLine = new Map<string, Map<string, number>>();
  for (const p of Object.values(ledger.operatorPaid)) {
    const payees = byLine.get(p.lineKey) ?? new Map<string, number>();
    payees.set(p.payee, add(payees.get(p.payee) ?? 0, cents(p.amount)));
    byLine.set(p.lineKey, payees);
  }
  return byLine;
}

export function movementsOf(lineKey: string, line: LineLedger, operator: Map<string, number> | undefined): Map<string, Movement> | Pending {
  const ent = entitledOf(line);
  if (ent.kind === 'pending') return { lineKey, reason: ent.reason };
  // (loops, not spreads of Object.values / keys: this runs twice per due line in a run, and a line has one or two payees)
  const garbage = ent.payee !== null && !MONEY_PATTERN.test(ent.amount) ? ent.amount : firstNotMoney(line.paid);
  if (garbage !== undefined) return { lineKey, reason: `amount "${garbage}" of version ${line.settlement?.version} is not an amount: nothing moves until it is corrected` };
  const version = line.settlement!.version;
  const payees: string[] = ent.payee === null ? [] : [ent.payee];
  for (const p in line.paid) if (!payees.includes(p)) payees.push(p);
  if (operator !== undefined) for (const p of operator.keys()) if (!payees.includes(p)) payees.push(p);
  const moves = new Map<string, Movement>();
  for (const payee of payees.length > 1 ? payees.sort() : payees) {
    const entitled = payee === ent.payee ? cents(ent.amount) : 0;
    const already = add(cents(own(line.paid, payee) ?? '0.00'), operator?.get(payee) ?? 0);
    const delta = add(entitled, -already);
    if (delta !== 0) moves.set(payee, { lineKey, version, amount: delta });
  }
  return moves;
}

/** The first amount of `amounts` (in its key order) that is not Money, if any. */
function firstNotMoney(amounts: Readonly<Record<string, string>>): string | undefined {
  for (const k in amounts) if (!MONEY_PATTERN.test(amounts[k]!)) return amounts[k];
  return undefined;
}

/** The care period of an order's lines (ISO dates compare as strings); nothing when a line has no care date. */
function carePeriod(lines: Readonly<Record<string, LineLedger>>, moves: readonly Movement[]): { careFrom?: string; careTo?: string } {
  const dates = moves.map((m) => lines[m.lineKey]?.settlement?.careDate);
  if (dates.some((d) => d === undefined)) return {};
  const sorted = (dates as string[]).sort();
  return { careFrom: sorted[0]!, careTo: sorted[sorted.length - 1]! };
}

export function checkRun(input: RunInput): string {
  if (input.runId.trim() === '') throw new PaymentsError('PAYMENTS_BAD_RUN', 'runId is empty');
  const ms = Date.parse(input.at);
  if (Number.isNaN(ms)) throw new PaymentsError('PAYMENTS_BAD_RUN', `run ${input.runId}: at "${input.at}" is not an ISO-8601 instant`, { runId: input.runId });
  return new Date(ms).toISOString();
}

/** What the decision of one payee's order needs of its movements: their sum, count and care period (the lines themselves stay where they are). */
export interface PayeeMoves {
  payee: string;
  /** Σ the payee's line movements, in cents */
  sum: number;
  lineCount: number;
  careFrom?: string;
  careTo?: string;
}

/** The run-wide state the per-payee decisions read and change, in payee order (`decidePayee`). */
export interface RunDecisionState {
  readonly input: RunInput;
  readonly at: string;
  readonly gate: RunGate;
  readonly debts: Record<string, string>;
  readonly returnBlocks: Record<string, ReturnBlock>;
  readonly approvals: Record<string, Approval>;
  readonly heldByPayee: Record<string, Held>;
}

export function runDecisionState(ledger: Pick<PaymentsLedger, 'debts' | 'approvals' | 'held' | 'returnBlocks'>, input: RunInput, at: string): RunDecisionState {
  return {
    input, at, gate: new RunGate(input.limits ?? DEFAULT_LIMITS, ledger.approvals),
    debts: { ...ledger.debts }, returnBlocks: { ...(ledger.returnBlocks ?? {}) }, approvals: { ...ledger.approvals }, heldByPayee: { ...ledger.held },
  };
}

/**
 * One payee's order, decided from its movements' sum (payees are decided in order: the run's
 * ceiling is first fit in payee order). `endToEndIdOf` hashes the payee's movements (only asked for
 * an order or a held one), `lineKeysOf` lists its lines in lineKey order (a blocked or held payee).
 * A paid payee's order comes back without its lines (`lineCount` of them): the caller adds them.
 */
export type PayeeDecision =
  | { kind: 'blocked'; blocked: Blocked }
  | { kind: 'held'; held: Held }
  | { kind: 'order'; order: PaymentOrderHead };

export function decidePayee(state: RunDecisionState, moves: PayeeMoves, endToEndIdOf: (kind: PaymentKind, amount: string) => string, lineKeysOf: () => string[]): PayeeDecision {
  const { payee } = moves;
  const { input, debts, returnBlocks, approvals, heldByPayee } = state;
  const debtBefore = cents(own(debts, payee) ?? '0.00');
  const net = add(moves.sum, -debtBefore);
  const account = accountOf(input.accounts, payee);
  // a payee whose last transfer the bank returned is not paid again to the same account (returns.ts)
  // (only a transfer is refused: a recovery or a zero order keeps the account it reports)
  const problem = accountProblem(account) ?? (net > 0 ? returnBlockProblem(own(returnBlocks, payee), account!.iban) : null);
  if (net > 0 && problem !== null) {
    // nothing recorded: the lines stay due and are paid by the first run that has a usable account
    return { kind: 'blocked', blocked: { payee, lineKeys: lineKeysOf(), amount: moneyOfCents(net), reason: `${payee}: ${problem}` } };
  }
  const usable = problem === null && account ? normaliseAccount(account) : null;
  const kind = net < 0 ? 'recovery' : 'payment';
  const amount = moneyOfCents(Math.abs(net));
  const e2e = endToEndIdOf(kind, amount);
  if (net > 0) {
    const verdict = state.gate.check(payee, amount, e2e);
    if (!verdict.pass) {
      // like a blocked payee: nothing recorded, the lines stay due; the approval (if any) is for another order
      const h: Held = { paymentId: `${input.runId}:${payee}`, runId: input.runId, payee, amount, endToEndId: e2e, lineKeys: lineKeysOf(), ceiling: verdict.ceiling, limit: verdict.limit, reason: verdict.reason };
      heldByPayee[payee] = h;
      if (Object.hasOwn(approvals, payee) && approvals[payee]!.endToEndId !== e2e) delete approvals[payee];
      return { kind: 'held', held: h };
    }
  }
  delete heldByPayee[payee];
  delete approvals[payee];
  // paid to another account than the one returned: the block is lifted
  if (net > 0) delete returnBlocks[payee];
  if (net < 0) debts[payee] = moneyOfCents(-net);
  else delete debts[payee];
  return {
    kind: 'order',
    order: {
      paymentId: `${input.runId}:${payee}`,
      runId: input.runId,
      payee,
      iban: usable?.iban ?? null,
      bic: usable?.bic ?? null,
      name: usable?.name ?? account?.name ?? payee,
      amount,
      endToEndId: e2e,
      kind,
      transfer: net > 0,
      debtBefore: moneyOfCents(debtBefore),
      debtAfter: moneyOfCents(net < 0 ? -net : 0),
      at: state.at,
      ...(moves.careFrom === undefined ? {} : { careFrom: moves.careFrom, careTo: moves.careTo! }),
      lineCount: moves.lineCount,
    },
  };
}

/** The ledger's held orders once the run is decided: one whose lines no longer need anything (annulled, corrected to what was paid) is resolved. */
export function resolveHeld(state: RunDecisionState, stillDue: (lineKey: string) => boolean): void {
  for (const [payee, h] of Object.entries(state.heldByPayee)) {
    if (!h.lineKeys.some(stillDue)) {
      delete state.heldByPayee[payee];
      delete state.approvals[payee];
    }
  }
}

export function runPayments(ledger: PaymentsLedger, input: RunInput): RunResult {
  const at = checkRun(input);
  if (Object.hasOwn(ledger.runs, input.runId)) return { orders: [], blocked: [], pending: [], held: [], ledger, alreadyRun: true };
  const state = runDecisionState(ledger, input, at);
  const held: Held[] = [];

  const operator = operatorPaidByLine(ledger);
  const pending: Pending[] = [];
  const byPayee = new Map<string, Movement[]>();
  for (const lineKey of Object.keys(ledger.due).sort()) {
    const line = own(ledger.lines, lineKey);
    if (!line) continue;
    const moves = movementsOf(lineKey, line, operator.get(lineKey));
    if (!(moves instanceof Map)) {
      pending.push(moves);
      continue;
    }
    for (const [payee, m] of moves) {
      const list = byPayee.get(payee);
      if (list) list.push(m);
      else byPayee.set(payee, [m]);
    }
  }

  const lines: Record<string, LineLedger> = { ...ledger.lines };
  const stillDue = new Set(pending.map((p) => p.lineKey));
  const orders: PaymentOrder[] = [];
  const blocked: Blocked[] = [];
  // a blocked or held payee's lines: what the bank returned on them is still not paid again
  const notMoved = new Set<string>();

  for (const [payee, moves] of [...byPayee].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const orderLines: PaymentLine[] = moves.map((m) => ({ lineKey: m.lineKey, version: m.version, amount: moneyOfCents(m.amount) }));
    const totals: PayeeMoves = { payee, sum: moves.reduce((s, m) => add(s, m.amount), 0), lineCount: moves.length, ...carePeriod(lines, moves) };
    const decision = decidePayee(state, totals, (kind, amount) => endToEndId(payee, kind, amount, orderLines, (k) => own(ledger.lines, k)?.returns ?? 0), () => orderLines.map((l) => l.lineKey));
    if (decision.kind !== 'order') {
      if (decision.kind === 'blocked') blocked.push(decision.blocked);
      else held.push(decision.held);
      moves.forEach((m) => stillDue.add(m.lineKey));
      moves.forEach((m) => notMoved.add(payeeLine(m.lineKey, payee)));
      continue;
    }
    orders.push(orderWithLines(decision.order, orderLines));
    for (const m of moves) {
      const line = lines[m.lineKey]!;
      const paid = add(cents(own(line.paid, payee) ?? '0.00'), m.amount);
      lines[m.lineKey] = { ...line, paid: { ...line.paid, [payee]: moneyOfCents(paid) } };
    }
  }

  // a returned transfer's lines: paid again by this run (or nothing left to pay) unless still blocked / held / pending
  const pendingKeys = new Set(pending.map((p) => p.lineKey));
  for (const lineKey of Object.keys(ledger.due)) {
    const line = own(lines, lineKey);
    if (line?.returned === undefined || pendingKeys.has(lineKey)) continue;
    const kept = keptReturns(line.returned, (payee) => notMoved.has(payeeLine(lineKey, payee)));
    if (kept === line.returned) continue;
    const { returned: _cleared, ...rest } = line;
    lines[lineKey] = kept === undefined ? rest : { ...rest, returned: kept };
  }

  const due: Record<string, true> = {};
  for (const k of stillDue) due[k] = true;
  resolveHeld(state, (k) => own(due, k) !== undefined);
  const { debts, returnBlocks, heldByPayee, approvals } = state;
  return {
    orders,
    blocked,
    pending,
    held,
    alreadyRun: false,
    ledger: { ...ledger, lines, debts, due, held: heldByPayee, approvals, ...(ledger.returnBlocks === undefined && Object.keys(returnBlocks).length === 0 ? {} : { returnBlocks }),
      // this run's report lists the returns applied since the previous run: they are reported
      ...(ledger.returnsToReport === undefined ? {} : { returnsToReport: {} }),
      runs: { ...ledger.runs, [input.runId]: { at, orders: orders.length } } },
  };
}

/**
 * A line's open bank returns once the run has moved it: the ones of a payee the run did not pay
 * (blocked, held) stay; `returned` itself when nothing changes, undefined when none stays.
 */
export function keptReturns(returned: NonNullable<LineLedger['returned']>, notMoved: (payee: string) => boolean): LineLedger['returned'] {
  const all = Object.entries(returned);
  const kept = all.filter(([, r]) => notMoved(r.payee));
  if (kept.length === all.length) return returned;
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}

/** The order as the topic and orders.ndjson carry it: its head with its lines, fields in the order they always had. */
export function orderWithLines(head: PaymentOrderHead, lines: PaymentLine[]): PaymentOrder {
  const { paymentId, runId, payee, iban, bic, name, amount, endToEndId: e2e, kind, transfer, debtBefore, debtAfter, at, careFrom, careTo } = head;
  return {
    paymentId, runId, payee, iban, bic, name, amount, endToEndId: e2e, lineKeys: lines.map((l) => l.lineKey), kind, transfer, lines, debtBefore, debtAfter, at,
    ...(careFrom === undefined ? {} : { careFrom, careTo: careTo! }),
  };
}
