import { heldMatches } from './controls.js';
import { PaymentsError } from './errors.js';
import type { Approval, PaymentsLedger } from './types.js';

/**
 * `noemie payments approve <paymentId|payee> [--run <runId>] [--by <name>]`: a person releases one
 * held order. The approval names the order's EndToEndId, which derives from payee, amount and line
 * movements: it releases that order exactly. If the amount (or a line) changes before the next run,
 * the order is a different one and is held again until approved again.
 */
export interface ApproveRequest {
  /** a held order's paymentId (`<runId>:<payee>`) or its payee (`member:…` / `ps:…`) */
  ref: string;
  /** when given, the held order must come from this run */
  runId?: string;
  by: string;
  /** when the approval is given (ISO-8601) */
  at: string;
}

export function approvePayment(ledger: PaymentsLedger, request: ApproveRequest): { ledger: PaymentsLedger; approval: Approval } {
  if (request.by.trim() === '') throw new PaymentsError('PAYMENTS_NOT_HELD', 'an approval needs the name of the person approving (--by)');
  const held = Object.values(ledger.held).find((h) => heldMatches(h, request.ref));
  if (held === undefined) {
    const list = Object.values(ledger.held).map((h) => `${h.paymentId} (${h.amount})`);
    throw new PaymentsError('PAYMENTS_NOT_HELD', `no held order for ${request.ref}${list.length === 0 ? ': nothing is held' : `; held: ${list.join(', ')}`}`, { ref: request.ref });
  }
  if (request.runId !== undefined && held.runId !== request.runId) {
    throw new PaymentsError('PAYMENTS_NOT_HELD', `${held.payee} was last held by run ${held.runId}, not ${request.runId} (its order of ${held.amount} is ${held.paymentId})`, { ref: request.ref, runId: request.runId });
  }
  if (held.ceiling === 'amount') {
    throw new PaymentsError('PAYMENTS_NOT_HELD', `${held.paymentId}: ${held.reason}; this amount cannot be approved (the settlement must be corrected)`, { ref: request.ref });
  }
  const approval: Approval = { payee: held.payee, paymentId: held.paymentId, endToEndId: held.endToEndId, amount: held.amount, by: request.by.trim(), at: request.at };
  return { ledger: { ...ledger, approvals: { ...ledger.approvals, [held.payee]: approval } }, approval };
}
