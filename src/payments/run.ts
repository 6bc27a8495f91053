import { centsOf, moneyOfCents } from '../model/cents.js';
import { MONEY_PATTERN } from '../model/money.js';
import type { PaymentLine, PaymentOrder } from '../model/payment.js';
import { accountOf, accountProblem, normaliseAccount } from './accounts.js';
import { DEFAULT_LIMITS, RunGate } from './controls.js';
import { endToEndId } from './end-to-end.js';
import { entitlementOf } from './entitlement.js';
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

interface Movement {
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
function cents(money: string): number {
  const c = centsOf(money);
  if (c === null) throw new PaymentsError('PAYMENTS_BAD_RUN', `amount "${money}" is not an amount`);
  return c;
}
function add(a: number, b: number): number {
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

function movementsOf(lineKey: string, line: LineLedger, operator: Map<string, number> | undefined): Map<string, Movement> | Pending {
  const ent = entitlementOf(line);
  if (ent.kind === 'pending') return { lineKey, reason: ent.reason };
  const garbage = [...Object.values(ent.amounts), ...Object.values(line.paid)].find((a) => !MONEY_PATTERN.test(a));
  if (garbage !== undefined) return { lineKey, reason: `amount "${garbage}" of version ${line.settlement?.version} is not an amount: nothing moves until it is corrected` };
  const version = line.settlement!.version;
  const payees = new Set([...Object.keys(ent.amounts), ...Object.keys(line.paid), ...(operator?.keys() ?? [])]);
  const moves = new Map<string, Movement>();
  for (const payee of [...payees].sort()) {
    const entitled = cents(own(ent.amounts, payee) ?? '0.00');
    const already = add(cents(own(line.paid, payee) ?? '0.00'), operator?.get(payee) ?? 0);
    const delta = add(entitled, -already);
    if (delta !== 0) moves.set(payee, { lineKey, version, amount: delta });
  }
  return moves;
}

/** The care period of an order's lines (ISO dates compare as strings); nothing when a line has no care date. */
function carePeriod(lines: Readonly<Record<string, LineLedger>>, moves: readonly Movement[]): { careFrom?: string; careTo?: string } {
  const dates = moves.map((m) => lines[m.lineKey]?.settlement?.careDate);
  if (dates.some((d) => d === undefined)) return {};
  const sorted = (dates as string[]).sort();
  return { careFrom: sorted[0]!, careTo: sorted[sorted.length - 1]! };
}

function checkRun(input: RunInput): string {
  if (input.runId.trim() === '') throw new PaymentsError('PAYMENTS_BAD_RUN', 'runId is empty');
  const ms = Date.parse(input.at);
  if (Number.isNaN(ms)) throw new PaymentsError('PAYMENTS_BAD_RUN', `run ${input.runId}: at "${input.at}" is not an ISO-8601 instant`, { runId: input.runId });
  return new Date(ms).toISOString();
}

export function runPayments(ledger: PaymentsLedger, input: RunInput): RunResult {
  const at = checkRun(input);
  if (Object.hasOwn(ledger.runs, input.runId)) return { orders: [], blocked: [], pending: [], held: [], ledger, alreadyRun: true };
  const gate = new RunGate(input.limits ?? DEFAULT_LIMITS, ledger.approvals);
  const heldByPayee: Record<string, Held> = { ...ledger.held };
  const approvals: Record<string, Approval> = { ...ledger.approvals };
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
  const debts: Record<string, string> = { ...ledger.debts };
  const stillDue = new Set(pending.map((p) => p.lineKey));
  const orders: PaymentOrder[] = [];
  const blocked: Blocked[] = [];
  const returnBlocks: Record<string, ReturnBlock> = { ...(ledger.returnBlocks ?? {}) };
  // a blocked or held payee's lines: what the bank returned on them is still not paid again
  const notMoved = new Set<string>();

  for (const [payee, moves] of [...byPayee].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const sum = moves.reduce((s, m) => add(s, m.amount), 0);
    const debtBefore = cents(own(debts, payee) ?? '0.00');
    const net = add(sum, -debtBefore);
    const account = accountOf(input.accounts, payee);
    // a payee whose last transfer the bank returned is not paid again to the same account (returns.ts)
    // (only a transfer is refused: a recovery or a zero order keeps the account it reports)
    const problem = accountProblem(account) ?? (net > 0 ? returnBlockProblem(own(returnBlocks, payee), account!.iban) : null);
    if (net > 0 && problem !== null) {
      // nothing recorded: the lines stay due and are paid by the first run that has a usable account
      blocked.push({ payee, lineKeys: moves.map((m) => m.lineKey), amount: moneyOfCents(net), reason: `${payee}: ${problem}` });
      moves.forEach((m) => stillDue.add(m.lineKey));
      moves.forEach((m) => notMoved.add(payeeLine(m.lineKey, payee)));
      continue;
    }
    const usable = problem === null && account ? normaliseAccount(account) : null;
    const orderLines: PaymentLine[] = moves.map((m) => ({ lineKey: m.lineKey, version: m.version, amount: moneyOfCents(m.amount) }));
    const kind = net < 0 ? 'recovery' : 'payment';
    const amount = moneyOfCents(Math.abs(net));
    const e2e = endToEndId(payee, kind, amount, orderLines, (k) => own(ledger.lines, k)?.returns ?? 0);
    if (net > 0) {
      const verdict = gate.check(payee, amount, e2e);
      if (!verdict.pass) {
        // like a blocked payee: nothing recorded, the lines stay due; the approval (if any) is for another order
        const h: Held = { paymentId: `${input.runId}:${payee}`, runId: input.runId, payee, amount, endToEndId: e2e, lineKeys: orderLines.map((l) => l.lineKey), ceiling: verdict.ceiling, limit: verdict.limit, reason: verdict.reason };
        held.push(h);
        heldByPayee[payee] = h;
        if (Object.hasOwn(approvals, payee) && approvals[payee]!.endToEndId !== e2e) delete approvals[payee];
        moves.forEach((m) => stillDue.add(m.lineKey));
        moves.forEach((m) => notMoved.add(payeeLine(m.lineKey, payee)));
        continue;
      }
    }
    delete heldByPayee[payee];
    delete approvals[payee];
    // paid to another account than the one returned: the block is lifted
    if (net > 0) delete returnBlocks[payee];
    orders.push({
      paymentId: `${input.runId}:${payee}`,
      runId: input.runId,
      payee,
      iban: usable?.iban ?? null,
      bic: usable?.bic ?? null,
      name: usable?.name ?? account?.name ?? payee,
      amount,
      endToEndId: e2e,
      lineKeys: orderLines.map((l) => l.lineKey),
      kind,
      transfer: net > 0,
      lines: orderLines,
      debtBefore: moneyOfCents(debtBefore),
      debtAfter: moneyOfCents(net < 0 ? -net : 0),
      at,
      ...carePeriod(lines, moves),
    });
    for (const m of moves) {
      const line = lines[m.lineKey]!;
      const paid = add(cents(own(line.paid, payee) ?? '0.00'), m.amount);
      lines[m.lineKey] = { ...line, paid: { ...line.paid, [payee]: moneyOfCents(paid) } };
    }
    if (net < 0) debts[payee] = moneyOfCents(-net);
    else delete debts[payee];
  }

  // a returned transfer's lines: paid again by this run (or nothing left to pay) unless still blocked / held / pending
  const pendingKeys = new Set(pending.map((p) => p.lineKey));
  for (const lineKey of Object.keys(ledger.due)) {
    const line = own(lines, lineKey);
    if (line?.returned === undefined || pendingKeys.has(lineKey)) continue;
    const kept = Object.entries(line.returned).filter(([, r]) => notMoved.has(payeeLine(lineKey, r.payee)));
    if (kept.length === Object.keys(line.returned).length) continue;
    const { returned: _cleared, ...rest } = line;
    lines[lineKey] = kept.length === 0 ? rest : { ...rest, returned: Object.fromEntries(kept) };
  }

  const due: Record<string, true> = {};
  for (const k of stillDue) due[k] = true;
  // a held order whose lines no longer need anything (annulled, corrected to what was paid) is resolved
  for (const [payee, h] of Object.entries(heldByPayee)) {
    if (!h.lineKeys.some((k) => due[k])) {
      delete heldByPayee[payee];
      delete approvals[payee];
    }
  }
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
