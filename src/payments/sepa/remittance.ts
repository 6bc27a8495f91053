import { orderLineCount, type PaymentOrder, type PaymentOrderHead } from '../../model/payment.js';
import { payeeLabel, sepaText } from './text.js';

/**
 * The unstructured remittance text (Ustrd, ≤ 140 characters) the payee reads on its bank statement:
 * what the money is for, in words it recognises — "Remboursement santé — soins du 03/03/2025 au
 * 10/03/2025 — adhérent A001 — réf. <run>" for a member (the care period and the adhérent number of
 * the member's statement, the run that paid it), "Tiers payant — soins du … — n acte(s) — PS <id> —
 * réf. <run>" for a professional paid in tiers payant. Transliterated to the SEPA character set;
 * an order without care dates (a ledger kept before they were) says how many acts instead.
 */
const frenchDate = (iso: string) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;

function period(o: PaymentOrder | PaymentOrderHead): string {
  if (!o.careFrom || !o.careTo) return `${orderLineCount(o)} acte(s)`;
  return o.careFrom === o.careTo ? `soins du ${frenchDate(o.careFrom)}` : `soins du ${frenchDate(o.careFrom)} au ${frenchDate(o.careTo)}`;
}

export function remittanceText(o: PaymentOrder | PaymentOrderHead): string {
  const ref = `réf. ${o.runId}`;
  const text = o.payee.startsWith('ps:')
    ? ['Tiers payant', period(o), ...(o.careFrom ? [`${orderLineCount(o)} acte(s)`] : []), payeeLabel(o.payee), ref]
    : ['Remboursement santé', period(o), payeeLabel(o.payee).replace(/^Adherent/, 'adhérent'), ref];
  return sepaText(text.join(' — '), 140, payeeLabel(o.payee));
}
