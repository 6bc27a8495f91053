import type { Money } from '../model/money.js';
import type { PayeeAccount } from '../model/payment.js';
import { accountOf } from './accounts.js';
import { ibanHash } from './returns.js';
import type { AccountBook, Blocked, Held, ReturnBlock } from './types.js';

/**
 * A blocked or held payee parked between runs (issue 12: a run's cost follows what changed, not the
 * backlog). A payee the run cannot pay (no usable account, an account the bank returned) or whose
 * order it holds for approval (above the per-order ceiling, or an amount no SEPA transfer carries)
 * keeps its lines owed; before session 24 they stayed in the due set and every run read, decided
 * and wrote them again — the same decision each time, at ≈ 150 µs a line. Now the run records the
 * payee's decision here and takes its lines out of the due set; a later run decides the payee
 * again only when something its decision reads has changed:
 *   - one of its lines is due again (a new version, a reconciliation outcome, a bank return);
 *   - its account (the account book: a new RIB, a résiliation, a corrected IBAN);
 *   - its return block or its debt (bank returns, which also make lines due);
 *   - held: an approval for the payee, or another per-order ceiling.
 * Such a decision is a function of exactly these (run.ts `decidePayee`: the lines' sum, the debt,
 * the account, the return block; the gate's per-order check: the amount, the ceiling, the payee's
 * approval): if none changed, the run would decide the same again for the same amount, so not
 * deciding it loses nothing, and the report carries it (`carried`). An order held by the per-RUN
 * ceiling depends on the other payees of the run: never parked, decided at every run.
 */
export interface ParkedPayee {
  /** held for approval (the per-order ceiling or the SEPA maximum); absent: blocked */
  kind?: 'held';
  /** the run that decided the payee blocked or held (last), and its cut-off */
  runId: string;
  at: string;
  amount: Money;
  reason: string;
  /** every line the decision counted, in lineKey order (a line may also stay due: another payee of it is held) */
  lineKeys: string[];
  /** what the decision read besides the lines, as fingerprints (never an IBAN in clear) */
  account: string;
  returnBlock: string | null;
  debt: Money | null;
  /** held: the per-order ceiling the order was above (null: held as no SEPA transfer can carry it) */
  limit?: Money | null;
}

/** What the run's controls are now, for a held payee. */
export interface ControlsNow {
  maxOrder: Money;
  /** whether an approval is recorded for the payee */
  approved: boolean;
}

/** What a blocked decision read besides the lines, now. */
export interface PayeeFacts {
  account: PayeeAccount | undefined;
  returnBlock: ReturnBlock | undefined;
  debt: Money | undefined;
}

const own = <T>(r: Readonly<Record<string, T>>, k: string): T | undefined => (Object.hasOwn(r, k) ? r[k] : undefined);

/** A payee's facts from the run's inputs (the account book) and state (return blocks, debts). */
export function payeeFactsOf(accounts: AccountBook, state: { returnBlocks: Readonly<Record<string, ReturnBlock>>; debts: Readonly<Record<string, Money>> }, payee: string): PayeeFacts {
  return { account: accountOf(accounts, payee), returnBlock: own(state.returnBlocks, payee), debt: own(state.debts, payee) };
}

/** The account as the decision saw it: its IBAN's hash and its BIC ('none': no account). A name change alone changes no decision. */
export function accountFingerprint(account: PayeeAccount | undefined): string {
  return account === undefined ? 'none' : `${ibanHash(account.iban)}:${account.bic ?? ''}`;
}

const blockFingerprint = (block: ReturnBlock | undefined) => (block === undefined ? null : `${block.ibanHash}:${block.endToEndId}`);

export function parkedOf(blocked: Blocked, run: { runId: string; at: string }, facts: PayeeFacts): ParkedPayee {
  return {
    runId: run.runId, at: run.at, amount: blocked.amount, reason: blocked.reason, lineKeys: blocked.lineKeys,
    account: accountFingerprint(facts.account), returnBlock: blockFingerprint(facts.returnBlock), debt: facts.debt ?? null,
  };
}

/** A held order the run may park (not one held by the per-run ceiling: that depends on the other payees). */
export const parkableHold = (h: Pick<Held, 'ceiling'>) => h.ceiling === 'order' || h.ceiling === 'amount';

export function parkedHeldOf(held: Held, run: { runId: string; at: string }, facts: PayeeFacts): ParkedPayee {
  return { kind: 'held', ...parkedOf({ payee: held.payee, amount: held.amount, reason: held.reason, lineKeys: held.lineKeys }, run, facts), limit: held.limit };
}

/** Whether what the payee's decision read (besides its lines) has changed since it was parked. */
export function factsChanged(parked: ParkedPayee, now: PayeeFacts, controls: ControlsNow): boolean {
  if (parked.account !== accountFingerprint(now.account) || parked.returnBlock !== blockFingerprint(now.returnBlock) || parked.debt !== (now.debt ?? null)) return true;
  // an approval (for this order or not: the run says which), or the ceiling the order was above moved
  return parked.kind === 'held' && (controls.approved || (parked.limit !== undefined && parked.limit !== null && parked.limit !== controls.maxOrder));
}

/**
 * The parked payees to decide again, from the ones woken: a payee decided must be decided on ALL
 * its lines, so a woken payee's lines bring in every other parked payee that counts one of them
 * (a line owed to two blocked payees), and so on.
 */
export function wokenClosure(parked: ReadonlyMap<string, ParkedPayee>, parkedByLine: ReadonlyMap<string, readonly string[]>, woken: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const todo = [...woken];
  while (todo.length > 0) {
    const payee = todo.pop()!;
    if (out.has(payee) || !parked.has(payee)) continue;
    out.add(payee);
    for (const line of parked.get(payee)!.lineKeys) for (const other of parkedByLine.get(line) ?? []) if (!out.has(other)) todo.push(other);
  }
  return out;
}

/** Every line the parked payees count, once each (with `also`). */
export function parkedLinesOf(parked: Iterable<ParkedPayee>, also: Iterable<string> = []): Set<string> {
  const out = new Set(also);
  for (const p of parked) for (const k of p.lineKeys) out.add(k);
  return out;
}

/** Line → the parked payees that count it. */
export function parkedByLineOf(parked: ReadonlyMap<string, ParkedPayee>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [payee, p] of parked) {
    for (const line of p.lineKeys) {
      const payees = out.get(line);
      if (payees === undefined) out.set(line, [payee]);
      else payees.push(payee);
    }
  }
  return out;
}
