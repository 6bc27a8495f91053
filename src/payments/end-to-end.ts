import { createHash } from 'node:crypto';
import type { PaymentKind, PaymentLine } from '../model/payment.js';

/**
 * The EndToEndId is the stable key of what an order pays: the same payee, kind, amount and line
 * movements (lineKey@version=amount, sorted) always give the same id, so a run replayed after a crash
 * produces the same ids and the bank's duplicate check catches a file sent twice. 35 characters at
 * most, letters and digits only (a subset of the SEPA character set): a kind letter + 32 hex digits
 * of SHA-256 (128 bits: collisions are not a practical concern).
 */
export function endToEndId(payee: string, kind: PaymentKind, amount: string, lines: readonly PaymentLine[], returnsOf: (lineKey: string) => number = () => 0): string {
  // a line whose transfer the bank returned is paid again with the same movement: the count of its
  // returns tells the new transfer from the returned one (absent when 0: older ids are unchanged)
  const movements = lines.map((l) => `${l.lineKey}@${l.version}=${l.amount}${returnsOf(l.lineKey) > 0 ? `#r${returnsOf(l.lineKey)}` : ''}`).sort();
  const digest = createHash('sha256').update([payee, kind, amount, ...movements].join('\n')).digest('hex');
  return `${kind === 'payment' ? 'P' : 'R'}${digest.slice(0, 32).toUpperCase()}`;
}

/** A short stable id for a run's file or batch (MsgId, PmtInfId: Max35Text). */
export function shortId(prefix: string, ...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${prefix}${digest.slice(0, 35 - prefix.length).toUpperCase()}`;
}
