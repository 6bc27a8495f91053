import { createHash } from 'node:crypto';
import { Decimal } from 'decimal.js';
import { electronicFormatIBAN } from 'ibantools';
import { formatMoney } from '../model/money.js';
import type { PaymentLine, PaymentOrder } from '../model/payment.js';
import { returnReason, reasonText } from './bank-returns/reasons.js';
import { maskIban } from './show.js';
import type { LineLedger, LineReturn, PaymentsLedger, ReturnBlock } from './types.js';

/**
 * A transfer the bank returned or rejected, undone in the ledger.
 *
 * What a run recorded for the order: per line, `paid[payee] += movement`, and the payee's debt
 * offset (`debtBefore`, so amount = Σ movements − debtBefore). A return takes exactly that back:
 * per line `paid[payee] −= movement` (the line becomes due), and the debt the order had absorbed
 * is owed again. The next run then computes `entitled − paid` as always and moves Σ movements −
 * debt = the returned amount (or less, if the facts changed meanwhile: the formula decides, not the
 * return). When the reason is about the account (reasons.ts), the payee is blocked while its
 * account is the returned one (`returnBlocks`, compared by hash: the state holds no IBAN in clear).
 */

/** What the state keeps of each transfer handed to the bank, to undo it if it comes back. */
export interface TransferRecord {
  paymentId: string;
  runId: string;
  payee: string;
  amount: string;
  debtBefore: string;
  ibanHash: string;
  ibanMasked: string;
  lines: PaymentLine[];
}

/** SHA-256 of an IBAN in electronic format: two spellings of one account give one hash. */
export function ibanHash(iban: string): string {
  return createHash('sha256').update(electronicFormatIBAN(iban) ?? iban.replace(/\s/g, '').toUpperCase()).digest('hex');
}

/** The record of an order the run sends as a transfer; null for a recovery or a zero order. */
export function transferRecordOf(order: PaymentOrder): TransferRecord | null {
  if (!order.transfer || order.iban === null) return null;
  return {
    paymentId: order.paymentId, runId: order.runId, payee: order.payee, amount: order.amount, debtBefore: order.debtBefore,
    ibanHash: ibanHash(order.iban), ibanMasked: maskIban(order.iban), lines: order.lines,
  };
}

export interface ReturnFacts {
  /** ISO reason code, null when the bank gave none */
  code: string | null;
  file: string;
  record: number;
  endToEndId: string;
  /** when the return was applied (the report and the statement show it); absent: unknown */
  at?: string;
}

/** The ledger with one returned transfer undone (a slice holding the transfer's lines and the payee's debt). */
export function applyReturn(ledger: PaymentsLedger, transfer: TransferRecord, facts: ReturnFacts): PaymentsLedger {
  const lines: Record<string, LineLedger> = { ...ledger.lines };
  const due: Record<string, true> = { ...ledger.due };
  const { payee } = transfer;
  const reason = returnReason(facts.code);
  const mark = (amount: string): LineReturn => ({
    payee, paymentId: transfer.paymentId, runId: transfer.runId, amount, code: reason.code, label: reason.label, blocks: reason.blocks, file: facts.file, record: facts.record, at: facts.at ?? null,
  });
  for (const l of transfer.lines) {
    const line = Object.hasOwn(lines, l.lineKey) ? lines[l.lineKey]! : { settlement: null, tp: null, paid: {} };
    const before = new Decimal(Object.hasOwn(line.paid, payee) ? line.paid[payee]! : '0');
    // the line remembers the return until a run moves it for that payee again (run.ts)
    const returned = { ...(line.returned ?? {}), [facts.endToEndId]: mark(l.amount) };
    lines[l.lineKey] = { ...line, paid: { ...line.paid, [payee]: formatMoney(before.minus(l.amount)) }, returns: (line.returns ?? 0) + 1, returned };
    due[l.lineKey] = true;
  }
  // the next run's report lists it (returns applied since the previous run)
  const returnsToReport = { ...(ledger.returnsToReport ?? {}), [facts.endToEndId]: mark(transfer.amount) };
  const debts: Record<string, string> = { ...ledger.debts };
  const absorbed = new Decimal(transfer.debtBefore);
  if (absorbed.gt(0)) debts[payee] = formatMoney(new Decimal(Object.hasOwn(debts, payee) ? debts[payee]! : '0').plus(absorbed));
  const returnBlocks: Record<string, ReturnBlock> = { ...(ledger.returnBlocks ?? {}) };
  if (reason.blocks) {
    returnBlocks[payee] = {
      ibanHash: transfer.ibanHash, ibanMasked: transfer.ibanMasked, code: reason.code, label: reason.label,
      endToEndId: facts.endToEndId, paymentId: transfer.paymentId, file: facts.file, record: facts.record,
    };
  }
  return { ...ledger, lines, due, debts, returnBlocks, returnsToReport };
}

/** Why a run does not pay `payee` to this account, or null: the account is not the one the bank returned. */
export function returnBlockProblem(block: ReturnBlock | undefined, iban: string): string | null {
  if (block === undefined || block.ibanHash !== ibanHash(iban)) return null;
  return `returned by the bank: ${reasonText(block)} (${block.paymentId}, account ${block.ibanMasked} unchanged)`;
}
