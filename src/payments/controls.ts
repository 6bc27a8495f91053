import { Decimal } from 'decimal.js';
import { MONEY_PATTERN, ZERO, formatMoney, type Money } from '../model/money.js';
import { PaymentsError } from './errors.js';
import type { Approval, Held, HoldCeiling } from './types.js';

/**
 * Payment controls, as an insurer's treasury runs them: whatever the engine settled, no order above
 * `maxOrder` and no run above `maxRun` leaves without a person approving it. They hold even when a
 * wrong settlement got through (an absurd 999 999 999 999.99 € line): the order is HELD — not in the
 * pain.001, not transferred, nothing recorded as paid, its lines stay due — and named in the run's
 * report. `noemie payments approve` releases exactly that order (same EndToEndId, hence same payee,
 * amount and lines); the next run pays it. An amount no SEPA transfer can carry (above
 * 999 999 999.99 €, or not well-formed money) is held too, and cannot be approved.
 *
 * Defaults: 10 000 € per order — a complementary insurer's share of one member's or one
 * professional's acts over a run is a few hundred euros; the large legitimate ones (hospital stays,
 * implants, hearing aids paid in tiers payant) are rare enough for a person to look at, and a line
 * of that size is exactly what an error in a grid or a record produces. 500 000 € per run — a
 * mid-sized mutuelle's daily run is in the tens of thousands, so this is well above a normal day
 * and well below what would hurt the paying account; raise it with NOEMIE_PAYMENT_MAX_RUN /
 * `--max-run` for a month-end catch-up.
 */
export interface PaymentLimits {
  /** an order (one payee, one run) above this is held for approval */
  maxOrder: Money;
  /** the run's unapproved transfers never add up to more than this */
  maxRun: Money;
}

export const DEFAULT_LIMITS: PaymentLimits = { maxOrder: '10000.00', maxRun: '500000.00' };

const LIMIT_PATTERN = /^\d{1,12}(\.\d{1,2})?$/;

/** A ceiling as written by a person ("10000", "2500.5", "10000.00") → Money, or the problem in plain words. */
export function parseLimit(text: string): { ok: true; value: Money } | { ok: false; problem: string } {
  const t = text.trim();
  if (!LIMIT_PATTERN.test(t)) return { ok: false, problem: `"${text}" is not an amount in euros (digits, at most 2 decimals, e.g. 10000 or 10000.00)` };
  const d = new Decimal(t);
  if (!d.gt(0)) return { ok: false, problem: `"${text}" must be above 0 (a ceiling of 0 would hold every payment)` };
  return { ok: true, value: formatMoney(d) };
}

/** `maxOrder` above `maxRun` cannot be what was meant: say so rather than hold silently. */
export function limitsProblem(limits: PaymentLimits): string | null {
  return new Decimal(limits.maxOrder).gt(limits.maxRun) ? `the per-order ceiling ${limits.maxOrder} is above the per-run ceiling ${limits.maxRun}` : null;
}

/**
 * The largest amount of one SEPA credit transfer: the EPC SCT scheme (EPC132-08, the XSD's
 * InstdAmt maxInclusive) allows 0.01 to 999 999 999.99 €. Above it no bank takes the transfer, so
 * no approval can release it: the settlement must be corrected.
 */
export const SEPA_MAX_TRANSFER = '999999999.99';

/** Money that can go into a transfer: a well-formed positive amount within the SEPA maximum. */
export function transferAmountProblem(amount: string): string | null {
  if (!MONEY_PATTERN.test(amount)) return `amount "${amount}" is not an amount with two decimals and at most 12 digits before the point`;
  const value = new Decimal(amount);
  if (!value.gt(0)) return `amount ${amount} is not positive`;
  if (value.gt(SEPA_MAX_TRANSFER)) return `amount ${amount} is above the largest SEPA credit transfer (${SEPA_MAX_TRANSFER}, EPC SCT rulebook): it cannot be approved, the settlement must be corrected`;
  return null;
}

export type GateVerdict = { pass: true; approval: Approval | null } | { pass: false; ceiling: HoldCeiling; limit: Money | null; reason: string };

/**
 * The run's gate, asked once per transfer in the run's order (payees sorted): an approved order
 * passes (the approver looked at that amount) and does not use the run's budget; otherwise an
 * order above `maxOrder` is held, and one that would take the run's unapproved total above
 * `maxRun` is held while the next, smaller ones may still fit (first fit in payee order: the
 * same ledger always holds the same orders).
 */
export class RunGate {
  private total = ZERO;
  private readonly maxOrder: Decimal;
  private readonly maxRun: Decimal;

  constructor(
    readonly limits: PaymentLimits,
    private readonly approvals: Readonly<Record<string, Approval>>,
  ) {
    for (const [name, value] of Object.entries(limits)) {
      const parsed = parseLimit(String(value));
      if (!parsed.ok) throw new PaymentsError('PAYMENTS_BAD_LIMITS', `payment ceiling ${name}: ${parsed.problem}`, { limit: name });
    }
    const problem = limitsProblem(limits);
    if (problem !== null) throw new PaymentsError('PAYMENTS_BAD_LIMITS', problem);
    this.maxOrder = new Decimal(limits.maxOrder);
    this.maxRun = new Decimal(limits.maxRun);
  }

  check(payee: string, amount: Money, endToEndId: string): GateVerdict {
    const invalid = transferAmountProblem(amount);
    if (invalid !== null) return { pass: false, ceiling: 'amount', limit: null, reason: `${payee}: ${invalid}` };
    const approval = Object.hasOwn(this.approvals, payee) ? this.approvals[payee]! : null;
    if (approval !== null && approval.endToEndId === endToEndId) return { pass: true, approval };
    const value = new Decimal(amount);
    const stale = approval === null ? '' : ` (the approval by ${approval.by} was for ${approval.amount}, order ${approval.endToEndId}: approve again)`;
    if (value.gt(this.maxOrder)) return { pass: false, ceiling: 'order', limit: this.limits.maxOrder, reason: `${payee}: ${amount} is above the per-order ceiling ${this.limits.maxOrder}${stale}` };
    const after = this.total.plus(value);
    if (after.gt(this.maxRun)) {
      return { pass: false, ceiling: 'run', limit: this.limits.maxRun, reason: `${payee}: ${amount} would take the run to ${formatMoney(after)}, above the per-run ceiling ${this.limits.maxRun} (${formatMoney(this.total)} already in this run)${stale}` };
    }
    this.total = after;
    return { pass: true, approval: null };
  }
}

/** Whether a stored held order matches `ref` (its paymentId, or its payee). */
export function heldMatches(h: Held, ref: string): boolean {
  return h.paymentId === ref || h.payee === ref;
}
